// Which processes could be orphans at all, decided from what /proc/PID/stat alone gives (pid,
// parent, group, session, state): the cheap orphan scan reads environments (the owner marker),
// command lines and owners only of these, instead of every process's.
//   adopted      its parent is PID 1, a given subreaper, or an init-like program: whoever
//                started it is gone (how every orphan of a dead host or gateway ends up)
//   leaderless   its process group's or session's leader is gone (a group or session whose
//                starter died, re-parented to a subreaper we do not recognise)
//   pinned       named by a checkpoint (any recorded pid) or listed by one of our leftover
//                cgroups: the caller passes these
// and, once detection has found orphans, everything that goes down with them (descendantClosure).
// A process none of these reach keeps a live parent chain up to a live ancestor that is not init:
// nothing of a dead host's reaches it except by being started from a live process (see
// docs/cgroups.md, "which escapees each path finds").
import type { ProcessInfo } from './processSource';
import { isLiveState } from './processSource';
import { childrenIndex } from './processTable';

/** Parents that adopt re-parented processes: init and the usual subreapers. */
export const INIT_LIKE = /^(?:\S*\/)?(?:systemd|init|tini|dumb-init|catatonit|docker-init|s6-svscan|runsvdir)(?:\s|$)/;

/** Whether a process whose parent is `ppid` (command line `parentCmdline`) was adopted by init or a subreaper. */
export function adoptedBy(ppid: number, parentCmdline: string | undefined, reapers: ReadonlySet<number>): boolean {
  return ppid === 1 || reapers.has(ppid) || (parentCmdline !== undefined && INIT_LIKE.test(parentCmdline));
}

export interface CandidateRuleOptions {
  /** Extra pids to treat as subreapers. */
  reapers?: Iterable<number>;
  /** Pids that are candidates whatever their parents (checkpoint records, leftover cgroup members). */
  pinned?: Iterable<number>;
  /** A parent's command line ('' or undefined when unknown); asked once per distinct parent. */
  cmdlineOf: (pid: number) => string | undefined;
}

/**
 * The candidate roots among `rows` (stat-only rows are enough). Kernel threads (ppid 2), init
 * and kthreadd (ppid 0) and processes that are not live are never candidates.
 */
export function candidateRoots(rows: readonly ProcessInfo[], opts: CandidateRuleOptions): Set<number> {
  const live = new Set<number>();
  for (const p of rows) if (isLiveState(p.state)) live.add(p.pid);
  const reapers = new Set(opts.reapers ?? []);
  const parentCmd = new Map<number, string | undefined>();
  const cmdOf = (pid: number) => {
    if (!parentCmd.has(pid)) parentCmd.set(pid, opts.cmdlineOf(pid));
    return parentCmd.get(pid);
  };
  const out = new Set<number>();
  for (const pid of opts.pinned ?? []) if (live.has(pid)) out.add(pid);
  for (const p of rows) {
    // Session (or group) 0 is not a kernel thread's mark alone: inside a PID namespace (a
    // container, a dev container) every process whose session began outside reads 0 there.
    if (!live.has(p.pid) || p.ppid === 0 || p.ppid === 2) continue;
    const leaderGone = (leader: number | undefined) => leader !== undefined && leader > 0 && leader !== p.pid && !live.has(leader);
    if (adoptedBy(p.ppid, undefined, reapers) || leaderGone(p.pgid) || leaderGone(p.sid) || adoptedBy(p.ppid, cmdOf(p.ppid), reapers)) {
      out.add(p.pid);
    }
  }
  return out;
}

/**
 * What goes down with `from`: every descendant and, for a group leader, its group's members
 * (a double fork leaves the tree, not the group), recursively — the same reach as detection's
 * assembly of an orphan, without its liveness and ownership filters.
 */
export function descendantClosure(rows: readonly ProcessInfo[], from: Iterable<number>): Set<number> {
  const children = childrenIndex(rows);
  const groups = new Map<number, number[]>();
  for (const p of rows) {
    if (p.pgid === undefined) continue;
    const g = groups.get(p.pgid);
    if (g) g.push(p.pid);
    else groups.set(p.pgid, [p.pid]);
  }
  const seen = new Set<number>(from);
  const queue = [...seen];
  while (queue.length) {
    const pid = queue.pop()!;
    const next = [...(children.get(pid) ?? []).map((c) => c.pid), ...(groups.get(pid) ?? [])];
    for (const n of next) {
      if (seen.has(n)) continue;
      seen.add(n);
      queue.push(n);
    }
  }
  return seen;
}
