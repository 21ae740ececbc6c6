// Taking a cgroup down: optionally SIGTERM and a grace, then cgroup.kill (Linux ≥ 5.14: every
// member and descendant, forks racing the kill included, in one write), or where that file is
// missing, freeze + SIGKILL every listed member + thaw, repeated; then wait until the kernel says
// `populated 0` and remove the empty cgroups. Signalling by pid happens only while the cgroup is
// frozen, so a listed pid cannot exit and be reused before its signal lands. Written once as
// steps, driven async or blocking (exit hooks).
import { performance } from 'node:perf_hooks';
import { runSteps, runStepsSync, Steps } from '../kill/steps';
import { parseKeyValues, readCgroupFile, readPopulated, writeCgroupFile } from './cgroupFiles';
import { listMembers } from './cgroupMembers';
import { CgroupRefusal, checkMembers, protectedPids, targetProblem } from './cgroupSafety';
import { removeCgroups, RemoveResult } from './cgroupTree';

export interface CgroupKillOptions {
  /** > 0: SIGTERM every member first and wait up to this long for them to leave (default 0). */
  graceMs?: number;
  /** Give up after this long in all (default 5000 ms). */
  timeoutMs?: number;
  /** Signal members that belong to another uid too (default: refuse the whole kill). */
  allowOtherUsers?: boolean;
  /** Use cgroup.kill when present (default true); false forces the freeze + SIGKILL fallback. */
  useKillFile?: boolean;
  /** Remove the cgroup and everything below it once empty (default true). */
  remove?: boolean;
  /** The tree must be a child of this directory. */
  parent?: string;
}

export interface CgroupSignalStep {
  signal: 'SIGTERM' | 'SIGKILL' | 'cgroup.kill';
  /** Milliseconds since the call started. */
  atMs: number;
  /** Members listed just before it was sent. */
  members: number;
}

export interface CgroupKillResult {
  path: string;
  /** 'gone': the cgroup did not exist (so held nothing); 'timeout': still populated, or unknown, at the deadline. */
  outcome: 'empty' | 'gone' | 'refused' | 'timeout';
  refused?: CgroupRefusal;
  method: 'cgroup.kill' | 'freeze+SIGKILL' | 'none';
  /** Members seen by the first check. */
  members: number[];
  signals: CgroupSignalStep[];
  elapsedMs: number;
  /** From just before the first cgroup.kill write (or fallback round: freeze, list, SIGKILL) until `populated 0` was seen. */
  killToEmptyMs?: number;
  /** Members left at a timeout (as listed then; empty when the list was unreadable). */
  survivors: number[];
  /** The last reason a state read proved nothing, if any. */
  unknown?: string;
  removal?: RemoveResult;
}

/** Poll interval for `populated`: 1 ms for the first ~20 ms (a kill usually lands there), then 5 ms. A read of cgroup.events costs microseconds. */
const pollMs = (i: number) => (i < 20 ? 1 : 5);
/** cgroup.kill is repeated this often while members remain (one moved in after the write; a member in uninterruptible sleep is only waited for). */
const REKILL_MS = 500;

/** Polls `populated` until 0 or the deadline. */
function* waitEmpty(dir: string, deadline: number): Steps<{ empty: boolean; unknown?: string }> {
  let unknown: string | undefined;
  for (let i = 0; ; i++) {
    const p = readPopulated(dir);
    if (p.state === 'gone' || (p.state === 'found' && !p.value)) return { empty: true };
    if (p.state === 'unknown') unknown = p.why;
    const left = deadline - performance.now();
    if (left <= 0) return { empty: false, unknown };
    yield Math.min(left, pollMs(i));
  }
}

/** Waits until `dir` is empty (or gone); resolves false at the deadline. */
export async function waitCgroupEmpty(dir: string, timeoutMs: number): Promise<boolean> {
  return (await runSteps(waitEmpty(dir, performance.now() + timeoutMs))).empty;
}

export function waitCgroupEmptySync(dir: string, timeoutMs: number): boolean {
  return runStepsSync(waitEmpty(dir, performance.now() + timeoutMs)).empty;
}

/** Freezes `dir` and waits (≤ 50 ms) until the kernel says it is frozen; false when it cannot. */
function* freeze(dir: string): Steps<boolean> {
  if (!writeCgroupFile(`${dir}/cgroup.freeze`, '1').ok) return false;
  for (let i = 0; i < 50; i++) {
    const ev = readCgroupFile(`${dir}/cgroup.events`, 4096);
    if (ev.state === 'found' && parseKeyValues(ev.value).get('frozen') === 1) return true;
    if (ev.state === 'gone') return true;
    yield 1;
  }
  return true; // frozen or not, the signals are still worth sending
}

type SignalOutcome = { sent: number; members: number[] } | { refused: CgroupRefusal } | { gone: true } | { unknown: string };

/** Freeze, list, check, signal every member by pid, thaw. */
function* signalMembers(dir: string, signal: 'SIGTERM' | 'SIGKILL', protect: Set<number>, opts: CgroupKillOptions): Steps<SignalOutcome> {
  const frozen = yield* freeze(dir);
  try {
    const m = listMembers(dir);
    if (m.state === 'gone') return { gone: true };
    if (m.state === 'unknown') return { unknown: m.why };
    const refused = checkMembers(m.value.pids, { protect, allowOtherUsers: opts.allowOtherUsers });
    if (refused) return { refused };
    let sent = 0;
    for (const pid of m.value.pids) {
      try {
        process.kill(pid, signal);
        sent++;
      } catch {
        // ESRCH: it exited (a frozen process can still be killed by someone else)
      }
    }
    return { sent, members: m.value.pids };
  } finally {
    if (frozen) writeCgroupFile(`${dir}/cgroup.freeze`, '0');
  }
}

/** Lists and checks the members now; the refusal, 'gone', or the member list. */
function checkNow(dir: string, protect: Set<number>, opts: CgroupKillOptions): { refused: CgroupRefusal } | { gone: true } | { members: number[] } {
  const m = listMembers(dir);
  if (m.state === 'gone') return { gone: true };
  if (m.state === 'unknown') return { refused: { reason: 'unknown', why: m.why } };
  const refused = checkMembers(m.value.pids, { protect, allowOtherUsers: opts.allowOtherUsers });
  return refused ? { refused } : { members: m.value.pids };
}

export function* killCgroupSteps(dir: string, opts: CgroupKillOptions = {}): Steps<CgroupKillResult> {
  const t0 = performance.now();
  const deadline = t0 + (opts.timeoutMs ?? 5000);
  const at = () => performance.now() - t0;
  const result: CgroupKillResult = { path: dir, outcome: 'empty', method: 'none', members: [], signals: [], elapsedMs: 0, survivors: [] };
  const finish = (outcome: CgroupKillResult['outcome']): CgroupKillResult => {
    result.outcome = outcome;
    result.elapsedMs = at();
    return result;
  };
  const bad = targetProblem(dir, opts.parent);
  if (bad === 'gone') return finish('gone');
  if (bad !== undefined) {
    result.refused = bad;
    return finish('refused');
  }
  const protect = protectedPids();
  const first = checkNow(dir, protect, opts);
  if ('gone' in first) return finish('gone');
  if ('refused' in first) {
    result.refused = first.refused;
    return finish('refused');
  }
  result.members = first.members;

  let empty = (yield* waitEmpty(dir, 0)).empty;
  if (!empty && (opts.graceMs ?? 0) > 0) {
    const term = yield* signalMembers(dir, 'SIGTERM', protect, opts);
    if ('refused' in term) {
      result.refused = term.refused;
      return finish('refused');
    }
    if ('sent' in term) result.signals.push({ signal: 'SIGTERM', atMs: at(), members: term.members.length });
    const w = yield* waitEmpty(dir, Math.min(deadline, performance.now() + opts.graceMs!));
    empty = w.empty;
    result.unknown = w.unknown ?? result.unknown;
  }

  let killedAt: number | undefined;
  let killFile = opts.useKillFile ?? true;
  while (!empty && performance.now() < deadline) {
    // Re-checked before every kill: a member may have exec'd a set-uid program since.
    const now = checkNow(dir, protect, opts);
    if ('gone' in now) {
      empty = true;
      break;
    }
    if ('refused' in now) {
      result.refused = now.refused;
      return finish('refused');
    }
    // A failed write (no cgroup.kill before Linux 5.14, or a cgroup that just went) falls back
    // for the rest of the call; the fallback itself notices a cgroup that is gone.
    const before = performance.now();
    if (killFile) killFile = writeCgroupFile(`${dir}/cgroup.kill`, '1').ok;
    if (killFile) {
      result.method = 'cgroup.kill';
      result.signals.push({ signal: 'cgroup.kill', atMs: before - t0, members: now.members.length });
      killedAt ??= before;
      const w = yield* waitEmpty(dir, Math.min(deadline, performance.now() + REKILL_MS));
      empty = w.empty;
      result.unknown = w.unknown ?? result.unknown;
      continue;
    }
    const k = yield* signalMembers(dir, 'SIGKILL', protect, opts);
    if ('refused' in k) {
      result.refused = k.refused;
      return finish('refused');
    }
    if ('gone' in k) {
      empty = true;
      break;
    }
    if ('unknown' in k) result.unknown = k.unknown;
    else {
      result.method = 'freeze+SIGKILL';
      result.signals.push({ signal: 'SIGKILL', atMs: before - t0, members: k.members.length });
      killedAt ??= before;
    }
    const w = yield* waitEmpty(dir, Math.min(deadline, performance.now() + 20));
    empty = w.empty;
    result.unknown = w.unknown ?? result.unknown;
  }
  if (killedAt !== undefined && empty) result.killToEmptyMs = performance.now() - killedAt;
  if (!empty) {
    const left = listMembers(dir);
    result.survivors = left.state === 'found' ? left.value.pids : [];
    return finish('timeout');
  }
  if (opts.remove ?? true) result.removal = removeCgroups(dir);
  return finish('empty');
}

/** Takes `dir` down (see killCgroupSteps), yielding to the event loop between polls. */
export function killCgroup(dir: string, opts: CgroupKillOptions = {}): Promise<CgroupKillResult> {
  return runSteps(killCgroupSteps(dir, opts));
}

/** The same, blocking: for exit hooks and other places where timers never fire. */
export function killCgroupSync(dir: string, opts: CgroupKillOptions = {}): CgroupKillResult {
  return runStepsSync(killCgroupSteps(dir, opts));
}
