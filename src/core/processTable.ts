// A snapshot of the process table. Linux reads /proc synchronously (about half the time of
// spawning ps); other platforms go through ps-list.
import { Fingerprint, Liveness, livenessOf } from './fingerprint';
import { linuxBootId, procPids, readLinuxBootId, readProcCmdline, readProcUid, readProcEnvVar, readProcRss, readProcStat } from './procfs';
import { OWNER_ENV } from './ownerMarker';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Process group id; undefined where the platform does not expose it. */
  pgid?: number;
  uid?: number;
  /** Same unit as Fingerprint.startTime on this platform (undefined when unknown). */
  startTime?: number;
  state?: string;
  /** Short name (comm). */
  name: string;
  /** Full command line, arguments joined by spaces. */
  cmdline: string;
  /** The arguments as the process holds them (Linux); elsewhere only `cmdline` is known. */
  argv?: string[];
  /** GATEWAY_WARDEN_OWNER from the environment (Linux, same uid only). */
  owner?: string;
  /** Resident memory in bytes, when known. */
  rss?: number;
  /** CPU time used so far (user + system), in clock ticks (Linux). */
  cpuTicks?: number;
}

export interface ProcessTableOptions {
  /** Read the owner marker from /proc/PID/environ (default true). */
  readOwner?: boolean;
  /** Read resident memory (default false: one more file per process). */
  readMemory?: boolean;
  /** Force a backend (benchmarks and tests of the portable path); default: /proc on Linux. */
  backend?: 'proc' | 'ps-list';
}

/**
 * Whether `fp` is alive, judged by a snapshot where it can prove it (same start time; a zombie
 * or another start time is dead), else by a fresh look: a pid missing from a snapshot may only
 * have been unreadable (EMFILE, …) when it was taken, and ps-list rows have no start times.
 */
export function livenessInSnapshot(byPid: ReadonlyMap<number, ProcessInfo>, fp: Fingerprint): Liveness {
  const p = byPid.get(fp.pid);
  if (p?.state === 'Z' || p?.state === 'X') return 'dead';
  const bootId = process.platform === 'linux' ? readLinuxBootId() : undefined;
  if (p?.startTime !== undefined && bootId !== undefined) return p.startTime === fp.startTime && fp.bootId === bootId ? 'alive' : 'dead';
  return livenessOf(fp).state;
}

export function fingerprintOfInfo(p: ProcessInfo): Fingerprint | undefined {
  if (p.startTime === undefined) return undefined;
  return { pid: p.pid, startTime: p.startTime, bootId: process.platform === 'linux' ? linuxBootId() : '' };
}

/** Linux: a synchronous scan of /proc. */
export function scanProcSync(opts: ProcessTableOptions = {}): ProcessInfo[] {
  const readOwner = opts.readOwner ?? true;
  const myUid = process.getuid?.();
  const out: ProcessInfo[] = [];
  for (const pid of procPids()) {
    const stat = readProcStat(pid);
    if (!stat) continue; // exited between readdir and read
    const uid = readProcUid(pid);
    if (uid === undefined) continue; // exited meanwhile
    const argv = readProcCmdline(pid);
    const info: ProcessInfo = {
      pid,
      ppid: stat.ppid,
      pgid: stat.pgid,
      uid,
      startTime: stat.startTime,
      state: stat.state,
      cpuTicks: stat.cpuTicks,
      name: stat.comm,
      cmdline: argv.length ? argv.join(' ') : `[${stat.comm}]`,
    };
    if (argv.length) info.argv = argv;
    if (readOwner && uid === myUid) {
      const owner = readProcEnvVar(pid, OWNER_ENV);
      if (owner !== undefined) info.owner = owner;
    }
    if (opts.readMemory) info.rss = readProcRss(pid);
    out.push(info);
  }
  return out;
}

/** The process table on any platform. */
export async function listProcesses(opts: ProcessTableOptions = {}): Promise<ProcessInfo[]> {
  const backend = opts.backend ?? (process.platform === 'linux' ? 'proc' : 'ps-list');
  if (backend === 'proc') return scanProcSync(opts);
  // ps-list is ESM-only; loaded lazily so Linux never pays for it.
  const { default: psList } = await import('ps-list');
  const list = await psList({ all: true });
  return list.map((p) => ({
    pid: p.pid,
    ppid: p.ppid,
    uid: p.uid,
    name: p.name,
    cmdline: p.cmd ?? p.name,
  }));
}

/** Children by parent pid. */
export function childrenIndex(table: readonly ProcessInfo[]): Map<number, ProcessInfo[]> {
  const idx = new Map<number, ProcessInfo[]>();
  for (const p of table) {
    const list = idx.get(p.ppid);
    if (list) list.push(p);
    else idx.set(p.ppid, [p]);
  }
  return idx;
}

/** Every descendant of `pid` in the snapshot, parents before children. */
export function descendantsOf(table: readonly ProcessInfo[], pid: number): ProcessInfo[] {
  const idx = childrenIndex(table);
  const out: ProcessInfo[] = [];
  const queue = [pid];
  const seen = new Set<number>([pid]);
  while (queue.length) {
    for (const child of idx.get(queue.shift()!) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}
