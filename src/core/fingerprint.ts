// A process fingerprint: (pid, start time, boot id). A pid alone is reused by the kernel; the
// start time read from the same source twice is stable, so the pair names one process.
import { execFileSync } from 'node:child_process';
import { readLinuxBootId, readProcStatChecked } from './procfs';

export interface Fingerprint {
  pid: number;
  /**
   * Linux: clock ticks since boot (/proc/PID/stat field 22), exact.
   * macOS: seconds since the epoch from `ps -o lstart=` (1 s resolution).
   * Windows: milliseconds since the epoch of the process creation time.
   */
  startTime: number;
  bootId: string;
}

export class UnsupportedPlatformError extends Error {
  constructor(what: string) {
    super(`${what} is not supported on ${process.platform}`);
    this.name = 'UnsupportedPlatformError';
  }
}

/**
 * Whether a process is alive, and the proof. Death needs proof: no such process (ENOENT/ESRCH,
 * or a `ps` that ran and did not list it), a zombie, or another start time / boot id. A look
 * that failed (EMFILE, EACCES, ENOMEM, a `ps` that could not be spawned or timed out, …) is
 * 'unknown' — callers retry later, and kill paths refuse.
 */
export type Liveness = 'alive' | 'dead' | 'unknown';

/** A fresh look at one pid. */
export type FingerprintRead =
  | { state: 'alive'; fingerprint: Fingerprint }
  | { state: 'dead'; why: string }
  | { state: 'unknown'; why: string };

/** The fingerprint of the live process `pid`, proof that there is none, or why nobody can tell. */
export function readFingerprint(pid: number): FingerprintRead {
  if (!Number.isInteger(pid) || pid <= 0) return { state: 'dead', why: `${String(pid)} is not a pid` };
  switch (process.platform) {
    case 'linux':
      return linuxFingerprint(pid);
    case 'darwin':
      return darwinFingerprint(pid);
    case 'win32':
      return windowsFingerprint(pid);
    default:
      throw new UnsupportedPlatformError('Process fingerprints');
  }
}

/**
 * The fingerprint of a live process, or undefined when there is none (gone, zombie) or when it
 * cannot be read now. Use readFingerprint where the difference matters.
 */
export function fingerprintOf(pid: number): Fingerprint | undefined {
  const r = readFingerprint(pid);
  return r.state === 'alive' ? r.fingerprint : undefined;
}

export interface LivenessCheck {
  state: Liveness;
  /** Why it is dead or unknown ('' when alive). */
  why: string;
}

/**
 * Whether the recorded fingerprint still names a live process: 'alive' (same pid, start time and
 * boot), 'dead' (proof: gone, zombie, or the pid now belongs to another process), or 'unknown'.
 */
export function livenessOf(recorded: Fingerprint): LivenessCheck {
  let now: FingerprintRead;
  try {
    now = readFingerprint(recorded.pid);
  } catch (e) {
    return { state: 'unknown', why: (e as Error).message };
  }
  if (now.state !== 'alive') return now;
  const fp = now.fingerprint;
  if (fp.bootId !== recorded.bootId) return { state: 'dead', why: `pid ${recorded.pid} was recorded in another boot (${recorded.bootId}, now ${fp.bootId})` };
  if (fp.startTime !== recorded.startTime) return { state: 'dead', why: `pid ${recorded.pid} now belongs to another process (start time ${fp.startTime}, recorded ${recorded.startTime})` };
  return { state: 'alive', why: '' };
}

/** True only when the recorded process is provably alive (what a signal needs). Unknown is false. */
export function isSameProcess(recorded: Fingerprint): boolean {
  return livenessOf(recorded).state === 'alive';
}

/** True only when the recorded process is provably dead (what "it is gone, act on it" needs). Unknown is false. */
export function isGone(recorded: Fingerprint): boolean {
  return livenessOf(recorded).state === 'dead';
}

function linuxFingerprint(pid: number): FingerprintRead {
  const r = readProcStatChecked(pid);
  if (r.state === 'gone') return { state: 'dead', why: `no process ${pid}` };
  if (r.state === 'unknown') return r;
  if (r.value.state === 'Z' || r.value.state === 'X') return { state: 'dead', why: `pid ${pid} is a zombie` };
  const bootId = readLinuxBootId();
  if (bootId === undefined) return { state: 'unknown', why: 'cannot read the boot id' };
  return { state: 'alive', fingerprint: { pid, startTime: r.value.startTime, bootId } };
}

let self: Fingerprint | undefined;

/** This process's own fingerprint (cached: it cannot change). */
export function selfFingerprint(): Fingerprint {
  if (!self) {
    const fp = fingerprintOf(process.pid);
    if (!fp) throw new Error('cannot read this process\'s own fingerprint');
    self = fp;
  }
  return self;
}

export function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.pid === b.pid && a.startTime === b.startTime && a.bootId === b.bootId;
}

/** `pid:startTime:bootId` — the form used in argv, the environment marker and file names. */
export function formatFingerprint(fp: Fingerprint): string {
  return `${fp.pid}:${fp.startTime}:${fp.bootId}`;
}

export function parseFingerprint(text: string | undefined): Fingerprint | undefined {
  if (!text) return undefined;
  const m = /^(\d+):(\d+):([A-Za-z0-9-]+)$/.exec(text.trim());
  if (!m) return undefined;
  const pid = Number(m[1]);
  const startTime = Number(m[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !Number.isSafeInteger(startTime)) return undefined;
  return { pid, startTime, bootId: m[3] };
}

/** Checks that a value read from JSON is a fingerprint. */
export function isFingerprint(v: unknown): v is Fingerprint {
  const o = v as Fingerprint;
  return (
    typeof o === 'object' && o !== null &&
    Number.isSafeInteger(o.pid) && o.pid > 0 &&
    Number.isSafeInteger(o.startTime) && typeof o.bootId === 'string'
  );
}

// ---- macOS --------------------------------------------------------------------------------

/** A `ps` or PowerShell run gets this long; a timeout proves nothing about the process. */
const TOOL_TIMEOUT_MS = 15_000;

/** Why running a tool proved nothing (it could not be spawned, was killed, or timed out), or undefined when it ran and exited. */
function toolFailure(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException & { status?: number | null; signal?: string | null };
  if (typeof err.code === 'string') return `${err.code}: ${err.message}`; // spawn failed (EAGAIN, EMFILE, ENOMEM, ENOENT) or ETIMEDOUT
  if (err.signal) return `killed by ${err.signal}`;
  if (typeof err.status !== 'number') return err.message;
  return undefined;
}

function darwinFingerprint(pid: number): FingerprintRead {
  let out: string;
  try {
    // LC_ALL=C fixes lstart's format ("Mon Jan  2 15:04:05 2006") whatever the user's locale.
    out = execFileSync('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: TOOL_TIMEOUT_MS,
    }).trim();
  } catch (e) {
    const failed = toolFailure(e);
    if (failed !== undefined) return { state: 'unknown', why: `ps -p ${pid} did not run: ${failed}` };
    const status = (e as { status?: number }).status;
    const stdout = String((e as { stdout?: unknown }).stdout ?? '').trim();
    // ps ran and exits 1, printing nothing, when there is no such process: that is proof.
    if (status === 1 && stdout === '') return { state: 'dead', why: `ps lists no process ${pid}` };
    return { state: 'unknown', why: `ps -p ${pid} exited ${String(status)}` };
  }
  const m = /^(\S+)\s+(.*)$/.exec(out);
  if (!m) return { state: 'unknown', why: `cannot parse ps output: ${JSON.stringify(out)}` };
  if (m[1].startsWith('Z')) return { state: 'dead', why: `pid ${pid} is a zombie` };
  const ms = Date.parse(m[2]);
  if (!Number.isFinite(ms)) return { state: 'unknown', why: `cannot parse ps lstart output: ${JSON.stringify(out)}` };
  const bootId = darwinBootId();
  if (bootId === undefined) return { state: 'unknown', why: 'cannot read kern.boottime' };
  return { state: 'alive', fingerprint: { pid, startTime: Math.round(ms / 1000), bootId } };
}

let darwinBoot: string | undefined;
/** The boot time as an id, or undefined while it cannot be read (a failure is not cached). */
function darwinBootId(): string | undefined {
  if (darwinBoot === undefined) {
    try {
      const out = execFileSync('sysctl', ['-n', 'kern.boottime'], { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS });
      darwinBoot = /sec = (\d+)/.exec(out)?.[1];
    } catch {
      return undefined;
    }
  }
  return darwinBoot;
}

// ---- Windows ------------------------------------------------------------------------------

function windowsFingerprint(pid: number): FingerprintRead {
  let out: string;
  try {
    out = execFileSync(
      'powershell.exe',
      [
        '-NoProfile', '-NonInteractive', '-Command',
        `$p = Get-CimInstance Win32_Process -Filter "ProcessId=${pid}"; if ($p) { ([DateTimeOffset]$p.CreationDate).ToUnixTimeMilliseconds() }`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], windowsHide: true, timeout: TOOL_TIMEOUT_MS },
    ).trim();
  } catch (e) {
    return { state: 'unknown', why: `PowerShell/CIM failed: ${toolFailure(e) ?? (e as Error).message}` };
  }
  // The query ran and found no such process.
  if (!out) return { state: 'dead', why: `no process ${pid}` };
  const ms = Number(out);
  if (!Number.isSafeInteger(ms)) return { state: 'unknown', why: `cannot parse process creation time: ${JSON.stringify(out)}` };
  return { state: 'alive', fingerprint: { pid, startTime: ms, bootId: 'windows' } };
}
