// armLifeline: "my parent (or owner) is dead" detection for a child process, cheapest first:
//  1. stdin EOF / IPC disconnect — the kernel closes the pipe when the parent dies, SIGKILL
//     included, so this fires within milliseconds;
//  2. a fingerprint poll of parent and owner, plus process.ppid changing — catches a pipe held
//     open by an inherited descriptor, and pid reuse. One look per poll for both, never
//     blocking the event loop (off Linux that is one `ps` or CIM query, run asynchronously; a
//     poll never overlaps the previous one). Only proof counts (fingerprint.ts's livenessOfAll): a
//     poll that cannot tell (EMFILE, …) is logged once per episode and retried; the pipe keeps
//     telling the truth meanwhile;
//  3. optionally, a worker thread doing the same poll outside the main loop, which kills the
//     process if its event loop is blocked (lifelineGuard.ts).
// Call it first thing, before anything slow: a parent sampled late is a parent never watched.
import { Fingerprint, Liveness, LivenessCheck, livenessOfAll } from './fingerprint';
import { startBlockedLoopGuard } from './lifelineGuard';
import { processSource } from './processTable';
import { DEFAULT_TIMEOUTS } from './timeouts';

export interface LifelineOptions {
  /** The parent's fingerprint as the parent itself recorded it (argv/env). */
  parent?: Fingerprint;
  /** The owner's (extension host's) fingerprint. */
  owner?: Fingerprint;
  /** Fingerprint poll interval, ms (default 1000). */
  pollMs?: number;
  /** Treat EOF / close / error on process.stdin as death (default false). Puts stdin in flowing
   * mode: attach your own 'data' listener in the same tick or early input is dropped. */
  stdin?: boolean;
  /** Start the blocked-event-loop guard thread (default false). */
  blockedLoopGuard?: boolean;
  /** Guard: kill even a responsive main thread this long after a death (default 30 s). */
  guardMaxMs?: number;
  /** Called at most once, with a human-readable reason and whose death it was (the pipe's end is the parent's). */
  onDeath(reason: string, of: LifelineParty): void;
  /**
   * Where "cannot tell whether the parent/owner lives" goes: once when an episode of failed
   * polls starts, once when it ends (default: stderr, prefixed `lifeline: `).
   */
  log?(message: string): void;
}

export interface Lifeline {
  disarm(): void;
}

/** Whose death a lifeline saw: the parent's (re-parenting and a closed pipe are its), or only the owner's. */
export type LifelineParty = 'parent' | 'owner';

export function armLifeline(opts: LifelineOptions): Lifeline {
  const pollMs = opts.pollMs && opts.pollMs > 0 ? opts.pollMs : DEFAULT_TIMEOUTS.pollMs;
  const initialPpid = process.ppid;
  // The boot id never changes: read (and cache) it now, while descriptors are free, so a later
  // full fd table makes a poll fail on the look itself (EMFILE), never on "cannot read the boot id".
  processSource().bootId();
  let done = false; // fired or disarmed
  const cleanups: (() => void)[] = [];

  const fire = (reason: string, of: LifelineParty = 'parent') => {
    if (done) return;
    done = true;
    stopWatching();
    try {
      opts.onDeath(reason, of);
    } catch (e) {
      process.stderr.write(`lifeline: onDeath threw: ${(e as Error).message}\n`);
    }
  };
  const stopWatching = () => {
    for (const c of cleanups.splice(0)) c();
  };

  // The guard first: it is the one that still works if the caller blocks right after arming.
  // A blocked main thread gets 2 × pollMs after a death.
  const guard = opts.blockedLoopGuard
    ? startBlockedLoopGuard({ parent: opts.parent, owner: opts.owner, ppid: watchedPpid(opts.parent, initialPpid), pollMs, graceMs: 2 * pollMs, maxMs: opts.guardMaxMs ?? 30_000 })
    : undefined;

  if (opts.stdin) {
    const stdin = process.stdin;
    const onEnd = () => fire('stdin closed (lifeline pipe: the parent is gone)');
    const onError = (e: Error) => fire(`stdin error (lifeline pipe): ${e.message}`);
    stdin.on('end', onEnd);
    stdin.on('close', onEnd);
    stdin.on('error', onError);
    if (stdin.readableFlowing === null) stdin.resume();
    cleanups.push(() => {
      stdin.off('end', onEnd);
      stdin.off('close', onEnd);
      stdin.off('error', onError);
    });
  }

  // An IPC channel's 'disconnect' is a death too.
  if (typeof process.send === 'function') {
    const onDisconnect = () => fire('IPC channel disconnected');
    process.on('disconnect', onDisconnect);
    cleanups.push(() => process.off('disconnect', onDisconnect));
  }

  const log = opts.log ?? ((m: string) => {
    try {
      process.stderr.write(`lifeline: ${m}\n`);
    } catch {
      // stderr gone: nothing to tell
    }
  });
  const episode = unknownEpisodes(log, `retrying every ${pollMs} ms${opts.stdin ? ' (stdin still watched)' : ''}`);
  let polling = false;
  const check = async () => {
    if (polling) return; // a slow look (a loaded machine's `ps`) is not stacked on
    polling = true;
    try {
      const v = await lifelineVerdict(opts.parent, opts.owner, initialPpid);
      if (v.state === 'dead') fire(v.reason, v.of);
      else if (!done) episode(v);
    } finally {
      polling = false;
    }
  };
  const timer = setInterval(() => void check(), pollMs);
  timer.unref();
  cleanups.push(() => clearInterval(timer));
  // Check once right away: the parent may already have died while this process was starting.
  const first = setImmediate(() => void check());
  first.unref();
  cleanups.push(() => clearImmediate(first));

  return {
    disarm() {
      done = true;
      stopWatching();
      guard?.stop();
    },
  };
}

export interface LifelineVerdict {
  state: Liveness;
  /** Why dead or unknown ('' when alive). */
  reason: string;
  /** Dead: whose death (the parent's when both are). */
  of?: LifelineParty;
}

/**
 * The lifeline's view of parent and owner now: 'dead' on proof (re-parented, or a fingerprint
 * that is gone, a zombie or another process), 'unknown' when a look failed and nothing proves
 * a death, else 'alive'. Parent and owner are looked at in ONE look that never blocks the loop.
 */
export async function lifelineVerdict(parent: Fingerprint | undefined, owner: Fingerprint | undefined, initialPpid: number): Promise<LifelineVerdict> {
  // Re-parenting needs no look: decide it first.
  const early = verdict(parent, owner, initialPpid);
  if (early.state === 'dead') return early;
  const watched = [parent, owner].filter((fp): fp is Fingerprint => fp !== undefined);
  const lives = await livenessOfAll(watched);
  return verdict(parent, owner, initialPpid, parent && lives[0], owner && lives[parent ? 1 : 0]);
}

function verdict(parent: Fingerprint | undefined, owner: Fingerprint | undefined, initialPpid: number, parentLive?: LivenessCheck, ownerLive?: LivenessCheck): LifelineVerdict {
  let unknown: string | undefined;
  const look = (who: LifelineParty, fp: Fingerprint, l: LivenessCheck | undefined): LifelineVerdict | undefined => {
    if (l?.state === 'dead') return { state: 'dead', reason: `${who} ${fp.pid} is gone (${l.why})`, of: who };
    if (l?.state === 'unknown') unknown ??= `cannot tell whether ${who} ${fp.pid} is alive (${l.why})`;
    return undefined;
  };
  const ppid = watchedPpid(parent, initialPpid);
  if (ppid && process.ppid !== ppid) {
    return { state: 'dead', reason: parent ? `parent ${parent.pid} is gone (re-parented to ${process.ppid})` : `parent changed from ${ppid} to ${process.ppid}`, of: 'parent' };
  }
  // The fingerprint is the authoritative look; it also covers "died before we even started".
  if (parent) {
    const dead = look('parent', parent, parentLive);
    if (dead) return dead;
  }
  if (owner) {
    const dead = look('owner', owner, ownerLive);
    if (dead) return dead;
  }
  return unknown === undefined ? { state: 'alive', reason: '' } : { state: 'unknown', reason: unknown };
}

/**
 * The parent pid whose change proves the parent's death (0: none) — for the main thread and the
 * guard thread alike. Re-parenting is the cheap signal (getppid needs no descriptor), but only
 * when the recorded parent was our direct parent at arm time (a wrapper in between that exits
 * must not read as a death) or, with none recorded, when the parent was a real one.
 */
function watchedPpid(parent: Fingerprint | undefined, initialPpid: number): number {
  return (parent ? parent.pid === initialPpid : initialPpid > 1) ? initialPpid : 0;
}

/**
 * Logs an episode of 'unknown' polls once when it starts and once when it ends (with how long
 * and how many polls it lasted), not once per poll: a full fd table can last for hours.
 */
function unknownEpisodes(log: (m: string) => void, meanwhile: string): (v: LifelineVerdict) => void {
  let since = 0;
  let polls = 0;
  return (v) => {
    if (v.state === 'unknown') {
      if (polls++ === 0) {
        since = Date.now();
        log(`${v.reason}; not treating that as a death, ${meanwhile}`);
      }
    } else if (polls > 0) {
      log(`parent and owner readable again after ${Date.now() - since} ms (${polls} poll(s) could not tell); both alive`);
      polls = 0;
    }
  };
}
