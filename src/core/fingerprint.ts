// A process fingerprint: (pid, start time, boot id). A pid alone is reused by the kernel; the
// start time read from the same source twice is stable, so the pair names one process.
import { isLiveState, type PidLook, type ProcessInfo } from './processSource';
import { processSource } from './processTable';

export interface Fingerprint {
  pid: number;
  /**
   * Linux: clock ticks since boot (/proc/PID/stat field 22), exact.
   * macOS: seconds since the epoch from `ps -o lstart` (1 s resolution).
   * Windows: milliseconds since the epoch of the process creation time.
   */
  startTime: number;
  bootId: string;
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

const isPid = (pid: number) => Number.isInteger(pid) && pid > 0;

/** The fingerprint of the live process `pid`, proof that there is none, or why nobody can tell. */
export function readFingerprint(pid: number): FingerprintRead {
  if (!isPid(pid)) return fromLook(pid, undefined, undefined);
  const source = processSource();
  return fromLook(pid, source.lookSync([pid]).get(pid), source.bootId());
}

function fromLook(pid: number, look: PidLook | undefined, bootId: string | undefined): FingerprintRead {
  if (!isPid(pid)) return { state: 'dead', why: `${String(pid)} is not a pid` };
  if (!look) return { state: 'unknown', why: `no answer about pid ${pid}` };
  if (look.state === 'gone') return { state: 'dead', why: look.why };
  if (look.state === 'unknown') return look;
  if (!isLiveState(look.info.state)) return { state: 'dead', why: `pid ${pid} is a zombie` };
  if (look.info.startTime === undefined) return { state: 'unknown', why: `no start time for pid ${pid}` };
  if (bootId === undefined) return { state: 'unknown', why: 'cannot read the boot id' };
  return { state: 'alive', fingerprint: { pid, startTime: look.info.startTime, bootId } };
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
  return judge(recorded, now);
}

/** livenessOf for several fingerprints in ONE look (one `ps`, one CIM query) that never blocks. */
export async function livenessOfAll(recorded: readonly Fingerprint[]): Promise<LivenessCheck[]> {
  try {
    const source = processSource();
    const looks = await source.look([...new Set(recorded.map((fp) => fp.pid).filter(isPid))]);
    const bootId = source.bootId();
    return recorded.map((fp) => judge(fp, fromLook(fp.pid, looks.get(fp.pid), bootId)));
  } catch (e) {
    return recorded.map(() => ({ state: 'unknown', why: (e as Error).message }));
  }
}

function judge(recorded: Fingerprint, now: FingerprintRead): LivenessCheck {
  if (now.state !== 'alive') return now;
  const fp = now.fingerprint;
  if (fp.bootId !== recorded.bootId) return { state: 'dead', why: `pid ${recorded.pid} was recorded in another boot (${recorded.bootId}, now ${fp.bootId})` };
  if (fp.startTime !== recorded.startTime) return { state: 'dead', why: `pid ${recorded.pid} now belongs to another process (start time ${fp.startTime}, recorded ${recorded.startTime})` };
  return { state: 'alive', why: '' };
}

/**
 * Whether `fp` is alive, judged by a snapshot where it can prove it (same start time; a zombie
 * or another start time is dead), else by a fresh look: a pid missing from a snapshot may only
 * have been unreadable (EMFILE, …) when it was taken.
 */
export function livenessInSnapshot(byPid: ReadonlyMap<number, ProcessInfo>, fp: Fingerprint): Liveness {
  const p = byPid.get(fp.pid);
  if (p && !isLiveState(p.state)) return 'dead';
  const bootId = processSource().bootId();
  if (p?.startTime !== undefined && bootId !== undefined) return p.startTime === fp.startTime && fp.bootId === bootId ? 'alive' : 'dead';
  return livenessOf(fp).state;
}

/**
 * The snapshot's row of the recorded process while it is provably alive (same start time and
 * boot; where the snapshot has no start times, a fresh look), else undefined. The one rule for
 * "is this record still that process" in orphan detection and `status`.
 */
export function liveInSnapshot(byPid: ReadonlyMap<number, ProcessInfo>, fp: Fingerprint): ProcessInfo | undefined {
  const p = byPid.get(fp.pid);
  return p !== undefined && livenessInSnapshot(byPid, fp) === 'alive' ? p : undefined;
}

/** The fingerprint a snapshot row gives (undefined without a start time or a boot id). */
export function fingerprintOfInfo(p: ProcessInfo): Fingerprint | undefined {
  const bootId = processSource().bootId();
  return p.startTime === undefined || bootId === undefined ? undefined : { pid: p.pid, startTime: p.startTime, bootId };
}

/** True only when the recorded process is provably alive (what a signal needs). Unknown is false. */
export function isSameProcess(recorded: Fingerprint): boolean {
  return livenessOf(recorded).state === 'alive';
}

/** True only when the recorded process is provably dead (what "it is gone, act on it" needs). Unknown is false. */
export function isGone(recorded: Fingerprint): boolean {
  return livenessOf(recorded).state === 'dead';
}

let self: Fingerprint | undefined;

/**
 * This process's own fingerprint, or why it cannot be read now (a full descriptor table, …).
 * Read once: it cannot change, so once read it is cached; an unreadable one is never guessed.
 */
export function readSelfFingerprint(): FingerprintRead {
  if (self) return { state: 'alive', fingerprint: self };
  const r = readFingerprint(process.pid);
  if (r.state === 'alive') self = r.fingerprint;
  return r;
}

/** This process's own fingerprint; throws, saying why, while it cannot be read (see readSelfFingerprint). */
export function selfFingerprint(): Fingerprint {
  const r = readSelfFingerprint();
  if (r.state !== 'alive') throw new Error(`cannot read this process's own fingerprint (${r.why})`);
  return r.fingerprint;
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
