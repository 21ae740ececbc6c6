// armLifeline: "my parent (or owner) is dead" detection for a child process, cheapest first:
//  1. stdin EOF / IPC disconnect — the kernel closes the pipe when the parent dies, SIGKILL
//     included, so this fires within milliseconds;
//  2. a fingerprint poll of parent and owner, plus process.ppid changing — catches a pipe held
//     open by an inherited descriptor, and pid reuse;
//  3. optionally, a worker thread doing the same poll outside the main loop, which kills the
//     process if its event loop is blocked (lifelineGuard.ts).
// Call it first thing, before anything slow: a parent sampled late is a parent never watched.
import { Fingerprint, isSameProcess } from './fingerprint';
import { BlockedLoopGuard, startBlockedLoopGuard } from './lifelineGuard';

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
  /** Treat an IPC 'disconnect' as death (default true when an IPC channel exists). */
  ipc?: boolean;
  /** Start the blocked-event-loop guard thread (default false). */
  blockedLoopGuard?: boolean;
  /** Guard: how long a blocked main thread gets after a death (default 2 × pollMs). */
  guardGraceMs?: number;
  /** Guard: kill even a responsive main thread this long after a death (default 30 s). */
  guardMaxMs?: number;
  /** Called at most once, with a human-readable reason. */
  onDeath(reason: string): void;
}

export interface Lifeline {
  disarm(): void;
}

export const DEFAULT_LIFELINE_POLL_MS = 1000;

export function armLifeline(opts: LifelineOptions): Lifeline {
  const pollMs = opts.pollMs && opts.pollMs > 0 ? opts.pollMs : DEFAULT_LIFELINE_POLL_MS;
  const initialPpid = process.ppid;
  let fired = false;
  let armed = true;
  const cleanups: (() => void)[] = [];
  let guard: BlockedLoopGuard | undefined;

  const fire = (reason: string) => {
    if (fired || !armed) return;
    fired = true;
    stopWatching();
    try {
      opts.onDeath(reason);
    } catch (e) {
      process.stderr.write(`lifeline: onDeath threw: ${(e as Error).message}\n`);
    }
  };
  const stopWatching = () => {
    for (const c of cleanups.splice(0)) c();
  };

  // The guard first: it is the one that still works if the caller blocks right after arming.
  if (opts.blockedLoopGuard) {
    guard = startBlockedLoopGuard({
      parent: opts.parent,
      owner: opts.owner,
      ppid: initialPpid,
      pollMs,
      graceMs: opts.guardGraceMs ?? 2 * pollMs,
      maxMs: opts.guardMaxMs ?? 30_000,
    });
  }

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

  if ((opts.ipc ?? true) && typeof process.send === 'function') {
    const onDisconnect = () => fire('IPC channel disconnected');
    process.on('disconnect', onDisconnect);
    cleanups.push(() => process.off('disconnect', onDisconnect));
  }

  const check = () => {
    const why = deathReason(opts.parent, opts.owner, initialPpid);
    if (why) fire(why);
  };
  const timer = setInterval(check, pollMs);
  timer.unref();
  cleanups.push(() => clearInterval(timer));
  // Check once right away: the parent may already have died while this process was starting.
  const first = setImmediate(check);
  first.unref();
  cleanups.push(() => clearImmediate(first));

  return {
    disarm() {
      armed = false;
      stopWatching();
      guard?.stop();
      guard = undefined;
    },
  };
}

/** Why the parent/owner counts as dead now, or undefined while both live. */
export function deathReason(parent: Fingerprint | undefined, owner: Fingerprint | undefined, initialPpid: number): string | undefined {
  if (parent) {
    // Re-parenting is the cheap signal, but only when the recorded parent really was our direct
    // parent at arm time (a wrapper in between must not read as a death); the fingerprint is the
    // authoritative one, and also covers "died before we even started".
    if (initialPpid === parent.pid && process.ppid !== initialPpid) return `parent ${parent.pid} is gone (re-parented to ${process.ppid})`;
    if (!isSameProcess(parent)) return `parent ${parent.pid} is gone (fingerprint changed)`;
  } else if (initialPpid > 1 && process.ppid !== initialPpid) {
    return `parent changed from ${initialPpid} to ${process.ppid}`;
  }
  if (owner && !isSameProcess(owner)) return `owner ${owner.pid} is gone (fingerprint changed)`;
  return undefined;
}
