// The host's record of every process it started (gateways, workers, their children), kept in
// memory and checkpointed to disk so that a later window can tell which processes a crashed
// host left behind. Exited entries are kept for a while (bounded by count and age): a later scan
// still learns from them, e.g. where a gateway that crashed had its cgroup tree.
import { Fingerprint, formatFingerprint } from './fingerprint';
import { readMachineId } from './machineId';
import {
  CHECKPOINT_VERSION,
  CheckpointData,
  checkpointPath,
  deleteCheckpointFile,
  recordProblem,
  writeCheckpointSync,
} from './checkpoint';

export { loadCheckpoints } from './checkpoint';
export type { Checkpoint, CheckpointData, LoadCheckpointsResult, LoadCheckpointsOptions } from './checkpoint';

export type ProcessRole = 'gateway' | 'worker' | 'child';

export interface ProcessRecord {
  role: ProcessRole;
  fingerprint: Fingerprint;
  pgid?: number;
  sessionId?: string;
  /**
   * A gateway's cgroup tree directory (its `gateway.ready` `cgroup`): where the orphan scan looks
   * for that tree when it is not beside the scanner (a delegated scope). Untrusted on reading: it
   * counts only once the kernel corroborates it (cgroupLeftovers.recordedTreeProblem).
   */
  cgroup?: string;
  command: string;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms; set by markExited. */
  exitedAt?: number;
  exitCode?: number | null;
  exitSignal?: string | null;
}

export interface ProcessRegistryOptions {
  owner: Fingerprint;
  /** Where to checkpoint; no checkpoint when omitted. */
  checkpointDir?: string;
  /** Coalesce changes into one write per this many ms (default 100). */
  debounceMs?: number;
  /** Keep at most this many exited records (default 200). */
  maxExited?: number;
  /** Drop exited records older than this (default 10 min). */
  maxExitedAgeMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

export const DEFAULT_DEBOUNCE_MS = 100;
/** A failed write is tried again after this, doubling up to MAX_RETRY_MS. */
const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;
export const DEFAULT_MAX_EXITED = 200;
export const DEFAULT_MAX_EXITED_AGE_MS = 10 * 60_000;

export class ProcessRegistry {
  readonly owner: Fingerprint;
  /** Absolute path of the checkpoint file, when checkpointing. */
  readonly checkpointFile: string | undefined;
  /** The last checkpoint write error (writes never throw from timers). */
  lastWriteError: Error | undefined;
  /** How many checkpoint files have been written (diagnostics and tests). */
  writeCount = 0;

  private readonly records = new Map<string, ProcessRecord>();
  private readonly debounceMs: number;
  private readonly maxExited: number;
  private readonly maxExitedAgeMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  /** The wait before the next try of a write that failed (0: the last one did not). */
  private retryMs = 0;
  private disposed = false;

  constructor(opts: ProcessRegistryOptions) {
    this.owner = { ...opts.owner };
    this.checkpointFile = opts.checkpointDir ? checkpointPath(opts.checkpointDir, opts.owner) : undefined;
    this.debounceMs = nonNegative(opts.debounceMs, DEFAULT_DEBOUNCE_MS, 'debounceMs');
    this.maxExited = nonNegative(opts.maxExited, DEFAULT_MAX_EXITED, 'maxExited');
    this.maxExitedAgeMs = nonNegative(opts.maxExitedAgeMs, DEFAULT_MAX_EXITED_AGE_MS, 'maxExitedAgeMs');
    this.now = opts.now ?? Date.now;
  }

  /** Records a process (replacing an earlier record of the same fingerprint). */
  add(rec: ProcessRecord): void {
    const problem = recordProblem(rec);
    if (problem) throw new TypeError(`ProcessRegistry.add: invalid record (${problem})`);
    const key = formatFingerprint(rec.fingerprint);
    // A pid reused while an old record is still marked live: the old process must be dead.
    for (const [k, r] of this.records) {
      if (k !== key && r.fingerprint.pid === rec.fingerprint.pid && r.exitedAt === undefined) {
        r.exitedAt = this.now();
        r.exitCode ??= null;
        r.exitSignal ??= null;
      }
    }
    this.records.set(key, withoutUndefined({ ...rec, fingerprint: { ...rec.fingerprint } }));
    this.changed();
  }

  /** Marks the live record with this pid as exited; false when there is none. */
  markExited(pid: number, how: { code?: number | null; signal?: string | null } = {}): boolean {
    const rec = this.findLive(pid);
    if (!rec) return false;
    rec.exitedAt = this.now();
    rec.exitCode = how.code ?? null;
    rec.exitSignal = how.signal ?? null;
    this.changed();
    return true;
  }

  /** Records not marked exited, oldest first. */
  live(): ProcessRecord[] {
    return this.all().filter((r) => r.exitedAt === undefined);
  }

  /** Every record, oldest first (exited ones past the age bound are pruned first). */
  all(): ProcessRecord[] {
    if (!this.disposed) this.prune();
    return [...this.records.values()].sort((a, b) => a.startedAt - b.startedAt).map((r) => ({ ...r }));
  }

  /** Drops exited records beyond the count and age bounds; returns how many were dropped. */
  prune(): number {
    const dropped = this.pruneQuietly();
    if (dropped) this.changed(false);
    return dropped;
  }

  /** Writes any pending change now. Rejects when the write fails. */
  async flush(): Promise<void> {
    this.cancelTimer();
    if (!this.dirty) return;
    this.write();
    if (this.lastWriteError) throw this.lastWriteError;
  }

  /** For exit paths: writes any pending change synchronously; never throws. False on failure. */
  flushSync(): boolean {
    this.cancelTimer();
    if (!this.dirty) return true;
    this.write();
    return this.lastWriteError === undefined;
  }

  /** The checkpoint as it would be written now. */
  snapshot(): CheckpointData {
    const machine = readMachineId();
    return { version: CHECKPOINT_VERSION, owner: { ...this.owner }, writtenAt: this.now(), ...(machine.state === 'known' ? { machine: machine.id } : {}), records: this.all() };
  }

  /** Clean shutdown: removes the checkpoint file and drops any pending write. */
  deleteCheckpoint(): void {
    this.cancelTimer();
    this.dirty = false;
    if (!this.checkpointFile) return;
    try {
      deleteCheckpointFile(this.checkpointFile);
    } catch (e) {
      this.lastWriteError = e as Error;
    }
  }

  /** Writes pending changes; later changes are not recorded. */
  dispose(): void {
    if (this.disposed) return;
    this.flushSync();
    this.disposed = true;
  }

  private findLive(pid: number): ProcessRecord | undefined {
    for (const r of this.records.values()) if (r.fingerprint.pid === pid && r.exitedAt === undefined) return r;
    return undefined;
  }

  private pruneQuietly(): number {
    const now = this.now();
    const exited = [...this.records.entries()]
      .filter(([, r]) => r.exitedAt !== undefined)
      .sort(([, a], [, b]) => a.exitedAt! - b.exitedAt!);
    let dropped = 0;
    const excess = exited.length - this.maxExited;
    exited.forEach(([key, r], i) => {
      if (i < excess || now - r.exitedAt! > this.maxExitedAgeMs) {
        this.records.delete(key);
        dropped++;
      }
    });
    return dropped;
  }

  private changed(prune = true): void {
    if (this.disposed) return;
    if (prune) this.pruneQuietly();
    this.dirty = true;
    this.schedule();
  }

  private schedule(delayMs = this.debounceMs): void {
    if (!this.checkpointFile || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.disposed) this.write();
    }, delayMs);
    this.timer.unref?.();
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private write(): void {
    if (!this.checkpointFile) {
      this.dirty = false;
      return;
    }
    try {
      writeCheckpointSync(this.checkpointFile, this.snapshot());
      this.dirty = false;
      this.writeCount++;
      this.lastWriteError = undefined;
      this.retryMs = 0;
    } catch (e) {
      this.lastWriteError = e as Error;
      // Still dirty, so tried again (a full disk, EMFILE: passing troubles): left to the next
      // change, a host killed in a quiet spell would leave the file behind what it knows.
      this.retryMs = Math.min(MAX_RETRY_MS, Math.max(this.debounceMs, this.retryMs * 2, MIN_RETRY_MS));
      this.schedule(this.retryMs);
    }
  }
}

/** JSON drops undefined keys; dropping them here too keeps all() equal to what is written. */
function withoutUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function nonNegative(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`ProcessRegistry: ${name} must be a non-negative number, got ${v}`);
  return v;
}
