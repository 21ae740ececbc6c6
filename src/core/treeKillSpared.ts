// The tree kill where there are no process groups or signals (Windows): tree-kill, which runs
// `taskkill /T /F` and takes EVERY process whose parent link leads to the pid it is given. So
// the tree is computed here first, from one read of the table, and tree-kill only ever gets a
// subtree with nothing in it that must live: a spared process (the `spare` veto: another live
// window's, say), this process, or one whose parent link is stale (Windows keeps a dead
// parent's pid in the child's row, and pids are reused: taskkill would follow that link). A
// member with any of those below it is killed alone. Then one look per poll until all are gone.
import { delay } from './emitter';
import treeKill from 'tree-kill';
import type { Fingerprint } from './fingerprint';
import type { ProcessOutcome } from './kill/targets';
import { isLiveState, type ProcessInfo, type ProcessSource } from './processSource';
import { childrenIndex, descendantsOf, processSource } from './processTable';

/** The `spare` veto (a tree target's, kill/targets.ts Spare), asked about each process below the root. */
export type TreeSpare = (p: ProcessInfo) => string | undefined;

export interface TreeKillOptions {
  spare?: TreeSpare;
  /** How long to wait for the killed processes to be gone (default 5000 ms). */
  timeoutMs?: number;
}

export interface TreeKillResult {
  /** The root first. */
  processes: ProcessOutcome[];
  survivors: number[];
  /** Set when the whole call was refused (the table could not be read). */
  refused?: string;
}

export interface TreeKillPlan {
  /** Roots of subtrees that hold nothing spared: tree-kill takes each whole. */
  whole: ProcessInfo[];
  /** Members with something spared below them: each is killed alone (deepest first). */
  alone: ProcessInfo[];
  /** Never signalled, and why (a spared process takes its subtree with it). */
  spared: { info: ProcessInfo; why: string }[];
}

/** Splits the tree below `root` (itself included) into what tree-kill may take whole and the rest. */
export function planTreeKill(table: readonly ProcessInfo[], root: ProcessInfo, spare?: TreeSpare): TreeKillPlan {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const children = childrenIndex(table);
  const members: ProcessInfo[] = [];
  const spared: TreeKillPlan['spared'] = [];
  const untouchable = new Set<number>([process.pid]);
  const queue: { info: ProcessInfo; sparedBy?: number }[] = [{ info: root }];
  const seen = new Set<number>([root.pid]);
  while (queue.length) {
    const { info, sparedBy } = queue.shift()!;
    const why = info === root ? undefined : sparedBy !== undefined ? `below spared pid ${sparedBy}` : info.pid === process.pid ? 'this process' : spare?.(info);
    if (why !== undefined) {
      spared.push({ info, why });
      untouchable.add(info.pid);
    } else members.push(info);
    for (const c of children.get(info.pid) ?? []) {
      if (seen.has(c.pid)) continue;
      seen.add(c.pid);
      queue.push({ info: c, sparedBy: why !== undefined ? (sparedBy ?? info.pid) : undefined });
    }
  }
  // What taskkill would also follow: rows naming a member as parent that are not its children.
  const memberPids = new Set(members.map((m) => m.pid));
  for (const p of table) if (memberPids.has(p.ppid) && !seen.has(p.pid)) untouchable.add(p.pid);
  // A member is dirty when anything untouchable hangs below it by parent links.
  const dirty = new Set<number>();
  for (const pid of untouchable) {
    for (let up = byPid.get(pid)?.ppid; up !== undefined && !dirty.has(up); ) {
      dirty.add(up);
      up = up === 0 ? undefined : byPid.get(up)?.ppid;
    }
  }
  const whole: ProcessInfo[] = [];
  const alone: ProcessInfo[] = [];
  const covered = new Set<number>();
  for (const m of members) {
    if (dirty.has(m.pid)) alone.push(m);
    else if (!covered.has(m.ppid)) whole.push(m);
    if (!dirty.has(m.pid)) covered.add(m.pid);
  }
  return { whole, alone: alone.reverse(), spared };
}

function treeKillAsync(pid: number): Promise<Error | undefined> {
  return new Promise((resolve) => treeKill(pid, 'SIGKILL', (e) => resolve(e ?? undefined)));
}

const POLL_MS = 100;

/** Kills `root` and its tree as planTreeKill says; what was done, and who survived the timeout. */
export async function treeKillSpared(root: Fingerprint, opts: TreeKillOptions = {}, source: ProcessSource = processSource()): Promise<TreeKillResult> {
  const entry = (pid: number, outcome: ProcessOutcome['outcome'], message: string, extra: Partial<ProcessOutcome> = {}): ProcessOutcome => ({ pid, outcome, message, signals: [], ...extra });
  const table = await source.list({ readOwner: opts.spare !== undefined });
  if (!table.complete) {
    const refused = `cannot read the whole process table (${table.why ?? 'incomplete'}); pid ${root.pid}'s tree not signalled`;
    return { processes: [entry(root.pid, 'refused', refused, { reason: 'unknown' })], survivors: [], refused };
  }
  const info = table.rows.find((p) => p.pid === root.pid);
  if (!info || info.startTime !== root.startTime || source.bootId() !== root.bootId) {
    return { processes: [entry(root.pid, 'already-gone', `pid ${root.pid} had already exited or been reused; not signalled`, { reason: info ? 'reused' : 'gone' })], survivors: [] };
  }
  const plan = planTreeKill(table.rows, info, opts.spare);
  const done = new Map<number, ProcessOutcome>();
  // Each kill follows the last by a taskkill's spawn (100 ms and more), and Windows hands pids out
  // again fast: every pid is looked at again right before its own kill, not on the plan's word.
  const skipped = new Set<number>();
  const notPlanned = async (m: ProcessInfo): Promise<ProcessOutcome | undefined> => {
    const now = (await source.look([m.pid])).get(m.pid);
    if (now?.state === 'found' && isLiveState(now.info.state) && now.info.startTime === m.startTime) return undefined;
    skipped.add(m.pid);
    if (now?.state === 'unknown') return entry(m.pid, 'refused', `pid ${m.pid} cannot be looked at right before its kill (${now.why}); not signalled`, { reason: 'unknown' });
    return now?.state === 'found' && isLiveState(now.info.state)
      ? entry(m.pid, 'already-gone', `pid ${m.pid} is another process now (start time ${now.info.startTime}, planned ${m.startTime}); not signalled`, { reason: 'reused' })
      : entry(m.pid, 'already-gone', `pid ${m.pid} had exited before its kill`, { reason: 'gone' });
  };
  for (const w of plan.whole) {
    const changed = await notPlanned(w);
    if (changed) {
      done.set(w.pid, changed);
      continue;
    }
    const err = await treeKillAsync(w.pid);
    done.set(w.pid, err
      ? entry(w.pid, 'refused', `tree-kill of pid ${w.pid} failed: ${err.message}`, { reason: 'error' })
      : entry(w.pid, 'killed', `pid ${w.pid} and its tree killed (tree-kill)`, { signals: ['tree-kill'] }));
  }
  for (const a of plan.alone) {
    const changed = await notPlanned(a);
    if (changed) {
      done.set(a.pid, changed);
      continue;
    }
    try {
      process.kill(a.pid, 'SIGKILL');
      done.set(a.pid, entry(a.pid, 'killed', `pid ${a.pid} killed alone: something spared is below it`, { signals: ['SIGKILL'] }));
    } catch (e) {
      const gone = (e as NodeJS.ErrnoException).code === 'ESRCH';
      done.set(a.pid, entry(a.pid, gone ? 'already-gone' : 'refused', `pid ${a.pid}: ${(e as Error).message}`, { reason: gone ? 'gone' : 'error' }));
    }
  }
  // Everything under a whole subtree went with it; wait (one look per poll) until none is left.
  const members = [...plan.whole.filter((w) => !skipped.has(w.pid)).flatMap((w) => [w, ...descendantsOf(table.rows, w.pid)]), ...plan.alone.filter((a) => !skipped.has(a.pid))];
  for (const m of members) if (!done.has(m.pid)) done.set(m.pid, entry(m.pid, 'killed', `pid ${m.pid} killed with its tree (tree-kill)`, { signals: ['tree-kill'] }));
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  let survivors = members;
  for (;;) {
    const looks = await source.look(survivors.map((m) => m.pid));
    survivors = survivors.filter((m) => {
      const l = looks.get(m.pid);
      return l?.state === 'unknown' || (l?.state === 'found' && isLiveState(l.info.state) && l.info.startTime === m.startTime);
    });
    if (survivors.length === 0 || Date.now() >= deadline) break;
    await delay(POLL_MS);
  }
  for (const s of survivors) Object.assign(done.get(s.pid)!, { outcome: 'survived', message: `pid ${s.pid} still alive (or unreadable) after the tree kill` });
  const processes = [...members.map((m) => done.get(m.pid)!), ...[...skipped].map((pid) => done.get(pid)!), ...plan.spared.map((s) => entry(s.info.pid, 'refused', `pid ${s.info.pid} spared: ${s.why}`, { reason: 'protected' }))];
  processes.sort((a, b) => (a.pid === root.pid ? -1 : b.pid === root.pid ? 1 : 0));
  return { processes, survivors: survivors.map((s) => s.pid) };
}
