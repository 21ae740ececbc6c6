// Linux /proc readers. Synchronous on purpose: they are a handful of small reads, and the
// synchronous form is what a deactivate()-time kill path and a re-check right before a
// signal need.
import { childProcess } from './childProcess';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { readKernelFile } from './kernelFile';
import { isLiveState } from './processSource';

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
  /**
   * Field 34: the signals it catches, a 64-bit mask in decimal, kept as text (a number loses
   * its low bits); undefined on a line that ends before it. See catchesSignal.
   */
  sigCatch?: string;
}

/**
 * Parses the text of /proc/PID/stat: the one parser of it in the code base. lifelineGuard.ts
 * runs this function's own text in its thread, so it uses nothing outside itself. `comm` may
 * contain spaces and parentheses, so the fields after it start after the *last* ')'.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // f[0] is field 3 (state); field N is f[N - 3]. Fields after 34 are never split off.
  const f = text.slice(close + 2).split(' ', 32);
  const stat = {
    pid: Number(text.slice(0, open)),
    comm: text.slice(open + 1, close),
    state: f[0] || '?',
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    sid: Number(f[3]),
    startTime: Number(f[19]),
    cpuTicks: Number(f[11]) + Number(f[12]),
    ...(/^[0-9]+$/.test(f[31] ?? '') ? { sigCatch: f[31] } : {}),
  };
  const ok = Number.isInteger(stat.pid) && stat.pid > 0 && Number.isInteger(stat.ppid) && Number.isInteger(stat.pgid) && Number.isInteger(stat.startTime);
  return ok ? stat : undefined;
}

/** Whether the process had a handler for signal `signo` (1–63) at the read; undefined where stat did not say. */
export function catchesSignal(stat: ProcStat, signo: number): boolean | undefined {
  if (stat.sigCatch === undefined || !Number.isInteger(signo) || signo < 1 || signo > 63) return undefined;
  return ((BigInt(stat.sigCatch) >> BigInt(signo - 1)) & 1n) === 1n;
}

/**
 * The one rule for what a failed read of /proc/PID/… proves about process PID. ENOENT (no such
 * entry) and ESRCH (it exited while the file was open) say it is gone. Everything else —
 * EMFILE/ENFILE (our fd table is full), ENOMEM, EAGAIN, EACCES, EIO, … — is about the reader,
 * not the process: "unknown", never death. The blocked-loop guard thread gets this list as data.
 */
export const GONE_ERRNO_CODES: readonly string[] = ['ENOENT', 'ESRCH'];

/** Why a read failed, for logs: `EMFILE: too many open files, open '/proc/42/stat'`. */
function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export type ProcRead<T> =
  | { state: 'found'; value: T }
  /** Proof that no process PID exists. */
  | { state: 'gone' }
  /** The read failed in a way that proves nothing (see GONE_ERRNO_CODES). */
  | { state: 'unknown'; why: string };

/**
 * What a failed read of /proc/`pid`/… means. ENOENT is corroborated by kill(pid, 0), which
 * needs no descriptor: a pid /proc does not show (hidepid, another pid namespace) but the
 * kernel still knows is unknown, not gone.
 */
export function classifyProcError(pid: number, e: unknown): { state: 'gone' } | { state: 'unknown'; why: string } {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined || !GONE_ERRNO_CODES.includes(code)) return { state: 'unknown', why: errorText(e) };
  if (code === 'ENOENT') {
    try {
      process.kill(pid, 0);
      return { state: 'unknown', why: `/proc/${pid} is missing but pid ${pid} exists` };
    } catch (k) {
      if ((k as NodeJS.ErrnoException).code !== 'ESRCH') {
        return { state: 'unknown', why: `/proc/${pid} is missing but kill(${pid}, 0) says ${(k as NodeJS.ErrnoException).code}` };
      }
    }
  }
  return { state: 'gone' };
}

/**
 * Bound of one /proc/PID file: an argv or environment is at most a quarter of the stack limit at
 * exec (2 MiB by default); past this, the read fails (unknown, never a death) instead of growing.
 */
export const MAX_PROC_FILE_BYTES = 8 << 20;

/**
 * The bytes of /proc/`pid`/`file` through the one kernel-file reader: a view, valid only until
 * the next read. Throws as fs does, and past MAX_PROC_FILE_BYTES.
 */
function readProcBytes(pid: number | 'self', file: string, owner?: { uid?: number }): Buffer {
  const bytes = readKernelFile(`/proc/${pid}/${file}`, { maxBytes: MAX_PROC_FILE_BYTES, ...(owner ? { owner } : {}) });
  if (bytes === 'too-large') throw new Error(`/proc/${pid}/${file} is larger than ${MAX_PROC_FILE_BYTES} bytes`);
  return bytes;
}

/** The text of /proc/`pid`/`file` (utf8). Throws as fs does. */
export function readProcText(pid: number | 'self', file: string): string {
  return readProcBytes(pid, file).toString('utf8');
}

/** /proc/PID/stat with what a failure proves: found, gone (proof), or unknown. */
export function readProcStatChecked(pid: number, owner?: { uid?: number }): ProcRead<ProcStat> {
  let text: string;
  try {
    text = readProcBytes(pid, 'stat', owner).toString('utf8');
  } catch (e) {
    return classifyProcError(pid, e);
  }
  const stat = parseProcStat(text);
  return stat ? { state: 'found', value: stat } : { state: 'unknown', why: `unparsable /proc/${pid}/stat: ${JSON.stringify(text.slice(0, 80))}` };
}

/**
 * /proc/PID/stat and the owner of /proc/PID (readProcUidChecked's answer: the kernel gives the
 * files in /proc/PID the directory's owner) in one open — where both are needed of hundreds of
 * processes at once (the host-gone end's member check).
 */
export function readProcStatOwnedChecked(pid: number): ProcRead<{ stat: ProcStat; uid: number }> {
  const owner: { uid?: number } = {};
  const r = readProcStatChecked(pid, owner);
  if (r.state !== 'found') return r;
  return owner.uid === undefined ? { state: 'unknown', why: `no owner for /proc/${pid}/stat` } : { state: 'found', value: { stat: r.value, uid: owner.uid } };
}

/**
 * /proc/PID/stat, or undefined when it cannot be read — for a process that is gone AND for a
 * failed read. Fine for scans and display; anything that concludes "dead" from it must use
 * readProcStatChecked (or fingerprint.ts's livenessOf) instead.
 */
export function readProcStat(pid: number): ProcStat | undefined {
  const r = readProcStatChecked(pid);
  return r.state === 'found' ? r.value : undefined;
}

/** Pids of /proc's numeric entries, or undefined when /proc cannot be listed (EMFILE, …). */
export function procPidsChecked(): number[] | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const pids: number[] = [];
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(name));
  }
  return pids;
}

/**
 * /proc/PID/stat of every process, and whether the scan is complete: not when /proc could not be
 * listed or some stat could not be read for a reason other than its exit (EMFILE, …) — then
 * "not in the scan" proves nothing about a process (`why` says what failed first).
 */
export function scanStatsChecked(): { stats: ProcStat[]; complete: boolean; why?: string } {
  const pids = procPidsChecked();
  if (!pids) return { stats: [], complete: false, why: 'cannot list /proc' };
  const stats: ProcStat[] = [];
  let why: string | undefined;
  for (const pid of pids) {
    const r = readProcStatChecked(pid);
    if (r.state === 'found') stats.push(r.value);
    else if (r.state === 'unknown') why ??= r.why;
  }
  return why === undefined ? { stats, complete: true } : { stats, complete: false, why };
}

/** scanStatsChecked of live (non-zombie) processes only. */
export function scanLiveStatsChecked(): { stats: ProcStat[]; complete: boolean } {
  const { stats, complete } = scanStatsChecked();
  return { stats: stats.filter((s) => isLiveState(s.state)), complete };
}

/** A lean scan: /proc/PID/stat of every live (non-zombie) process, nothing else. */
export function scanLiveStats(): ProcStat[] {
  return scanLiveStatsChecked().stats;
}

let cachedBootId: string | undefined;

/** The kernel's boot id, or undefined while it cannot be read (a failure is not cached). */
export function readLinuxBootId(): string | undefined {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      return undefined; // EMFILE at start-up must not become a wrong boot id for the whole run
    }
  }
  return cachedBootId;
}

/** The kernel's boot id; distinguishes start times across reboots ('unknown' while unreadable). */
export function linuxBootId(): string {
  return readLinuxBootId() ?? 'unknown';
}

/** The owning uid of /proc/PID with what a failure proves (see classifyProcError). */
export function readProcUidChecked(pid: number): ProcRead<number> {
  try {
    return { state: 'found', value: statSync(`/proc/${pid}`).uid };
  } catch (e) {
    return classifyProcError(pid, e);
  }
}

/** The pid namespace a process is in (`pid:[4026531836]`), with what a failure proves. */
export function readProcPidNamespaceChecked(pid: number | 'self'): ProcRead<string> {
  try {
    return { state: 'found', value: readlinkSync(`/proc/${pid}/ns/pid`) };
  } catch (e) {
    return classifyProcError(pid === 'self' ? process.pid : pid, e);
  }
}

/**
 * Why `pid` cannot be judged from pid namespace `ours` (our own, readProcPidNamespaceChecked('self')):
 * it is in another one (a container's: the pids it carries or names are that namespace's), or its
 * namespace cannot be read; said after the pid ("1234 is in …"). Undefined when it is in ours —
 * or gone: nothing left to misjudge.
 */
export function pidNamespaceProblem(pid: number, ours: string): string | undefined {
  const ns = readProcPidNamespaceChecked(pid);
  if (ns.state === 'unknown') return `${pid}: its pid namespace cannot be read (${ns.why})`;
  if (ns.state === 'found' && ns.value !== ours) return `${pid} is in another pid namespace (${ns.value}, ours ${ours})`;
  return undefined;
}

/** NUL-separated argv; empty for kernel threads and zombies. */
export function readProcCmdline(pid: number): string[] {
  try {
    const raw = readProcText(pid, 'cmdline');
    const parts = raw.split('\0');
    if (parts[parts.length - 1] === '') parts.pop();
    return parts;
  } catch {
    return [];
  }
}

/** One variable from /proc/PID/environ (readable only for our own processes); undefined: absent or unreadable. */
export function readProcEnvVar(pid: number, name: string): string | undefined {
  const r = readProcEnvVarChecked(pid, name);
  return r.state === 'found' ? r.value : undefined;
}

/**
 * The same with what a failure proves: `found` with undefined is a process without the variable;
 * a failed read (EMFILE, EACCES: another user's) is 'unknown' — where an absent marker would let
 * a process be signalled (a spare rule), that must not pass for "it has none".
 */
export function readProcEnvVarChecked(pid: number, name: string): ProcRead<string | undefined> {
  let raw: Buffer;
  try {
    raw = readProcBytes(pid, 'environ'); // a view: searched now, before any other read
  } catch (e) {
    return classifyProcError(pid, e);
  }
  const needle = Buffer.from(`${name}=`);
  let at = 0;
  while (at < raw.length) {
    let end = raw.indexOf(0, at);
    if (end < 0) end = raw.length;
    if (end - at >= needle.length && raw.compare(needle, 0, needle.length, at, at + needle.length) === 0) {
      return { state: 'found', value: raw.toString('utf8', at + needle.length, end) };
    }
    at = end + 1;
  }
  return { state: 'found', value: undefined };
}

/** Resident set size in bytes from /proc/PID/statm (field 2, in pages). */
export function readProcRss(pid: number): number | undefined {
  try {
    const pages = Number(readProcText(pid, 'statm').split(' ')[1]);
    return Number.isFinite(pages) ? pages * pageSize() : undefined;
  } catch {
    return undefined;
  }
}

/** The summed RSS of `pids`, and how many of them could be read (the others exited meanwhile, or are unreadable). */
export function sumProcRss(pids: readonly number[]): { bytes: number; read: number } {
  let bytes = 0;
  let read = 0;
  for (const pid of pids) {
    const rss = readProcRss(pid);
    if (rss === undefined) continue;
    bytes += rss;
    read++;
  }
  return { bytes, read };
}

const confCache = new Map<string, number>();

/** A `getconf` value, read once (a spawn); `fallback` when it cannot be read. */
function sysconf(name: string, fallback: number): number {
  let v = confCache.get(name);
  if (v === undefined) {
    v = fallback;
    try {
      const n = Number(childProcess().execFileSync('getconf', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
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

