// The last processes that exited — workers, stale hermes workers, the backend's program — kept
// for a while so a crash is visible after the fact. Bounded in count and age; the clock is the
// caller's (every method takes `now`), so tests need no sleeping.

export type ExitedKind = 'worker' | 'staleWorker' | 'program';

export interface ExitedView {
  kind: ExitedKind;
  pid: number;
  startTime?: number;
  sessionId?: string;
  /** The session's label (workers) or the backend's name (program). */
  label?: string;
  command?: string;
  /** When it started (host clock), when known. */
  startedAt?: number;
  exitedAt: number;
  /** Both null: the gateway could not know (a process that was not its child, e.g. hermes' workers). */
  code: number | null;
  signal: string | null;
  /** Why it went, when the gateway said (stopped at the worker cap, taken down as stale, failed at start). */
  reason?: string;
}

export const RECENTLY_EXITED_MAX = 20;
export const RECENTLY_EXITED_KEEP_MS = 10 * 60_000;

export class RecentlyExited {
  /** Oldest first. */
  private entries: ExitedView[] = [];

  constructor(private readonly max = RECENTLY_EXITED_MAX, private readonly keepMs = RECENTLY_EXITED_KEEP_MS) {}

  add(e: ExitedView): void {
    // One row per process: a second report of the same exit replaces the first.
    this.entries = this.entries.filter((x) => !(x.kind === e.kind && x.pid === e.pid && x.startTime === e.startTime));
    this.entries.push(e);
    if (this.entries.length > this.max) this.entries.splice(0, this.entries.length - this.max);
  }

  /** Newest first; what is older than the keep time is dropped. */
  list(now: number): ExitedView[] {
    this.prune(now);
    return [...this.entries].reverse().map((e) => ({ ...e }));
  }

  /** When the oldest entry expires (the view refreshes then), or undefined when empty. */
  nextExpiry(now: number): number | undefined {
    this.prune(now);
    return this.entries.length ? this.entries[0].exitedAt + this.keepMs : undefined;
  }

  private prune(now: number): void {
    const keep = this.entries.filter((e) => now - e.exitedAt < this.keepMs);
    if (keep.length !== this.entries.length) this.entries = keep;
  }
}
