// CPU and memory of workers and their children, sampled from the process table only while
// someone is looking (the tree view is visible). Linux reads /proc; elsewhere nothing is shown.
// With the same timer it asks the gateway for its `process.tree` when there is one to show (the
// command backend): one poller, gated by the same visibility.
import { readCgroupTotals } from '../core/cgroup/cgroupTotals';
import { descendantsOf, ProcessInfo, scanProcSync } from '../core/processTable';
import { clockTicksPerSecond, readProcRss, readProcStat } from '../core/procfs';
import { Emitter } from '../core/emitter';
import { parseProcessTree, ProcessTreeView } from './processTreeView';

export interface ResourceUsage {
  /** Percent of one core since the previous sample (undefined on the first sample). */
  cpuPercent?: number;
  rssBytes?: number;
}

/** A root and everything counted with it (its descendants and group, or its cgroup's members). */
export interface ResourceTotals {
  /** Percent of one core since the previous sample (undefined on the first). */
  cpuPercent?: number;
  memoryBytes?: number;
  /** Processes counted. */
  processes: number;
  /** 'cgroup': the root's cgroup files (cpu.stat, memory.current or its members' RSS), no table scan; 'process-table': the root's row and its children's added up. */
  source: 'cgroup' | 'process-table';
}

export interface ResourceSnapshot {
  usage: Map<number, ResourceUsage>;
  /** Per root pid: its totals including descendants (where it could be measured). */
  totals?: Map<number, ResourceTotals>;
  /** Live descendants of each watched root pid, and the other members of its process group
   *  (a `/run cmd &` child is re-parented away from the worker but stays in its group). */
  children: Map<number, ProcessInfo[]>;
  /** Full command line of each watched root (for tooltips). */
  cmdlines: Map<number, string>;
  takenAt: number;
  /** The gateway's process.tree (command backend), the latest one answered. */
  tree?: ProcessTreeView;
}

const MIN_CPU_INTERVAL_MS = 250;

/** utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat). */
export function readCpuTicks(pid: number): number | undefined {
  const st = readProcStat(pid);
  return st && Number.isFinite(st.cpuTicks) ? st.cpuTicks : undefined;
}

export interface SampleRoot {
  pid: number;
  pgid?: number;
  /** Its cgroup v2 directory (a session leaf, the gateway's tree), when it has one: totals from its files. */
  cgroup?: string;
}

export interface SamplerOptions {
  /**
   * Asks the gateway for process.tree; returns undefined when there is nothing to ask (no
   * backend that needs it, the gateway not running). At most one request is in flight.
   */
  processTree?: () => Promise<unknown> | undefined;
}

export class ResourceSampler {
  private timer: NodeJS.Timeout | undefined;
  private treeInFlight = false;
  private tree: ProcessTreeView | undefined;
  private last = new Map<number, { ticks: number; at: number }>();
  /** cpu.stat usage_usec per cgroup directory at the previous sample. */
  private lastCgroup = new Map<string, { usec: number; at: number }>();
  private snapshot: ResourceSnapshot = { usage: new Map(), children: new Map(), cmdlines: new Map(), takenAt: 0 };
  private readonly sampled = new Emitter<ResourceSnapshot>();
  readonly onDidSample = this.sampled.event;

  constructor(private readonly roots: () => SampleRoot[], private readonly intervalMs = 2000, private readonly opts: SamplerOptions = {}) {}

  get current(): ResourceSnapshot {
    return this.snapshot;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    // process.tree needs no /proc: with it the timer runs everywhere (the /proc part on Linux only).
    if (this.timer || (process.platform !== 'linux' && !this.opts.processTree)) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.last.clear();
    this.lastCgroup.clear();
    this.tree = undefined;
  }

  /** `askTree: false`: the /proc part only (the leak check's sample while the view is hidden). */
  sample(now = Date.now(), opts: { askTree?: boolean } = {}): ResourceSnapshot {
    if (opts.askTree !== false) this.askTree();
    const roots = process.platform === 'linux' ? this.roots() : [];
    const children = new Map<number, ProcessInfo[]>();
    const cmdlines = new Map<number, string>();
    if (roots.length) {
      const table = scanProcSync({ readOwner: false });
      for (const r of roots) {
        const kids = descendantsOf(table, r.pid);
        const seen = new Set(kids.map((k) => k.pid));
        if (r.pgid !== undefined && r.pgid > 0) {
          for (const p of table) if (p.pgid === r.pgid && p.pid !== r.pid && !seen.has(p.pid) && p.state !== 'Z') kids.push(p);
        }
        children.set(r.pid, kids.filter((k) => k.state !== 'Z'));
        const me = table.find((p) => p.pid === r.pid);
        if (me) cmdlines.set(r.pid, me.cmdline);
      }
    }
    const usage = new Map<number, ResourceUsage>();
    const next = new Map<number, { ticks: number; at: number }>();
    // Each pid once: a root's descendants may include other roots (the gateway's do).
    for (const pid of new Set([...roots.map((r) => r.pid), ...[...children.values()].flat().map((p) => p.pid)])) {
      const ticks = readCpuTicks(pid);
      if (ticks === undefined) continue;
      // Timed at the read, not at the start of the sample: the /proc scan before it can take
      // long on a loaded machine, and CPU spent meanwhile would inflate the figure.
      const at = Date.now();
      const prev = this.last.get(pid);
      const u: ResourceUsage = { rssBytes: readProcRss(pid) };
      if (prev && at - prev.at >= MIN_CPU_INTERVAL_MS) {
        u.cpuPercent = Math.max(0, ((ticks - prev.ticks) / clockTicksPerSecond()) / ((at - prev.at) / 1000) * 100);
        next.set(pid, { ticks, at });
      } else {
        // Too soon for a figure at 10 ms tick resolution: keep measuring from the older reading.
        next.set(pid, prev ?? { ticks, at });
      }
      usage.set(pid, u);
    }
    this.last = next;
    const totals = this.totals(roots, usage, children);
    this.snapshot = { usage, totals, children, cmdlines, takenAt: now, tree: this.tree };
    this.sampled.fire(this.snapshot);
    return this.snapshot;
  }

  /**
   * Each root's totals: from its cgroup's files when it has one (CPU from cpu.stat's usage_usec
   * between two samples, memory from memory.current or its members' RSS), else its row and its
   * children's in this sample added up (each pid once).
   */
  private totals(roots: readonly SampleRoot[], usage: Map<number, ResourceUsage>, children: Map<number, ProcessInfo[]>): Map<number, ResourceTotals> {
    const out = new Map<number, ResourceTotals>();
    const nextCgroup = new Map<string, { usec: number; at: number }>();
    for (const r of roots) {
      const fromCgroup = r.cgroup !== undefined ? this.cgroupTotals(r.cgroup, nextCgroup) : undefined;
      if (fromCgroup) {
        out.set(r.pid, fromCgroup);
        continue;
      }
      const own = usage.get(r.pid);
      if (!own) continue;
      const t: ResourceTotals = { processes: 0, source: 'process-table', cpuPercent: own.cpuPercent !== undefined ? 0 : undefined, memoryBytes: undefined };
      for (const pid of new Set([r.pid, ...(children.get(r.pid) ?? []).map((p) => p.pid)])) {
        const u = usage.get(pid);
        if (!u) continue;
        t.processes++;
        if (u.rssBytes !== undefined) t.memoryBytes = (t.memoryBytes ?? 0) + u.rssBytes;
        // A child's first reading has no figure yet: it adds nothing (its CPU since it started is not known).
        if (t.cpuPercent !== undefined && u.cpuPercent !== undefined) t.cpuPercent += u.cpuPercent;
      }
      out.set(r.pid, t);
    }
    // Only cgroups still sampled are remembered.
    this.lastCgroup = nextCgroup;
    return out;
  }

  private cgroupTotals(dir: string, next: Map<string, { usec: number; at: number }>): ResourceTotals | undefined {
    const r = readCgroupTotals(dir);
    if (r.state !== 'found' || r.value.pids.length === 0) return undefined;
    const v = r.value;
    const t: ResourceTotals = { processes: v.pids.length, source: 'cgroup', memoryBytes: v.memoryBytes };
    if (v.cpuUsageUsec !== undefined) {
      const at = Date.now();
      const prev = this.lastCgroup.get(dir);
      if (prev && at - prev.at >= MIN_CPU_INTERVAL_MS && v.cpuUsageUsec >= prev.usec) {
        t.cpuPercent = ((v.cpuUsageUsec - prev.usec) / 1000 / (at - prev.at)) * 100;
        next.set(dir, { usec: v.cpuUsageUsec, at });
      } else {
        next.set(dir, prev && v.cpuUsageUsec >= prev.usec ? prev : { usec: v.cpuUsageUsec, at });
      }
    }
    return t;
  }

  /** Starts a process.tree request unless one is in flight; its answer comes as a sample of its own. */
  private askTree(): void {
    if (this.treeInFlight || !this.opts.processTree) return;
    let pending: Promise<unknown> | undefined;
    try {
      pending = this.opts.processTree();
    } catch {
      pending = undefined;
    }
    if (!pending) {
      this.tree = undefined;
      return;
    }
    this.treeInFlight = true;
    pending.then(
      (r) => this.takeTree(parseProcessTree(r)),
      () => this.takeTree(undefined), // the gateway went away or refused: nothing to show
    );
  }

  private takeTree(tree: ProcessTreeView | undefined): void {
    this.treeInFlight = false;
    // Stopped meanwhile (the view was hidden): not shown, and no sample event.
    if (!this.timer) return;
    this.tree = tree;
    this.snapshot = { ...this.snapshot, tree };
    this.sampled.fire(this.snapshot);
  }

  dispose(): void {
    this.stop();
    this.sampled.dispose();
  }
}

/**
 * Memory of everything in a snapshot — the roots, their descendants and group members, each pid
 * once — or, without a /proc reading, the sum of the gateway's process.tree. Undefined when the
 * snapshot measured nothing.
 */
export function sampledMemoryBytes(s: ResourceSnapshot): number | undefined {
  let total = 0;
  let measured = false;
  for (const u of s.usage.values()) {
    if (u.rssBytes === undefined) continue;
    total += u.rssBytes;
    measured = true;
  }
  if (measured) return total;
  for (const p of s.tree?.processes ?? []) {
    if (p.rssBytes === undefined) continue;
    total += p.rssBytes;
    measured = true;
  }
  return measured ? total : undefined;
}

/**
 * Everything in a snapshot together — the roots, their descendants and group members, each pid
 * once: CPU (percent of one core; undefined until a second sample) and memory. Undefined when
 * the snapshot measured nothing. With `root` and that root's totals from its cgroup (the
 * gateway's tree holds everything), those instead.
 */
export function sampledTotals(s: ResourceSnapshot, root?: number): ResourceTotals | undefined {
  const fromCgroup = root !== undefined ? s.totals?.get(root) : undefined;
  if (fromCgroup?.source === 'cgroup') return fromCgroup;
  const memoryBytes = sampledMemoryBytes(s);
  if (memoryBytes === undefined) return undefined;
  let cpu: number | undefined;
  for (const u of s.usage.values()) if (u.cpuPercent !== undefined) cpu = (cpu ?? 0) + u.cpuPercent;
  return { memoryBytes, cpuPercent: cpu, processes: s.usage.size, source: 'process-table' };
}
