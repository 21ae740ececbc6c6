// hermes' slash workers as the gateway sees them: found in the process table (children of the
// hermes gateway whose argv is `INTERPRETER -m tui_gateway.slash_worker --session-key K`, read by
// position), joined with session.active_list's session keys, and reported like the embedded
// backend's own workers (worker.started / worker.exited). Every worker is remembered with its
// fingerprint and process group, because current hermes starts each one in its own session: the
// gateway's group teardown does not reach them, and once the hermes gateway is gone they are
// children of init and can no longer be found by parentage.
//
// A worker whose key is not among the live sessions' on two consecutive checks is stale (#21467):
// reported (worker.stale, session.list, gateway.status) and, after the stale-worker grace, taken
// down with its group (worker.reaped). When a worker exits, what is left in its group (hermes
// ends workers per pid, so their own children survive it) is swept.
// With cgroup containment a worker found with a live session is moved out of the program's leaf
// into its session's (WorkerLeaves), and is taken down with that leaf instead of its group —
// unless another live worker holds that leaf too: after a session key change (hermes'
// auto-compression) the session's new worker is moved into the same leaf, and the old one then
// goes by its own group or tree, never with its successor's leaf.
import { Fingerprint, livenessOf } from '../../core/fingerprint';
import { describeProblems, ownProcessGroup, processGroup, processTree, Target, teardown } from '../../core/kill';
import { readProcCmdline, scanLiveStatsChecked } from '../../core/procfs';
import { processSource } from '../../core/processTable';
import type { BackendHost } from './backend';
import { StaleWorker, StaleWorkerRule, staleWorkersDue } from './hermesStaleWorkers';
import { hermesWorkerOf } from './hermesWorkerArgv';

/** SIGTERM grace when a stale worker is taken down (hermes' own close gives 1 s too). */
const STALE_KILL_GRACE_MS = 1000;
/** A stale worker still alive after its take-down (refused, a failed read, a survivor) is tried again this much later. */
const STALE_RETRY_MS = 5000;
/** SIGTERM grace for what an exited worker left in its group. */
const REMNANT_GRACE_MS = 500;
const MAX_COMMAND_CHARS = 1024;

/** A worker's take-down: what survived or was refused, and why it did not end when it did not. */
export interface WorkerTakeDown {
  survivors: number[];
  refused: string[];
  /** Refusals and survivors in one line ('' when none). */
  problems: string;
  elapsedMs: number;
  problem?: string;
}

export interface HermesWorker {
  pid: number;
  startTime: number;
  pgid: number;
  sessionKey: string;
  command: string;
  /** The hermes session it serves (by its key), or null when no live session has that key. */
  sessionId: string | null;
  firstSeenAt: number;
  stale?: { since: number; reapAt: number | null };
  /** Set while it is being taken down as stale. */
  reaping?: boolean;
  /** A take-down left it alive: not tried again before this time. */
  reapRetryAt?: number;
  /** Its session's cgroup leaf, once moved there (cgroup containment); else in the program's leaf or none. */
  leaf?: string;
  /** A move into its session's leaf was tried (once per worker). */
  placed?: boolean;
  /** The session it was moved (or tried to be moved) into the leaf of: its key may change, the session stays. */
  placedFor?: string;
}

/**
 * cgroup containment: hermes starts its workers in the program's leaf; each one found with a live
 * session is moved into that session's leaf, so what it starts from then on — a setsid escapee
 * included — is the session's: its close and Kill Worker take it down with the leaf, and its
 * totals are the leaf's.
 */
export interface WorkerLeaves {
  /** Moves the worker into its session's leaf; the leaf, or undefined when it stays where it is. */
  adopt(w: HermesWorker & { sessionId: string }): string | undefined;
  /** A leaf as a teardown target. */
  target(leaf: string): Target;
}

export interface HermesWorkerTrackerOptions {
  host: BackendHost;
  /** 0: stale workers are only reported. */
  staleWorkerGraceMs: number;
  /**
   * Two stale checks count as consecutive only this far apart (the poll interval): a look taken
   * on demand right after another must not confirm what hermes' auto-compression briefly shows.
   */
  staleCheckIntervalMs: number;
  leaves?: WorkerLeaves;
  /** Whether a hermes session is still live (ours): a worker's exit takes its leaf along only when the session it was placed for is gone. */
  sessionLive: (sessionId: string) => boolean;
}

const keyOf = (pid: number, startTime: number) => `${pid}:${startTime}`;

/** A worker of the hermes gateway as one look at the process table found it. */
export interface ScannedWorker {
  pid: number;
  startTime: number;
  pgid: number;
  sessionKey: string;
  argv: string[];
}

export interface WorkerScan {
  rows: ScannedWorker[];
  /** False when the table could not be read whole (EMFILE, …): what it lacks proves nothing. */
  complete: boolean;
}

export class HermesWorkerTracker {
  private readonly live = new Map<string, HermesWorker>();
  private readonly rule = new StaleWorkerRule();
  // '' when the platform cannot say: the fingerprint then matches nothing, and kills refuse.
  private readonly bootId = processSource().bootId() ?? '';
  private lastStaleCheckAt = 0;

  constructor(private readonly opts: HermesWorkerTrackerOptions) {}

  get size(): number {
    return this.live.size;
  }

  workers(): HermesWorker[] {
    return [...this.live.values()];
  }

  /** The live worker of a hermes session, if one is known. */
  workerOf(sessionId: string): HermesWorker | undefined {
    for (const w of this.live.values()) if (w.sessionId === sessionId && !w.stale) return w;
    return undefined;
  }

  staleWorkers(): HermesWorker[] {
    return this.workers().filter((w) => w.stale);
  }

  /** One look at the process table: the hermes gateway `gatewayPid`'s workers now (nothing applied). */
  scan(gatewayPid: number): WorkerScan {
    const rows: ScannedWorker[] = [];
    // An incomplete scan (EMFILE, …) proves nothing about what it did not list.
    const scan = scanLiveStatsChecked();
    for (const st of scan.stats) {
      if (st.ppid !== gatewayPid) continue;
      const argv = readProcCmdline(st.pid);
      const parsed = hermesWorkerOf({ pid: st.pid, ppid: st.ppid, argv }, gatewayPid);
      if (parsed) rows.push({ pid: st.pid, startTime: st.startTime, pgid: st.pgid, sessionKey: parsed.sessionKey, argv });
    }
    return { rows, complete: scan.complete };
  }

  /**
   * Whether the stale rule waits on session.active_list's next answer: a key missing once waits
   * for its confirmation, and a stale worker's grace runs out on a check. (A stale worker that
   * is only reported, --stale-worker-grace-ms 0, waits on nothing.)
   */
  get staleRuleWaiting(): boolean {
    return this.rule.confirming || (this.opts.staleWorkerGraceMs > 0 && this.rule.anyStale);
  }

  /**
   * Applies a look at the process table (`scan`, by default a fresh one): the live workers of the
   * hermes gateway `gatewayPid`, joined with `sessionOfKey`. `liveKeys` is session.active_list's
   * keys when that call succeeded, 'failed' when it did not (then the stale rule learns nothing
   * from this look and starts over), 'not-asked' when this look did not ask (the rule waits).
   * Emits worker.started / worker.exited for the changes.
   */
  update(
    gatewayPid: number, sessionOfKey: (key: string) => string | null, liveKeys: ReadonlySet<string> | 'failed' | 'not-asked',
    now = Date.now(), scan: WorkerScan = this.scan(gatewayPid),
  ): void {
    const seen = new Map<string, HermesWorker>();
    // Known workers that have a session now and had none (found before hermes listed their
    // session, or while two sessions shared its key): announced again, or the view never shows them.
    const linked: HermesWorker[] = [];
    for (const row of scan.rows) {
      const key = keyOf(row.pid, row.startTime);
      const known = this.live.get(key);
      if (known) {
        const before = known.sessionId;
        known.sessionId = sessionOfKey(row.sessionKey);
        if (before === null && known.sessionId !== null && !known.stale) linked.push(known);
        seen.set(key, known);
        continue;
      }
      const command = row.argv.join(' ');
      seen.set(key, {
        pid: row.pid, startTime: row.startTime, pgid: row.pgid, sessionKey: row.sessionKey,
        command: command.length > MAX_COMMAND_CHARS ? command.slice(0, MAX_COMMAND_CHARS) + '…' : command,
        sessionId: sessionOfKey(row.sessionKey), firstSeenAt: now,
      });
    }
    // Death needs proof: a worker missing from the scan is gone only once its fingerprint says so.
    for (const [key, w] of this.live) {
      if (!seen.has(key) && livenessOf(this.fingerprint(w)).state === 'dead') this.gone(w, 'exited', this.sessionGone(w, sessionOfKey) ? 'with-leaf' : 'group');
    }
    for (const w of seen.values()) this.place(w);
    for (const [key, w] of seen) {
      if (this.live.has(key)) continue;
      this.live.set(key, w);
      this.announce(w);
      this.opts.host.log(`hermes worker ${w.pid} (session key ${w.sessionKey}${w.sessionId ? `, session ${w.sessionId}` : ', no live session'}) found`);
    }
    for (const w of linked) {
      this.announce(w);
      this.opts.host.log(`hermes worker ${w.pid} (session key ${w.sessionKey}) is session ${w.sessionId}'s`);
    }
    if (liveKeys === 'not-asked') return;
    if (liveKeys === 'failed' || !scan.complete) {
      this.rule.unknown();
      this.lastStaleCheckAt = 0;
    } else if (now - this.lastStaleCheckAt >= this.opts.staleCheckIntervalMs * 0.8) {
      this.lastStaleCheckAt = now;
      this.applyStaleRule(liveKeys, now);
    }
  }

  private announce(w: HermesWorker): void {
    this.opts.host.emit('worker.started', {
      sessionId: w.sessionId, pid: w.pid, startTime: w.startTime, pgid: w.pgid, state: 'ready', command: w.command, sessionKey: w.sessionKey,
    });
  }

  /** A worker with a live session, not yet in its leaf: moved there, once. */
  private place(w: HermesWorker): void {
    const leaves = this.opts.leaves;
    if (!leaves || w.placed || w.sessionId === null || w.stale) return;
    w.placed = true;
    w.placedFor = w.sessionId;
    w.leaf = leaves.adopt(w as HermesWorker & { sessionId: string });
    if (w.leaf !== undefined) this.opts.host.log(`hermes worker ${w.pid} (session ${w.sessionId}) moved into its session's cgroup leaf ${w.leaf}`);
  }

  /** The session leaves the live workers were moved into (teardown targets). */
  leafTargets(): Target[] {
    const leaves = this.opts.leaves;
    if (!leaves) return [];
    const dirs = new Set<string>();
    for (const w of this.live.values()) if (w.leaf !== undefined) dirs.add(w.leaf);
    return [...dirs].map((d) => leaves.target(d));
  }

  /**
   * Whether a worker's session is gone: the session it was placed for (its key can change while
   * the session stays: hermes' auto-compression), else the one its key names.
   */
  private sessionGone(w: HermesWorker, sessionOfKey: (key: string) => string | null): boolean {
    return w.placedFor !== undefined ? !this.opts.sessionLive(w.placedFor) : sessionOfKey(w.sessionKey) === null;
  }

  /**
   * The leaf a worker is taken down (and its memory sampled) with: the session leaf it was moved
   * into, unless another live worker holds that leaf too (the session's next worker after a key
   * change, or the old one it leaked): the leaf is not this worker's alone then, and it goes by
   * its own group or tree.
   */
  leafOf(w: HermesWorker): string | undefined {
    return w.leaf !== undefined && this.opts.leaves && !this.holdsLeaf(w.leaf, w) ? w.leaf : undefined;
  }

  /**
   * What takes one worker down: its session's leaf when it was moved there and holds it alone
   * (everything it started since, escapees included); else its own group (current hermes), or,
   * in the gateway's group (older hermes), the worker and its descendants.
   */
  targetOf(w: HermesWorker): Target {
    const leaf = this.leafOf(w);
    if (leaf !== undefined) return this.opts.leaves!.target(leaf);
    const fp = this.fingerprint(w);
    return w.pgid === w.pid && w.pgid !== ownProcessGroup() ? processGroup(w.pgid, fp) : processTree(fp);
  }

  /**
   * The worker taken down with its leaf, group or tree. Ended on proof only: a refused target
   * (another uid's member) or an unread one signalled nothing and lists no survivor, so the worker
   * itself is looked at again; `problem` says why it did not end, when it did not.
   */
  async takeDown(w: HermesWorker, graceMs: number, timeoutMs: number): Promise<WorkerTakeDown> {
    const r = await teardown([this.targetOf(w)], { graceMs, timeoutMs });
    const problems = describeProblems(r);
    const after = livenessOf(this.fingerprint(w));
    const problem = after.state !== 'dead'
      ? `worker ${w.pid} ${after.state === 'alive' ? 'still runs' : `may still run (${after.why})`}${problems ? `: ${problems}` : ''}`
      : r.survivors.length ? problems : undefined;
    return { survivors: r.survivors, refused: r.refusals.map((x) => x.message), problems, elapsedMs: Math.round(r.elapsedMs), ...(problem ? { problem } : {}) };
  }

  /** Worker groups to sweep at teardown: each live worker's own group (not the gateway's). */
  groupTargets(): Target[] {
    const own = ownProcessGroup();
    const out: Target[] = [];
    for (const w of this.live.values()) {
      if (w.pgid === w.pid && w.pgid !== own) out.push(processGroup(w.pgid, this.fingerprint(w)));
    }
    return out;
  }

  /** The workers' fingerprints (each one and its descendants are taken down at teardown). */
  fingerprints(): Fingerprint[] {
    return this.workers().map((w) => this.fingerprint(w));
  }

  /** Everything is gone (teardown done, or the hermes gateway died and was swept): forget it. */
  forgetAll(reason: string): void {
    for (const w of [...this.live.values()]) this.gone(w, reason, 'none');
  }

  /** A worker's fingerprint (the boot id read once for the tracker). */
  fingerprint(w: HermesWorker): Fingerprint {
    return { pid: w.pid, startTime: w.startTime, bootId: this.bootId };
  }

  /**
   * A worker left the table: reported, and what it left is swept — in its own group; or, when its
   * session is gone too (`with-leaf`), everything in the session's leaf it was moved into (an
   * escapee included: nobody else is left to close that leaf). A session still live keeps its
   * leaf: its next worker is moved into it; a leaf another live worker holds is never swept here.
   */
  private gone(w: HermesWorker, why: string, sweep: 'group' | 'with-leaf' | 'none'): void {
    this.live.delete(keyOf(w.pid, w.startTime));
    this.opts.host.emit('worker.exited', {
      sessionId: w.sessionId, pid: w.pid, startTime: w.startTime, pgid: w.pgid, code: null, signal: null, sessionKey: w.sessionKey,
    });
    this.opts.host.log(`hermes worker ${w.pid} (session key ${w.sessionKey}) ${why}`);
    if (sweep === 'none') return;
    const ownGroup = w.pgid === w.pid && w.pgid !== ownProcessGroup();
    const leaf = sweep === 'with-leaf' ? this.leafOf(w) : undefined;
    if (leaf === undefined && !ownGroup) return;
    void teardown([leaf !== undefined ? this.opts.leaves!.target(leaf) : processGroup(w.pgid, this.fingerprint(w))], { graceMs: REMNANT_GRACE_MS, timeoutMs: REMNANT_GRACE_MS + 3000 }).then((r) => {
      for (const why2 of r.refusals) this.opts.host.log(`hermes worker ${w.pid}: ${why2.message}`);
      if (r.survivors.length) this.opts.host.log(`hermes worker ${w.pid}: what it left still has ${r.survivors.join(', ')}`);
    });
  }

  /** A live worker (other than `except`) was moved into `leaf`: the leaf is its, not only its session's. */
  holdsLeaf(leaf: string, except?: HermesWorker): boolean {
    for (const w of this.live.values()) if (w.leaf === leaf && w !== except) return true;
    return false;
  }

  private applyStaleRule(liveKeys: ReadonlySet<string>, now: number): void {
    const observed = this.workers().map((w) => ({ pid: w.pid, startTime: w.startTime, sessionKey: w.sessionKey }));
    const stale = this.rule.check(observed, liveKeys, now);
    const staleKeys = new Set(stale.map((s) => keyOf(s.pid, s.startTime)));
    for (const w of this.live.values()) {
      if (!staleKeys.has(keyOf(w.pid, w.startTime))) w.stale = undefined;
    }
    for (const s of stale) {
      const w = this.live.get(keyOf(s.pid, s.startTime));
      if (!w || w.stale) continue;
      const graceMs = this.opts.staleWorkerGraceMs;
      w.stale = { since: s.staleSince, reapAt: graceMs > 0 ? s.staleSince + graceMs : null };
      this.opts.host.emit('worker.stale', {
        sessionId: null, pid: w.pid, startTime: w.startTime, pgid: w.pgid, sessionKey: w.sessionKey, staleSince: w.stale.since, reapAt: w.stale.reapAt,
      });
      this.opts.host.log(`hermes worker ${w.pid}: stale (its session key ${w.sessionKey} is not among the live sessions on two checks)${w.stale.reapAt ? `; taken down in ${graceMs} ms` : '; reported only (--stale-worker-grace-ms 0)'}`);
    }
    for (const due of staleWorkersDue(stale, this.opts.staleWorkerGraceMs, now)) void this.reap(due, now);
  }

  private async reap(s: StaleWorker, now: number): Promise<void> {
    const w = this.live.get(keyOf(s.pid, s.startTime));
    if (!w || w.reaping || (w.reapRetryAt !== undefined && now < w.reapRetryAt)) return;
    w.reaping = true;
    const r = await this.takeDown(w, STALE_KILL_GRACE_MS, STALE_KILL_GRACE_MS + 4000);
    // Not ended (refused, a read that failed, a survivor): still stale — listed, counted — and
    // tried again later.
    if (r.problem) {
      w.reaping = false;
      w.reapRetryAt = Date.now() + STALE_RETRY_MS;
      this.opts.host.log(`hermes worker ${w.pid}: stale worker not taken down (${r.problem}); tried again in ${STALE_RETRY_MS} ms`);
      return;
    }
    this.opts.host.emit('worker.reaped', {
      sessionId: null, pid: w.pid, startTime: w.startTime, pgid: w.pgid, sessionKey: w.sessionKey, reason: 'stale',
      staleForMs: now - s.staleSince, survivors: r.survivors, refused: r.refused,
    });
    this.opts.host.log(`hermes worker ${w.pid}: stale worker taken down${r.problems ? `; ${r.problems}` : ''}`);
  }
}
