// A process fingerprint: (pid, start time, boot id). A pid alone is reused by the kernel; the
// start time read from the same source twice is stable, so the pair names one process.
import { execFileSync } from 'node:child_process';
import { linuxBootId, readProcStat } from './procfs';

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

/** The fingerprint of a live process, or undefined when there is no such process (or a zombie). */
export function fingerprintOf(pid: number): Fingerprint | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  switch (process.platform) {
    case 'linux': {
      const stat = readProcStat(pid);
      if (!stat || stat.state === 'Z' || stat.state === 'X') return undefined;
      return { pid, startTime: stat.startTime, bootId: linuxBootId() };
    }
    case 'darwin':
      return darwinFingerprint(pid);
    case 'win32':
      return windowsFingerprint(pid);
    default:
      throw new UnsupportedPlatformError('Process fingerprints');
  }
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

/**
 * Whether the recorded fingerprint still names a live process: same pid, same start time, same
 * boot. A zombie counts as dead; a reused pid (different start time) is "not the same process".
 */
export function isSameProcess(recorded: Fingerprint): boolean {
  let now: Fingerprint | undefined;
  try {
    now = fingerprintOf(recorded.pid);
  } catch {
    return false;
  }
  return now !== undefined && sameFingerprint(now, recorded);
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

function darwinFingerprint(pid: number): Fingerprint | undefined {
  let out: string;
  try {
    // LC_ALL=C fixes lstart's format ("Mon Jan  2 15:04:05 2006") whatever the user's locale.
    out = execFileSync('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined; // ps exits 1 when there is no such process
  }
  const m = /^(\S+)\s+(.*)$/.exec(out);
  if (!m || m[1].startsWith('Z')) return undefined;
  const ms = Date.parse(m[2]);
  if (!Number.isFinite(ms)) throw new Error(`cannot parse ps lstart output: ${JSON.stringify(out)}`);
  return { pid, startTime: Math.round(ms / 1000), bootId: darwinBootId() };
}

let darwinBoot: string | undefined;
function darwinBootId(): string {
  if (darwinBoot === undefined) {
    try {
      const out = execFileSync('sysctl', ['-n', 'kern.boottime'], { encoding: 'utf8' });
      darwinBoot = /sec = (\d+)/.exec(out)?.[1] ?? 'unknown';
    } catch {
      darwinBoot = 'unknown';
    }
  }
  return darwinBoot;
}

// ---- Windows ------------------------------------------------------------------------------

function windowsFingerprint(pid: number): Fingerprint | undefined {
  let out: string;
  try {
    out = execFileSync(
      'powershell.exe',
      [
        '-NoProfile', '-NonInteractive', '-Command',
        `$p = Get-CimInstance Win32_Process -Filter "ProcessId=${pid}"; if ($p) { ([DateTimeOffset]$p.CreationDate).ToUnixTimeMilliseconds() }`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], windowsHide: true },
    ).trim();
  } catch (e) {
    throw new UnsupportedPlatformError(`Reading process creation times (PowerShell/CIM failed: ${(e as Error).message})`);
  }
  if (!out) return undefined;
  const ms = Number(out);
  if (!Number.isSafeInteger(ms)) throw new Error(`cannot parse process creation time: ${JSON.stringify(out)}`);
  return { pid, startTime: ms, bootId: 'windows' };
}

