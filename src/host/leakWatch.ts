// The periodic leak check (gatewayWarden.alerts.intervalMinutes): one orphan scan (the same
// source the start-up scan and the tree use) and one sample of the resource sampler per interval,
// evaluated by LeakConditions. Never two checks at once: one still running when the next is due
// is skipped, not stacked. Every wait has a deadline.
import { performance } from 'node:perf_hooks';
import { LeakConditions, LeakEvaluation, LeakObservation, OrphanKey } from './leakConditions';
import { Log } from './seams';

export interface LeakWatchOptions {
  conditions: LeakConditions;
  /** The interval in ms, read at each (re)schedule; 0 = off. */
  intervalMs: () => number;
  /** A fresh orphan scan (the orphan source's; the caller may also show the result). */
  scanOrphans: () => Promise<readonly OrphanKey[]>;
  /** Gateway + workers + descendants in bytes; undefined when unknown (no sample possible). */
  totalMemoryBytes: () => number | undefined;
  /** Live workers and the gateway's cap; undefined when no gateway runs. */
  workers: () => { live: number; max?: number } | undefined;
  /** Called after every check with what it found (the UI notifies about `fresh`). */
  onEvaluated: (e: LeakEvaluation) => void;
  log: Log;
  /** How long a check waits for the scan before it goes on without it (default: the interval, at most 60 s). */
  scanDeadlineMs?: number;
  now?: () => number;
}

/** A scan still running this long after its deadline no longer blocks later checks. */
const ABANDON_AFTER_DEADLINES = 4;

export class LeakWatch {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private disposed = false;
  private scheduledMs = 0;
  /** Checks skipped because the previous one was still running. */
  skipped = 0;
  /** How long the last check took (scan, sample, evaluation), in ms; for the log and tests. */
  lastCheckMs: number | undefined;

  constructor(private readonly o: LeakWatchOptions) {}

  /** (Re)reads the interval and schedules accordingly; call again when the setting changes. */
  reschedule(): void {
    if (this.disposed) return;
    const ms = this.o.intervalMs();
    if (this.timer && ms === this.scheduledMs) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.scheduledMs = ms;
    if (!(ms > 0)) return;
    this.timer = setInterval(() => void this.check(), ms);
    this.timer.unref?.();
  }

  get scheduled(): boolean {
    return this.timer !== undefined;
  }

  /**
   * One check now. Resolves with what it found, or undefined when skipped (one is running) or
   * disposed. Never rejects.
   */
  async check(): Promise<LeakEvaluation | undefined> {
    if (this.disposed) return undefined;
    if (this.running) {
      this.skipped++;
      this.o.log.debug('leak check skipped: the previous one is still running');
      return undefined;
    }
    this.running = true;
    const t0 = performance.now();
    const deadline = this.o.scanDeadlineMs ?? Math.min(Math.max(this.scheduledMs, 1000), 60_000);
    let scan: Promise<unknown> | undefined;
    try {
      let orphans: readonly OrphanKey[] | undefined;
      try {
        const pending = this.o.scanOrphans();
        scan = pending.catch(() => undefined);
        const r = await within(pending, deadline);
        if (r.done) {
          orphans = r.value;
          scan = undefined;
        } else this.o.log.warn(`leak check: the orphan scan took longer than ${deadline} ms; orphans are left as they were`);
      } catch (e) {
        scan = undefined;
        this.o.log.warn(`leak check: orphan scan failed: ${(e as Error).message}`);
      }
      const obs: LeakObservation = { now: (this.o.now ?? Date.now)(), orphans, workers: safely(this.o.workers, this.o.log, 'workers') };
      obs.totalMemoryBytes = safely(this.o.totalMemoryBytes, this.o.log, 'memory');
      if (this.disposed) return undefined;
      const e = this.o.conditions.evaluate(obs);
      this.lastCheckMs = Math.round(performance.now() - t0);
      this.o.log.debug(`leak check: ${this.lastCheckMs} ms, ${orphans?.length ?? '?'} orphan(s), memory ${obs.totalMemoryBytes ?? '?'} bytes, ${e.active.length} condition(s) holding`);
      try {
        this.o.onEvaluated(e);
      } catch (err) {
        this.o.log.warn(`leak check: ${(err as Error).message}`);
      }
      return e;
    } finally {
      // A late scan still holds the slot (no second scan on top of it), but not for ever.
      if (!scan) this.running = false;
      else {
        void within(scan, deadline * ABANDON_AFTER_DEADLINES).then(() => {
          this.running = false;
        });
      }
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function safely<T>(f: () => T, log: Log, what: string): T | undefined {
  try {
    return f();
  } catch (e) {
    log.warn(`leak check: ${what}: ${(e as Error).message}`);
    return undefined;
  }
}

/** The promise's value if it settles within ms (a rejection is thrown), else `{done: false}`. */
async function within<T>(p: Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ done: false }>((r) => {
    // Not unref'd: it is cleared as soon as the promise settles, and someone is waiting on it.
    timer = setTimeout(() => r({ done: false }), ms);
  });
  try {
    return await Promise.race([p.then((value) => ({ done: true as const, value })), late]);
  } finally {
    clearTimeout(timer);
  }
}
