// Linux: the process table from /proc (procfs.ts's readers). Synchronous on purpose: a pass
// over /proc costs about half of spawning `ps`, and kill paths need the blocking form anyway.
import { OWNER_ENV } from './ownerMarker';
import {
  type ProcRead, type ProcStat, readLinuxBootId, readProcCmdline, readProcEnvVar, readProcRss, readProcStatChecked, readProcUidChecked, scanStatsChecked,
} from './procfs';
import type { ListOptions, PidLook, ProcessInfo, ProcessList, ProcessSource } from './processSource';

/** A pass over /proc: stat, uid and command line of every process (plus marker and memory). */
export function scanProcSync(opts: ListOptions = {}): ProcessInfo[] {
  return listLinux(opts).rows;
}

function listLinux(opts: ListOptions): ProcessList {
  const scan = scanStatsChecked();
  let why = scan.why;
  if (opts.lean) return { rows: scan.stats.map(statInfo), complete: scan.complete, why };
  const rows: ProcessInfo[] = [];
  for (const stat of scan.stats) {
    const row = readFullRow(stat, opts);
    if (row.state !== 'found') {
      if (row.state === 'unknown') why ??= row.why; // 'gone': exited since its stat was read
      continue;
    }
    rows.push(row.value);
  }
  return why === undefined ? { rows, complete: true } : { rows, complete: false, why };
}

/**
 * One process beyond its stat: uid, command line, (with `readOwner`, default true, and only for
 * our own uid) the owner marker, (with `readMemory`) resident memory. Shared by the full scan
 * and the orphan scan, which reads this only for its candidates.
 */
export function readFullRow(stat: ProcStat, opts: ListOptions = {}): ProcRead<ProcessInfo> {
  const uid = readProcUidChecked(stat.pid);
  if (uid.state !== 'found') return uid;
  const info = statInfo(stat);
  const argv = readProcCmdline(stat.pid);
  info.uid = uid.value;
  info.cmdline = argv.length ? argv.join(' ') : `[${info.name}]`;
  if (argv.length) info.argv = argv;
  if ((opts.readOwner ?? true) && uid.value === process.getuid?.()) {
    const owner = readProcEnvVar(stat.pid, OWNER_ENV);
    if (owner !== undefined) info.owner = owner;
  }
  if (opts.readMemory) info.rss = readProcRss(stat.pid);
  return { state: 'found', value: info };
}

/** The row /proc/PID/stat alone gives (no uid, command line, marker or memory). */
export function statInfo(st: ProcStat): ProcessInfo {
  return { pid: st.pid, ppid: st.ppid, pgid: st.pgid, sid: st.sid, startTime: st.startTime, state: st.state, cpuTicks: st.cpuTicks, name: st.comm, cmdline: '' };
}

function lookLinux(pids: readonly number[]): Map<number, PidLook> {
  const out = new Map<number, PidLook>();
  for (const pid of pids) {
    const r = readProcStatChecked(pid);
    out.set(pid, r.state === 'found' ? { state: 'found', info: statInfo(r.value) } : r.state === 'gone' ? { state: 'gone', why: `no process ${pid}` } : r);
  }
  return out;
}

export const linuxSource: ProcessSource = {
  list: async (opts = {}) => listLinux(opts),
  listSync: (opts = {}) => listLinux(opts),
  look: async (pids) => lookLinux(pids),
  lookSync: lookLinux,
  bootId: readLinuxBootId,
};
