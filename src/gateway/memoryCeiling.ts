// gatewayWarden.limits.workerMemoryMB (--worker-memory-mb): a session whose processes together —
// the worker and everything it started — use more than the ceiling is restarted: its worker and
// all of it taken down through the teardown engine, the session kept (its next command starts a
// new worker). The kernel enforces memory.max where a v2 memory controller is delegated to the
// session's cgroup leaf; otherwise (and to notice that the kernel acted) the gateway samples:
// one sample at a time, every `intervalMs`, only while the ceiling is on and a worker lives.
// A sample reads the members (the leaf's cgroup.procs, or one lean /proc scan for the worker
// groups and their marked escapees, by the teardown engine's own membership rule, ownedBy) and
// sums their resident memory (one statm read each).
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseKeyValues, readCgroupFile } from '../core/cgroup/cgroupFiles';
import { readCgroupTotals, setMemoryMax } from '../core/cgroup/cgroupTotals';
import { formatMegabytes } from '../core/format';
import { RpcError, RpcErrorCode } from '../core/rpc';
import { Fingerprint, formatFingerprint } from '../core/fingerprint';
import { indexTable, MarkerRead, ownedBy, readMarker } from '../core/kill/members';
import { scanTable } from '../core/kill/source';
import { sumProcRss } from '../core/procfs';

export const MEMORY_LIMIT_SETTING = 'gatewayWarden.limits.workerMemoryMB';
export const MEMORY_LIMIT_FLAG = '--worker-memory-mb';
/** Sampling period bounds: never busier than 4 per second, never slower than once a second. */
export const MIN_SAMPLE_MS = 250;
export const MAX_SAMPLE_MS = 1000;
const MB = 1024 * 1024;

/** One session's memory as one sample saw it. */
export interface SessionMemory {
  sessionId: string;
  pid: number;
  memoryBytes: number;
  /** Members whose memory was counted (the worker included). */
  members: number;
  /** Where the figure came from. */
  source: 'memory.current' | 'rss-sum';
  /** Who the members are: the session's cgroup leaf (cgroup.procs), or the worker's group, descendants and marked escapees (/proc). */
  membersFrom: 'cgroup' | 'process-group';
  /** memory.max in force (the kernel's ceiling): OOM kills in the leaf since the previous sample. */
  oomKills?: number;
}

export interface RestartDecision extends SessionMemory {
  limitBytes: number;
}

/** worker.restarted for a decision (docs/protocol.md): the session's worker `d.pid` is being taken down at its ceiling. */
export function workerRestartedEvent(d: RestartDecision, startTime: number): Record<string, unknown> {
  return {
    sessionId: d.sessionId, pid: d.pid, startTime, reason: 'memory-limit',
    memoryBytes: d.memoryBytes, limitBytes: d.limitBytes, setting: MEMORY_LIMIT_SETTING, members: d.members, source: d.source, membersFrom: d.membersFrom,
  };
}

/** A command whose worker the memory ceiling restarted under it: why, with the figures and the setting. */
export function memoryRestartError(sessionId: string, pid: number, d: RestartDecision): RpcError {
  return new RpcError(
    RpcErrorCode.ServerError,
    `the worker ${pid} of session ${sessionId} was restarted during the command: its processes together used ${formatMegabytes(d.memoryBytes)}, above ${MEMORY_LIMIT_SETTING} (${formatMegabytes(d.limitBytes)}). The session stays; the next command starts a new worker.`,
    { sessionId, pid, reason: 'memory-limit', memoryBytes: d.memoryBytes, limitBytes: d.limitBytes, setting: MEMORY_LIMIT_SETTING },
  );
}

/** The ceiling in bytes, or 0 (off) for 0 or anything that is not a positive whole number of MB. */
export function limitBytesOf(workerMemoryMB: number): number {
  if (!Number.isSafeInteger(workerMemoryMB) || workerMemoryMB <= 0) return 0;
  return Math.min(workerMemoryMB * MB, Number.MAX_SAFE_INTEGER);
}

/** The sampling period for a watchdog poll period: the poll period, bounded. */
export function sampleIntervalMs(pollMs: number): number {
  return Math.min(MAX_SAMPLE_MS, Math.max(MIN_SAMPLE_MS, Number.isFinite(pollMs) ? pollMs : MAX_SAMPLE_MS));
}

/**
 * The rule, on plain data: every session above the ceiling (strictly), or whose leaf the kernel's
 * memory.max made OOM-kill in since the last sample (memory.current then never exceeds it), is
 * restarted, each once — a worker already being restarted (`restarting`) is not decided again.
 */
export function sessionsToRestart(samples: readonly SessionMemory[], limitBytes: number, restarting: ReadonlySet<number> = new Set()): RestartDecision[] {
  if (!(limitBytes > 0)) return [];
  return samples.filter((s) => (s.memoryBytes > limitBytes || (s.oomKills ?? 0) > 0) && !restarting.has(s.pid)).map((s) => ({ ...s, limitBytes }));
}

/**
 * memory.max on a session's leaf, where the memory controller is enabled for it (probed by
 * trying): the kernel then keeps the leaf under the ceiling and the sample only notices its OOM
 * kills. Otherwise (no controller: this is the common case) says why; the sampling enforces it.
 */
export function applyKernelCeiling(leaf: string, limitBytes: number): { kernel: true } | { kernel: false; why: string } {
  if (!(limitBytes > 0)) return { kernel: false, why: 'the ceiling is off' };
  const r = setMemoryMax(leaf, limitBytes);
  return r.ok ? { kernel: true } : { kernel: false, why: r.why };
}

/** A live worker as the ceiling sees it. */
export interface CeilingWorker {
  sessionId: string;
  fingerprint: Fingerprint;
  pgid: number | null;
  /** Its session's cgroup leaf when it is in it (cgroup containment): members from cgroup.procs. */
  leaf?: string;
  /** memory.max is set on the leaf (applyKernelCeiling): count its OOM kills. */
  kernel?: boolean;
}

export interface MemoryCeilingOptions {
  limitBytes: number;
  intervalMs: number;
  /** The live workers now (those already closing are left out by the caller). */
  workers: () => CeilingWorker[];
  /** Takes the session's worker and everything it started down, keeping the session. */
  restart: (d: RestartDecision) => Promise<void>;
  log: (m: string) => void;
}

export class MemoryCeiling {
  private timer: NodeJS.Timeout | undefined;
  private readonly groups = new WorkerSampler();
  private readonly restarting = new Set<number>();
  /** memory.events oom_kill per leaf at the previous sample (only leaves still sampled are kept). */
  private oomKills = new Map<string, number>();
  /** Leaves whose memory.max holds the ceiling (bounded: only leaves that still exist are kept). */
  private kernelLeaves = new Set<string>();
  private loggedKernel = false;
  private disposed = false;
  /** The last sample's cost (ms) and how many were taken: for the log and tests. */
  lastSampleMs = 0;
  samples = 0;

  constructor(private readonly o: MemoryCeilingOptions) {
    if (o.limitBytes > 0 && process.platform !== 'linux') o.log(`memory ceiling: ${MEMORY_LIMIT_SETTING} is enforced on Linux only; off on ${process.platform}`);
  }

  /** Linux only: elsewhere resident memory is not read per process (and the scan would be a `ps` a second). */
  get on(): boolean {
    return this.o.limitBytes > 0 && process.platform === 'linux';
  }

  /**
   * A session's leaf is about to get its worker: memory.max set where a memory controller is
   * enabled for it (then its OOM kills are what the sample looks for). Logged once either way.
   */
  leafReady(leaf: string): void {
    if (!this.on) return;
    const r = applyKernelCeiling(leaf, this.o.limitBytes);
    if (r.kernel) this.kernelLeaves.add(leaf);
    if (!this.loggedKernel) {
      this.loggedKernel = true;
      this.o.log(r.kernel ? `memory ceiling: memory.max set on each session's leaf (the kernel holds it)` : `memory ceiling: sampled by the gateway (no memory.max: ${r.why})`);
    }
  }

  /** A worker started (or may have): keep sampling while one lives. Idempotent. */
  wake(): void {
    if (!this.on || this.disposed || this.timer) return;
    this.schedule();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One sample now: each live worker's session memory. Synchronous (a few small reads). */
  sample(): SessionMemory[] {
    const t0 = performance.now();
    const workers = this.o.workers();
    const out: SessionMemory[] = [];
    const inGroups: CeilingWorker[] = [];
    const nextOom = new Map<string, number>();
    // A leaf removed (its session closed) is forgotten; one still starting its worker is kept.
    for (const l of this.kernelLeaves) if (!fs.existsSync(l)) this.kernelLeaves.delete(l);
    for (const w of workers) {
      const fromLeaf = w.leaf !== undefined ? leafMemory(w) : undefined;
      if (fromLeaf && (w.kernel || this.kernelLeaves.has(w.leaf!))) {
        const kills = readOomKills(w.leaf!);
        if (kills !== undefined) {
          nextOom.set(w.leaf!, kills);
          fromLeaf.oomKills = Math.max(0, kills - (this.oomKills.get(w.leaf!) ?? kills));
        }
      }
      if (fromLeaf) out.push(fromLeaf);
      else if (w.pgid !== null) inGroups.push(w);
    }
    this.oomKills = nextOom;
    if (inGroups.length) {
      const lists = this.groups.list(inGroups.map((w) => ({ fp: w.fingerprint, pgid: w.pgid! })));
      for (const w of inGroups) {
        const m = lists.get(w.fingerprint.pid);
        if (!m) continue;
        const rss = sumProcRss(m.pids); // a member that exited meanwhile is not counted
        out.push({ sessionId: w.sessionId, pid: w.fingerprint.pid, memoryBytes: rss.bytes, members: rss.read, source: 'rss-sum', membersFrom: 'process-group' });
      }
    }
    this.lastSampleMs = performance.now() - t0;
    this.samples++;
    return out;
  }

  private schedule(): void {
    // A chain of timeouts, not an interval: one sample at a time, whatever a sample costs.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.disposed) return;
      if (this.o.workers().length === 0) return; // asleep until the next worker (wake)
      try {
        for (const d of sessionsToRestart(this.sample(), this.o.limitBytes, this.restarting)) this.fire(d);
      } catch (e) {
        this.o.log(`memory ceiling: sample failed: ${(e as Error).message}`);
      }
      this.schedule();
    }, this.o.intervalMs);
    this.timer.unref?.();
  }

  private fire(d: RestartDecision): void {
    this.restarting.add(d.pid);
    this.o.log(`memory ceiling: session ${d.sessionId} uses ${formatMegabytes(d.memoryBytes)} in ${d.members} process(es) (${d.source}, members from ${d.membersFrom === 'cgroup' ? 'its cgroup leaf' : 'its worker\'s group and marker'}), above ${MEMORY_LIMIT_SETTING} = ${formatMegabytes(d.limitBytes)}: restarting its worker ${d.pid} (sample took ${this.lastSampleMs.toFixed(1)} ms)`);
    this.o.restart(d).catch((e: Error) => this.o.log(`memory ceiling: restart of session ${d.sessionId} failed: ${e.message}`)).finally(() => this.restarting.delete(d.pid));
  }
}

/** An absence of the marker read once, not yet trusted (see WorkerSampler). */
const ABSENT_ONCE = Symbol('absent once');

/**
 * Each worker with everything it started, by the teardown engine's own rule (ownedBy), the worker
 * first when it is alive. One lean scan serves every worker; a marker is read once per process
 * (`pid:startTime`) and kept while it is listed, so the worker's siblings (this process's other
 * children) cost one read each, ever — except that an absence is read once more at the next
 * sample before it is kept: a process read between its fork and its exec still shows its
 * parent's environment (the start time does not change at exec), and a marked escapee read then
 * was never counted again. For sampling only: the engine re-checks before any signal.
 */
export class WorkerSampler {
  private markers = new Map<string, string | undefined | typeof ABSENT_ONCE>();

  constructor(private readonly readOne: MarkerRead = readMarker) {}

  /** Keyed by the worker's pid; `complete` false when the scan could not read every process. */
  list(workers: readonly { fp: Fingerprint; pgid: number }[]): Map<number, { pids: number[]; complete: boolean }> {
    const out = new Map<number, { pids: number[]; complete: boolean }>();
    if (workers.length === 0) return out;
    const t = indexTable(scanTable());
    const next = new Map<string, string | undefined | typeof ABSENT_ONCE>();
    const read: MarkerRead = (r) => {
      const key = `${r.pid}:${r.startTime}`;
      let value = next.get(key);
      if (!next.has(key)) {
        const before = this.markers.get(key);
        if (this.markers.has(key) && before !== ABSENT_ONCE) value = before; // a marker, or an absence read twice
        else value = this.readOne(r) ?? (before === ABSENT_ONCE ? undefined : ABSENT_ONCE);
        next.set(key, value);
      }
      return value === ABSENT_ONCE ? undefined : value;
    };
    for (const w of workers) {
      const found = t.byPid.get(w.fp.pid);
      const row = found?.startTime === w.fp.startTime ? found : undefined;
      const owned = ownedBy(t, { pid: w.fp.pid, row, startTime: w.fp.startTime, leads: w.pgid, marks: new Set([formatFingerprint(w.fp)]), since: 0 }, read);
      out.set(w.fp.pid, { pids: [...(row ? [row.pid] : []), ...owned.map((r) => r.pid)], complete: t.complete });
    }
    // Only processes still listed stay cached: bounded by the table.
    this.markers = next;
    return out;
  }
}

/** memory.events' oom_kill counter of a leaf (undefined when unreadable). */
function readOomKills(leaf: string): number | undefined {
  const r = readCgroupFile(`${leaf}/memory.events`, 4096);
  return r.state === 'found' ? parseKeyValues(r.value).get('oom_kill') : undefined;
}

/** From the leaf's own files: memory.current where the memory controller is on, else its members' RSS. Undefined when unreadable (the caller falls back to the group). */
function leafMemory(w: CeilingWorker): SessionMemory | undefined {
  const totals = readCgroupTotals(w.leaf!);
  if (totals.state !== 'found' || totals.value.memoryBytes === undefined || totals.value.pids.length === 0) return undefined;
  return { sessionId: w.sessionId, pid: w.fingerprint.pid, memoryBytes: totals.value.memoryBytes, members: totals.value.pids.length, source: totals.value.memorySource, membersFrom: 'cgroup' };
}
