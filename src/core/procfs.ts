// Linux /proc readers. Synchronous on purpose: they are a handful of small reads, and the
// synchronous form is what a deactivate()-time kill path and a re-check right before a
// signal need.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface ProcStat {
  pid: number;
  comm: string;
  /** Single-letter state: R, S, D, Z (zombie), T, t, X, I … */
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  /** Field 22: start time after boot, in raw clock ticks (never converted to wall clock). */
  startTime: number;
  /** Fields 14 + 15: CPU time used so far (user + system), in clock ticks. */
  cpuTicks: number;
}

/**
 * Parses the text of /proc/PID/stat. `comm` may contain spaces and parentheses, so the fields
 * after it are found by splitting at the *last* ')'.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const num = (field: number) => Number(rest[field - 3]);
  const stat: ProcStat = {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: num(4),
    pgid: num(5),
    sid: num(6),
    startTime: num(22),
    cpuTicks: num(14) + num(15),
  };
  if (!Number.isInteger(pid) || !Number.isFinite(stat.startTime) || !Number.isFinite(stat.ppid)) {
    return undefined;
  }
  return stat;
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Pids of /proc's numeric entries (empty where /proc cannot be read). */
export function procPids(): number[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(name));
  }
  return pids;
}

export function isLiveState(state: string): boolean {
  return state !== 'Z' && state !== 'X';
}

/** A lean scan: /proc/PID/stat of every live (non-zombie) process, nothing else. */
export function scanLiveStats(): ProcStat[] {
  const rows: ProcStat[] = [];
  for (const pid of procPids()) {
    const st = readProcStat(pid);
    if (st && isLiveState(st.state)) rows.push(st);
  }
  return rows;
}

let cachedBootId: string | undefined;

/** The kernel's boot id; distinguishes start times across reboots. */
export function linuxBootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = 'unknown';
    }
  }
  return cachedBootId;
}

/** The owning uid of /proc/PID (the process's real uid as the kernel exposes it). */
export function readProcUid(pid: number): number | undefined {
  try {
    return fs.statSync(`/proc/${pid}`).uid;
  } catch {
    return undefined;
  }
}

/** NUL-separated argv; empty for kernel threads and zombies. */
export function readProcCmdline(pid: number): string[] {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const parts = raw.split('\0');
    if (parts[parts.length - 1] === '') parts.pop();
    return parts;
  } catch {
    return [];
  }
}

/** One variable from /proc/PID/environ (readable only for our own processes). */
export function readProcEnvVar(pid: number, name: string): string | undefined {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
  const needle = Buffer.from(`${name}=`);
  let at = 0;
  while (at < raw.length) {
    let end = raw.indexOf(0, at);
    if (end < 0) end = raw.length;
    if (end - at >= needle.length && raw.compare(needle, 0, needle.length, at, at + needle.length) === 0) {
      return raw.toString('utf8', at + needle.length, end);
    }
    at = end + 1;
  }
  return undefined;
}

/** Resident set size in bytes from /proc/PID/statm (field 2, in pages). */
export function readProcRss(pid: number): number | undefined {
  try {
    const pages = Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return Number.isFinite(pages) ? pages * pageSize() : undefined;
  } catch {
    return undefined;
  }
}

const confCache = new Map<string, number>();

/** A `getconf` value, read once (a spawn); `fallback` when it cannot be read. */
function sysconf(name: string, fallback: number): number {
  let v = confCache.get(name);
  if (v === undefined) {
    v = fallback;
    try {
      const n = Number(execFileSync('getconf', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (Number.isInteger(n) && n > 0) v = n;
    } catch {
      // no getconf: the fallback is what common Linux systems use
    }
    confCache.set(name, v);
  }
  return v;
}

/** Clock ticks per second (USER_HZ), the unit of /proc/PID/stat times. */
export function clockTicksPerSecond(): number {
  return sysconf('CLK_TCK', 100);
}

/** Memory page size, the unit of /proc/PID/statm (4 KiB on x86, up to 64 KiB on arm64). */
export function pageSize(): number {
  return sysconf('PAGESIZE', 4096);
}

