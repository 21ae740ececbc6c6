// The teardown engine: every path that takes processes down — session close, gateway shutdown
// and lifeline loss, a worker's own exit, the host's deactivate and exit hook, the crash path,
// orphan clearing, the CLI — calls teardown() or teardownSync() with its targets. Nothing else
// in src/ sends a signal to another process; the one exception is the blocked-loop guard thread
// (lifelineGuard.ts), which SIGKILLs its own process and group and cannot load this code.
import { escalate } from './escalate';
import { refusal } from './safety';
import { treeKillSpared } from '../treeKillSpared';
import { runSteps, runStepsSync } from './steps';
import { DEFAULT_TIMEOUT_MS, Target, TeardownOptions, TeardownReport } from './targets';

export { ownProcessGroup, groupMembers, sparedWhy } from './source';
export type { Refusal, RefusalReason } from './safety';
export { cgroupTarget, ownProcesses, processGroup, processTree, DEFAULT_GRACE_MS, DEFAULT_TIMEOUT_MS } from './targets';
export type { CgroupOutcome, Outcome, ProcessOutcome, SignalStep, Spare, Target, TeardownOptions, TeardownReport } from './targets';

/** Asynchronous: the event loop stays free during the grace. Never rejects. */
export async function teardown(targets: readonly Target[], opts: TeardownOptions = {}): Promise<TeardownReport> {
  const t0 = Date.now();
  try {
    if (process.platform === 'win32') return await windowsTeardown(targets, t0, opts);
    return await runSteps(escalate(targets, opts));
  } catch (e) {
    return failed(t0, e);
  }
}

/** Blocking: for exit handlers and paths where pending timers may never fire. Never throws. */
export function teardownSync(targets: readonly Target[], opts: TeardownOptions = {}): TeardownReport {
  const t0 = Date.now();
  try {
    if (process.platform === 'win32') return unsupported(targets, t0);
    return runStepsSync(escalate(targets, opts));
  } catch (e) {
    return failed(t0, e);
  }
}

/** One line per refusal and survivor, for logs ('' when everything went). */
export function describeProblems(r: TeardownReport): string {
  const lines = r.refusals.map((x) => x.message);
  if (r.survivors.length) lines.push(`still alive after ${Math.round(r.elapsedMs)} ms: ${r.survivors.join(', ')}`);
  for (const c of r.cgroups ?? []) if (c.removeProblem) lines.push(`cgroup ${c.path} emptied but not removed: ${c.removeProblem}`);
  return lines.join('; ');
}

function empty(t0: number): TeardownReport {
  return { processes: [], signals: [], refusals: [], survivors: [], elapsedMs: Date.now() - t0 };
}

function failed(t0: number, e: unknown): TeardownReport {
  const r = empty(t0);
  r.refusals.push({ reason: 'error', message: `teardown failed: ${(e as Error)?.message ?? String(e)}` });
  return r;
}

/**
 * Windows has no process groups and no signals: a tree ends by tree-kill (`taskkill /T /F`) after
 * the same check, through treeKillSpared, which keeps the spare veto and never lets taskkill follow
 * a stale parent link.
 */
async function windowsTeardown(targets: readonly Target[], t0: number, opts: TeardownOptions): Promise<TeardownReport> {
  const r = unsupported(targets.filter((t) => t.kind !== 'tree'), t0);
  for (const t of targets) {
    if (t.kind !== 'tree') continue;
    const why = refusal({ kind: 'process', fp: t.root }, { protectedPids: new Set([process.ppid]) });
    if (why) {
      const gone = why.reason === 'gone' || why.reason === 'reused';
      r.processes.push({ pid: t.root.pid, outcome: gone ? 'already-gone' : 'refused', reason: why.reason, message: why.message, signals: [] });
      if (!gone) r.refusals.push({ ...why, pid: t.root.pid });
      continue;
    }
    const k = await treeKillSpared(t.root, { spare: t.spare, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    r.processes.push(...k.processes);
    r.survivors.push(...k.survivors);
    if (k.refused) r.refusals.push({ reason: 'error', message: k.refused, pid: t.root.pid });
  }
  r.elapsedMs = Date.now() - t0;
  return r;
}

function unsupported(targets: readonly Target[], t0: number): TeardownReport {
  const r = empty(t0);
  for (const t of targets) {
    const what = t.kind === 'group' ? `group ${t.pgid}: process groups do not exist on Windows` : t.kind === 'cgroup'
      ? `cgroup ${t.path}: cgroups are Linux only` : t.kind === 'own'
      ? 'this process\'s own processes cannot be listed on Windows (libuv\'s kill-on-close job ends its children with it)'
      : `the tree of pid ${t.root.pid} can be ended only asynchronously on Windows (taskkill)`;
    r.refusals.push({ reason: 'error', message: what });
  }
  return r;
}
