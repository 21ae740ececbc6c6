// The checks before anything is written to a cgroup or its members are signalled: the target is
// one of our gateway-warden-* cgroups on a real cgroup2 filesystem (no symlink anywhere in it),
// and no member is PID 1, ourselves, one of our ancestors, or (unless allowed) another user's.
// A member we cannot check refuses the whole kill: unknown is not "fine".
import { dirname } from 'node:path';
import { ProcRead, readProcStat, readProcUidChecked } from '../procfs';
import { cgroupDirProblem } from './cgroupFiles';
import { ourCgroupPath } from './cgroupNames';

export type CgroupRefusalReason = 'not-ours' | 'protected' | 'other-user' | 'unknown';

export interface CgroupRefusal {
  reason: CgroupRefusalReason;
  why: string;
}

/**
 * Undefined when `target` (a tree or a leaf) may be written to, else why not. With `parent`, the
 * tree must be a child of that directory. Every directory from the tree down is checked with
 * lstat + statfs; a missing one is reported as 'gone'. `checked`: directories found fine by the
 * same caller an instant ago (skipped; those found fine now are added) — 50 leaves of one tree
 * check the tree and its parent once, not 50 times.
 */
export function targetProblem(target: string, parent?: string, checked?: Set<string>): CgroupRefusal | 'gone' | undefined {
  const ours = ourCgroupPath(target, parent);
  if ('problem' in ours) return { reason: 'not-ours', why: ours.problem };
  // The target first: a symlink is named as such, not as the filesystem it points away from.
  const dirs = [...(ours.leaf ? [target] : []), ours.tree, dirname(ours.tree)];
  for (const d of dirs) {
    if (checked?.has(d)) continue;
    const p = cgroupDirProblem(d);
    if (p === 'gone') return 'gone';
    if (p !== undefined) return { reason: 'not-ours', why: p };
    checked?.add(d);
  }
  return undefined;
}

/** Our pid and our ancestors' (bounded walk up the parent chain; stops at an unreadable link). */
export function protectedPids(): Set<number> {
  const out = new Set<number>([1, process.pid]);
  let pid = process.ppid;
  for (let hops = 0; pid > 1 && hops < 64 && !out.has(pid); hops++) {
    out.add(pid);
    const st = readProcStat(pid);
    if (!st) break;
    pid = st.ppid;
  }
  return out;
}

export interface MemberCheckOptions {
  /** Allow members that belong to another uid (default: refuse). */
  allowOtherUsers?: boolean;
  /** Precomputed protectedPids() (a kill loop computes it once). */
  protect?: Set<number>;
  /** A member's owner as read an instant ago with something else of it (undefined: read it now). */
  ownerOf?: (pid: number) => ProcRead<number> | undefined;
}

/** Undefined when every member may be signalled; else the first reason not to. */
export function checkMembers(pids: readonly number[], opts: MemberCheckOptions = {}): CgroupRefusal | undefined {
  const protect = opts.protect ?? protectedPids();
  for (const pid of pids) {
    if (pid === 0) return { reason: 'unknown', why: 'a member is outside our pid namespace (listed as pid 0)' };
    if (protect.has(pid)) {
      const who = pid === 1 ? 'PID 1' : pid === process.pid ? 'this process' : 'an ancestor of this process';
      return { reason: 'protected', why: `pid ${pid} (${who}) is a member` };
    }
  }
  const myUid = process.getuid?.();
  if (opts.allowOtherUsers || myUid === undefined) return undefined;
  for (const pid of pids) {
    const uid = opts.ownerOf?.(pid) ?? readProcUidChecked(pid);
    if (uid.state === 'gone') continue;
    if (uid.state === 'unknown') return { reason: 'unknown', why: `cannot read the owner of member ${pid}: ${uid.why}` };
    if (uid.value !== myUid) return { reason: 'other-user', why: `member ${pid} belongs to uid ${uid.value}, not to us (uid ${myUid})` };
  }
  return undefined;
}
