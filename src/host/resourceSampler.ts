// CPU and memory of workers and their children, sampled from the process table only while
// someone is looking (the tree view is visible). Linux reads /proc; elsewhere nothing is shown.
// With the same timer it asks the gateway for its `process.tree` when there is one to show (the
// command backend): one poller, gated by the same visibility.
import { descendantsOf, ProcessInfo, scanProcSync } from '../core/processTable';
import { clockTicksPerSecond, readProcRss, readProcStat } from '../core/procfs';
import { Emitter } from '../core/emitter';
import { parseProcessTree, ProcessTreeView } from './processTreeView';

export interface ResourceUsage {
  /** Percent of one core since the previous sample (undefined on the first sample). */
  cpuPercent?: number;
  rssBytes?: number;
}

export interface ResourceSnapshot {
  usage: Map<number, ResourceUsage>;
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
    this.snapshot = { usage, children, cmdlines, takenAt: now, tree: this.tree };
    this.sampled.fire(this.snapshot);
    return this.snapshot;
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
