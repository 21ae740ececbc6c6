// Who is still in a process group. Polled many times per teardown, so it reads the table lean
// (on Linux only /proc/PID/stat, into one reused buffer) and stats /proc/PID for the uid of
// members only; on macOS one `ps`.
import { isLiveState } from './processSource';
import { processSource } from './processTable';
import { readProcStatChecked, readProcUidChecked } from './procfs';

export interface GroupSnapshot {
  /** Live (non-zombie) members, when the platform can list them. */
  members: number[];
  /** Members owned by another uid than ours. */
  otherUser: number[];
  /** Whether any live member remains (also true when members cannot be listed but the group answers). */
  alive: boolean;
  /** False when `members` could not be listed (only `alive` is known). */
  exact: boolean;
}

/** A read that proves nothing (EMFILE, …): the process may or may not be a member. */
const UNREADABLE = 'unreadable';

/** Linux: the pgid and state of one process; undefined when it is gone, UNREADABLE when a read failed otherwise. */
function readPgidAndState(pid: number): { pgid: number; state: string } | undefined | typeof UNREADABLE {
  const r = readProcStatChecked(pid);
  return r.state === 'found' ? r.value : r.state === 'gone' ? undefined : UNREADABLE;
}

/**
 * The live members from one read of the table (a lean /proc scan on Linux, one `ps` on macOS),
 * or undefined when they cannot all be known (then groupSnapshot falls back to a probe).
 */
function tableGroup(pgid: number): GroupSnapshot | undefined {
  const table = processSource().listSync({ lean: true });
  if (!table.complete) return undefined;
  const myUid = process.getuid?.();
  const members: number[] = [];
  const otherUser: number[] = [];
  for (const p of table.rows) {
    if (p.pgid !== pgid || !isLiveState(p.state)) continue;
    // A lean Linux row has no uid: stat /proc/PID for members only.
    const uid = p.uid !== undefined ? { state: 'found' as const, value: p.uid } : readProcUidChecked(p.pid);
    if (uid.state === 'gone') continue; // exited meanwhile
    if (uid.state === 'unknown') return undefined;
    members.push(p.pid);
    if (myUid !== undefined && uid.value !== myUid) otherUser.push(p.pid);
  }
  return { members, otherUser, alive: members.length > 0, exact: true };
}

/** Proof that a group is empty (not even a zombie): kill(-pgid, 0) says ESRCH. Needs no descriptor. */
export function groupHasNoProcess(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Last resort: signal 0 to the group. Zombies count as members here. */
function probeGroup(pgid: number): GroupSnapshot {
  try {
    process.kill(-pgid, 0);
    return { members: [], otherUser: [], alive: true, exact: false };
  } catch (e) {
    const alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    return { members: [], otherUser: [], alive, exact: false };
  }
}

/** The live members of process group `pgid`. */
export function groupSnapshot(pgid: number): GroupSnapshot {
  return tableGroup(pgid) ?? probeGroup(pgid);
}

/** The process group of this process (undefined where it cannot be read). */
export function ownProcessGroup(): number | undefined {
  if (process.platform === 'win32') return undefined;
  const look = processSource().lookSync([process.pid]).get(process.pid);
  return look?.state === 'found' ? look.info.pgid : undefined;
}

/**
 * Watches one group during a teardown. `full()` scans the whole table (before each signal, and
 * to confirm the group is empty); `poll()` re-reads only the members seen last time, so waiting
 * out a grace costs O(members) instead of O(processes). A member that joins unseen (a fork since
 * the last full scan) is found by the full scan that confirms emptiness or precedes a signal.
 */
export class GroupWatch {
  private known: number[] = [];

  constructor(readonly pgid: number, private readonly exclude?: number) {}

  full(): GroupSnapshot {
    const snap = groupSnapshot(this.pgid);
    if (this.exclude !== undefined) {
      const members = snap.members.filter((p) => p !== this.exclude);
      snap.members = members;
      snap.otherUser = snap.otherUser.filter((p) => p !== this.exclude);
      if (snap.exact) snap.alive = members.length > 0;
    }
    this.known = snap.exact ? snap.members : [];
    return snap;
  }

  poll(): GroupSnapshot {
    if (process.platform === 'linux' && this.known.length > 0) {
      // An unreadable member counts as still there; the full scan below decides.
      const alive = this.known.filter((pid) => {
        const st = readPgidAndState(pid);
        return st === UNREADABLE || (st !== undefined && st.pgid === this.pgid && isLiveState(st.state));
      });
      if (alive.length > 0) {
        this.known = alive;
        return { members: alive, otherUser: [], alive: true, exact: true };
      }
      // Everyone seen is gone. ESRCH from the group means not even a zombie is left: empty,
      // without a full scan. Otherwise (zombies awaiting reaping, or a newcomer) scan.
      if (this.exclude === undefined && groupHasNoProcess(this.pgid)) {
        this.known = [];
        return { members: [], otherUser: [], alive: false, exact: true };
      }
    }
    return this.full();
  }
}
