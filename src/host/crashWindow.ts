// Crash-loop bookkeeping: restart with exponential backoff; give up after `limit` crashes
// within `windowMs`.
export interface CrashPolicy {
  limit: number;
  windowMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_CRASH_POLICY: CrashPolicy = {
  limit: 5,
  windowMs: 3 * 60_000,
  initialBackoffMs: 500,
  maxBackoffMs: 30_000,
};

export class CrashWindow {
  private crashes: number[] = [];

  constructor(private readonly policy: CrashPolicy) {}

  /** Records a crash at `now`; returns the delay before the next start, or undefined to give up. */
  record(now: number): number | undefined {
    this.crashes = this.crashes.filter((t) => now - t < this.policy.windowMs);
    this.crashes.push(now);
    if (this.crashes.length >= this.policy.limit) return undefined;
    const n = this.crashes.length - 1;
    return Math.min(this.policy.maxBackoffMs, this.policy.initialBackoffMs * 2 ** n);
  }

  get recent(): number {
    return this.crashes.length;
  }

  reset(): void {
    this.crashes = [];
  }
}
