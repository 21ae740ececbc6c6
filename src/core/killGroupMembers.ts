// Who is still in a process group. Polled many times per teardown, so the Linux path reads only
// /proc/PID/stat, into one reused buffer (no per-file fstat, no per-process allocation beyond
// the pid's name), and stats /proc/PID for the uid of members only.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { GONE_ERRNO_CODES, procPidsChecked, readProcUidChecked } from './procfs';

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

const statBuf = Buffer.alloc(1024);

/** A read that proves nothing (EMFILE, …): the process may or may not be a member. */
const UNREADABLE = 'unreadable';

/**
 * Linux: the pgid and state of one process from /proc/PID/stat; undefined when it is gone
 * (procfs.ts's GONE_ERRNO_CODES), UNREADABLE when the read failed otherwise.
 */
function readPgidAndState(pid: string): { pgid: number; state: number } | undefined | typeof UNREADABLE {
  const failed = (e: unknown) => (GONE_ERRNO_CODES.includes((e as NodeJS.ErrnoException).code ?? '') ? undefined : UNREADABLE);
  let fd: number;
  try {
    fd = fs.openSync(`/proc/${pid}/stat`, 'r');
  } catch (e) {
    return failed(e);
  }
  let n: number;
  try {
    n = fs.readSync(fd, statBuf, 0, statBuf.length, 0);
  } catch (e) {
    return failed(e);
  } finally {
    fs.closeSync(fd);
  }
  // comm may contain ') ', so find the last ')'; then: state ppid pgid ...
  const close = statBuf.lastIndexOf(0x29, n - 1);
  if (close < 0 || close + 2 >= n) return undefined;
  const state = statBuf[close + 2];
  let at = close + 4; // skip ") S "
  while (at < n && statBuf[at] !== 0x20) at++; // skip ppid
  at++;
  let pgid = 0;
  for (; at < n; at++) {
    const c = statBuf[at];
    if (c < 0x30 || c > 0x39) break;
    pgid = pgid * 10 + (c - 0x30);
  }
  return { pgid, state };
}

const ZOMBIE = 0x5a; // 'Z'
const DEAD = 0x58; // 'X'

/** Throws when the members cannot all be known (then groupSnapshot falls back to a probe). */
function linuxGroup(pgid: number): GroupSnapshot {
  const myUid = process.getuid?.();
  const members: number[] = [];
  const otherUser: number[] = [];
  const pids = procPidsChecked();
  if (!pids) throw new Error('cannot list /proc');
  for (const pid of pids) {
    const name = String(pid);
    const st = readPgidAndState(name);
    if (st === UNREADABLE) throw new Error(`cannot read /proc/${name}/stat`);
    if (!st || st.pgid !== pgid || st.state === ZOMBIE || st.state === DEAD) continue;
    const uid = readProcUidChecked(pid);
    if (uid.state === 'gone') continue; // exited meanwhile
    if (uid.state === 'unknown') throw new Error(`cannot read the owner of pid ${pid}: ${uid.why}`);
    members.push(pid);
    if (myUid !== undefined && uid.value !== myUid) otherUser.push(pid);
  }
  return { members, otherUser, alive: members.length > 0, exact: true };
}

/** Other POSIX systems (macOS): one `ps` call. */
function psGroup(pgid: number): GroupSnapshot | undefined {
  let out: string;
  try {
    out = execFileSync('ps', ['-A', '-o', 'pid=,pgid=,uid=,stat='], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch {
    return undefined;
  }
  const myUid = process.getuid?.();
  const members: number[] = [];
  const otherUser: number[] = [];
  for (const line of out.split('\n')) {
    const [pid, pg, uid, stat] = line.trim().split(/\s+/);
    if (Number(pg) !== pgid || !stat || stat.startsWith('Z')) continue;
    members.push(Number(pid));
    if (myUid !== undefined && Number(uid) !== myUid) otherUser.push(Number(pid));
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
  if (process.platform === 'linux') {
    try {
      return linuxGroup(pgid);
    } catch {
      return probeGroup(pgid);
    }
  }
  return psGroup(pgid) ?? probeGroup(pgid);
}

/** The process group of this process (undefined where it cannot be read). */
export function ownProcessGroup(): number | undefined {
  if (process.platform === 'win32') return undefined;
  if (process.platform === 'linux') {
    const st = readPgidAndState(String(process.pid));
    if (st && st !== UNREADABLE) return st.pgid;
  }
  try {
    const out = execFileSync('ps', ['-o', 'pgid=', '-p', String(process.pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return Number(out) || undefined;
  } catch {
    return undefined;
  }
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
        const st = readPgidAndState(String(pid));
        return st === UNREADABLE || (st !== undefined && st.pgid === this.pgid && st.state !== ZOMBIE && st.state !== DEAD);
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
