// CPU and memory of workers and their children, sampled from the process table only while
// someone is looking (the tree view is visible). Linux reads /proc; elsewhere nothing is shown.
import { descendantsOf, ProcessInfo, scanProcSync } from '../core/processTable';
import { clockTicksPerSecond, readProcRss, readProcStat } from '../core/procfs';
import { Emitter } from './emitter';

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

export class ResourceSampler {
  private timer: NodeJS.Timeout | undefined;
  private last = new Map<number, { ticks: number; at: number }>();
  private snapshot: ResourceSnapshot = { usage: new Map(), children: new Map(), cmdlines: new Map(), takenAt: 0 };
  private readonly sampled = new Emitter<ResourceSnapshot>();
  readonly onDidSample = this.sampled.event;

  constructor(private readonly roots: () => SampleRoot[], private readonly intervalMs = 2000) {}

  get current(): ResourceSnapshot {
    return this.snapshot;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer || process.platform !== 'linux') return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.last.clear();
  }

  sample(now = Date.now()): ResourceSnapshot {
    const roots = this.roots();
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
    for (const pid of [...roots.map((r) => r.pid), ...[...children.values()].flat().map((p) => p.pid)]) {
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
    this.snapshot = { usage, children, cmdlines, takenAt: now };
    this.sampled.fire(this.snapshot);
    return this.snapshot;
  }

  dispose(): void {
    this.stop();
    this.sampled.dispose();
  }
}
