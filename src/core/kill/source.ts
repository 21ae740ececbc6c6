// Everything the teardown engine asks of the platform layer, in one file: list the live
// processes (pid, parent, group, start time), re-read one, whose it is, one environment
// variable, and whether a group still has any process. The engine never reads /proc or runs
// `ps` itself: the table comes from processSource() (processSource*.ts: one lean /proc pass on
// Linux, one `ps` on macOS), so this file is the only seam between the two.
import { Fingerprint, readFingerprint } from '../fingerprint';
import * as os from 'node:os';
import { OWNER_ENV } from '../ownerMarker';
import { catchesSignal, ProcRead, readProcEnvVar, readProcEnvVarChecked, readProcStatOwnedChecked, readProcUidChecked } from '../procfs';
import type { Spare } from './targets';
import { isLiveState, ProcessInfo } from '../processSource';
import { processSource } from '../processTable';

export { readFingerprint };

/** A live (non-zombie) process as one scan saw it. */
export interface Row {
  pid: number;
  ppid: number;
  pgid: number;
  /** Session id; undefined where the scan does not say (ps). */
  sid?: number;
  /** Same unit as Fingerprint.startTime; undefined where the scan has no start times. */
  startTime?: number;
}

export interface Table {
  rows: Row[];
  /** False when some process could not be read (EMFILE, …): "not listed" then proves nothing. */
  complete: boolean;
}

const linux = process.platform === 'linux';
const windows = process.platform === 'win32';

function rowOf(p: ProcessInfo): Row | undefined {
  if (p.pgid === undefined || !isLiveState(p.state)) return undefined;
  const row: Row = { pid: p.pid, ppid: p.ppid, pgid: p.pgid };
  if (p.sid !== undefined) row.sid = p.sid;
  if (p.startTime !== undefined) row.startTime = p.startTime;
  return row;
}

/** One pass over the process table (lean: on Linux /proc/PID/stat only); zombies left out. */
export function scanTable(): Table {
  if (windows) return { rows: [], complete: false };
  const t = processSource().listSync({ lean: true });
  return { rows: t.rows.flatMap((p) => rowOf(p) ?? []), complete: t.complete };
}

/** Whether one process can be re-read alone cheaply (else the engine rescans the table to poll). */
export const canReadOne = linux;

/** One process re-read: its row, 'gone' (proof: no such process, or a zombie), or 'unknown'. */
export function readOne(pid: number): Row | 'gone' | 'unknown' {
  const look = processSource().lookSync([pid]).get(pid);
  if (!look || look.state === 'unknown') return 'unknown';
  if (look.state === 'gone' || !isLiveState(look.info.state)) return 'gone';
  return rowOf(look.info) ?? 'unknown';
}

/** The fingerprint a row names, when the scan had start times and the boot id can be read. */
export function fingerprintOfRow(row: Row): Fingerprint | undefined {
  const bootId = processSource().bootId();
  return row.startTime === undefined || bootId === undefined ? undefined : { pid: row.pid, startTime: row.startTime, bootId };
}

/** The owner uid of a process: /proc on Linux, the platform's table elsewhere, unknown on Windows. */
export function uidOf(pid: number): ProcRead<number> {
  if (linux) return readProcUidChecked(pid);
  if (windows) return { state: 'unknown', why: 'no uids on Windows' };
  const look = processSource().lookSync([pid]).get(pid);
  if (look?.state === 'found' && look.info.uid !== undefined) return { state: 'found', value: look.info.uid };
  return look?.state === 'gone' ? { state: 'gone' } : { state: 'unknown', why: look?.state === 'unknown' ? look.why : `no uid for pid ${pid}` };
}

/**
 * A process's owner, its start time and whether it has a handler for `signal` now, in one read
 * (Linux: the mask of /proc/PID/stat, the owner of the file opened for it). `handles` undefined:
 * no mask to read — a caller must then assume it does. Elsewhere unknown.
 */
export function ownerAndHandler(pid: number, signal: NodeJS.Signals): ProcRead<{ uid: number; startTime: number; handles?: boolean }> {
  if (!linux) return { state: 'unknown', why: 'no signal masks on this platform' };
  const st = readProcStatOwnedChecked(pid);
  if (st.state !== 'found') return st;
  const handles = catchesSignal(st.value.stat, os.constants.signals[signal]);
  return { state: 'found', value: { uid: st.value.uid, startTime: st.value.stat.startTime, ...(handles === undefined ? {} : { handles }) } };
}

/** Whether environment variables of other processes can be read (the marker rule). */
export const canReadMarkers = linux;

/** One environment variable of a process of ours (undefined: absent or unreadable). */
export function markerOf(pid: number, name: string): string | undefined {
  return linux ? readProcEnvVar(pid, name) : undefined;
}

/**
 * Why `spare` keeps a process from a teardown, its owner marker read now — and a process whose
 * marker cannot be read now (EMFILE) is kept too: it could be another live window's.
 */
export function sparedWhy(spare: Spare, p: { pid: number; ppid: number }): string | undefined {
  const owner = linux ? readProcEnvVarChecked(p.pid, OWNER_ENV) : ({ state: 'found', value: undefined } as const);
  if (owner.state === 'unknown') return `its ${OWNER_ENV} cannot be read now (${owner.why}), so whose it is cannot be told`;
  return spare({ ...p, owner: owner.state === 'found' ? owner.value : undefined });
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
  const r = readOne(process.pid);
  return typeof r === 'object' ? r.pgid : undefined;
}
