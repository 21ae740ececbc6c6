// Everything the teardown engine asks of the platform layer, in one file: list the live
// processes (pid, parent, group, start time), re-read one, whose it is, one environment
// variable, and whether a group still has any process. The engine never reads /proc or runs
// `ps` itself, so the platform layer can change underneath with this file as the only seam.
import { execFile, execFileSync } from 'node:child_process';
import { Fingerprint, readFingerprint } from '../fingerprint';
import { ProcRead, readLinuxBootId, readProcEnvVar, readProcStatChecked, readProcUidChecked, scanLiveStatsChecked } from '../procfs';

export { readFingerprint };

/** A live (non-zombie) process as one scan saw it. */
export interface Row {
  pid: number;
  ppid: number;
  pgid: number;
  /** Session id; undefined where the scan does not say (ps). */
  sid?: number;
  /** Same unit as Fingerprint.startTime; undefined where the scan has no start times (ps). */
  startTime?: number;
}

export interface Table {
  rows: Row[];
  /** False when some process could not be read (EMFILE, …): "not listed" then proves nothing. */
  complete: boolean;
}

const linux = process.platform === 'linux';
const windows = process.platform === 'win32';

/** One pass over the process table. */
export function scanTable(): Table {
  if (linux) {
    const { stats, complete } = scanLiveStatsChecked();
    return { rows: stats.map((s) => ({ pid: s.pid, ppid: s.ppid, pgid: s.pgid, sid: s.sid, startTime: s.startTime })), complete };
  }
  if (windows) return { rows: [], complete: false };
  return psTable();
}

/** Other POSIX systems (macOS): one `ps` call; zombies left out. */
function psTable(): Table {
  let out: string;
  try {
    out = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,pgid=,stat='], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 16 * 1024 * 1024, timeout: 15_000 });
  } catch {
    return { rows: [], complete: false };
  }
  const rows: Row[] = [];
  for (const line of out.split('\n')) {
    const [pid, ppid, pgid, stat] = line.trim().split(/\s+/);
    if (!stat || stat.startsWith('Z')) continue;
    rows.push({ pid: Number(pid), ppid: Number(ppid), pgid: Number(pgid) });
  }
  return { rows, complete: true };
}

/** Whether one process can be re-read alone (else the engine rescans the table to poll). */
export const canReadOne = linux;

/** One process re-read: its row, 'gone' (proof: no such process, or a zombie), or 'unknown'. */
export function readOne(pid: number): Row | 'gone' | 'unknown' {
  const r = readProcStatChecked(pid);
  if (r.state === 'gone') return 'gone';
  if (r.state === 'unknown') return 'unknown';
  if (r.value.state === 'Z' || r.value.state === 'X') return 'gone';
  return { pid, ppid: r.value.ppid, pgid: r.value.pgid, sid: r.value.sid, startTime: r.value.startTime };
}

/** The fingerprint a row names, when the scan had start times and the boot id can be read. */
export function fingerprintOfRow(row: Row): Fingerprint | undefined {
  const bootId = linux ? readLinuxBootId() : undefined;
  return row.startTime === undefined || bootId === undefined ? undefined : { pid: row.pid, startTime: row.startTime, bootId };
}

/** The owner uid of a process: /proc on Linux, `ps` on other POSIX systems, unknown on Windows. */
export function uidOf(pid: number): ProcRead<number> {
  if (linux) return readProcUidChecked(pid);
  if (windows) return { state: 'unknown', why: 'no uids on Windows' };
  let out: string;
  try {
    out = execFileSync('ps', ['-o', 'uid=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 }).trim();
  } catch (e) {
    const err = e as { status?: number | null; signal?: string | null; code?: unknown; stdout?: unknown };
    // ps ran and exited 1 with nothing listed: no such process. Anything else proves nothing.
    if (err.status === 1 && !err.signal && err.code === undefined && String(err.stdout ?? '').trim() === '') return { state: 'gone' };
    return { state: 'unknown', why: `ps -o uid= -p ${pid} failed: ${(e as Error).message}` };
  }
  const uid = Number(out);
  return out && Number.isInteger(uid) ? { state: 'found', value: uid } : { state: 'unknown', why: `cannot parse ps uid output ${JSON.stringify(out)}` };
}

/** Whether environment variables of other processes can be read (the marker rule). */
export const canReadMarkers = linux;

/** One environment variable of a process of ours (undefined: absent or unreadable). */
export function markerOf(pid: number, name: string): string | undefined {
  return linux ? readProcEnvVar(pid, name) : undefined;
}

/** Proof that a group has no process at all, not even a zombie: kill(-pgid, 0) says ESRCH. Needs no descriptor. */
export function groupIsEmpty(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The live members of a group, or undefined when they cannot all be listed now. */
export function groupMembers(pgid: number): number[] | undefined {
  if (groupIsEmpty(pgid)) return [];
  const t = scanTable();
  return t.complete ? t.rows.filter((r) => r.pgid === pgid).map((r) => r.pid) : undefined;
}

/** The process group of this process (undefined where it cannot be read, and on Windows). */
export function ownProcessGroup(): number | undefined {
  if (windows) return undefined;
  if (linux) {
    const r = readOne(process.pid);
    if (typeof r === 'object') return r.pgid;
  }
  try {
    const n = Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(process.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 }).trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Windows: no groups, no signals; `taskkill /T /F` walks the tree by parent pid. Resolves to an error, or undefined. */
export function windowsTreeKill(pid: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('taskkill', ['/T', '/F', '/PID', String(pid)], { windowsHide: true, timeout: 30_000 }, (err, _stdout, stderr) => {
      resolve(err ? `taskkill failed: ${String(stderr).trim() || err.message}` : undefined);
    });
  });
}
