// The stale-worker rule (hermes #21467): a slash_worker child of the live hermes gateway whose
// --session-key is not among session.active_list's session_keys. A key can briefly differ from the
// running worker's during hermes' auto-compression, so a worker is stale only once its key was
// absent on two consecutive successful checks. A check that could not be made (active_list failed,
// the process table unreadable) is unknown: it confirms nothing and breaks the run of absences.
// Pure state, no I/O: the backend feeds it what it read and acts on what it answers.

export interface ObservedWorker {
  pid: number;
  /** Start time in clock ticks: with the pid, the worker's identity (pids are reused). */
  startTime: number;
  sessionKey: string;
}

export interface StaleWorker extends ObservedWorker {
  /** When its key was first seen missing (ms, the caller's clock). */
  missingSince: number;
  /** When the second consecutive check confirmed it (ms). */
  staleSince: number;
}

interface Suspect {
  worker: ObservedWorker;
  missingSince: number;
  absences: number;
  staleSince?: number;
}

const CONFIRMATIONS = 2;

export class StaleWorkerRule {
  private readonly suspects = new Map<string, Suspect>();

  /**
   * One successful check: the gateway's workers from the process table and the session keys from
   * session.active_list. Answers every worker stale as of this check (new and old ones alike).
   */
  check(workers: readonly ObservedWorker[], liveKeys: ReadonlySet<string>, nowMs: number): StaleWorker[] {
    const seen = new Set<string>();
    for (const w of workers) {
      const id = `${w.pid}:${w.startTime}`;
      if (liveKeys.has(w.sessionKey)) continue;
      seen.add(id);
      const s = this.suspects.get(id);
      if (!s) {
        this.suspects.set(id, { worker: w, missingSince: nowMs, absences: 1 });
      } else {
        s.absences += 1;
        if (s.absences >= CONFIRMATIONS && s.staleSince === undefined) s.staleSince = nowMs;
      }
    }
    // A worker that exited or whose key is live again starts over.
    for (const id of [...this.suspects.keys()]) if (!seen.has(id)) this.suspects.delete(id);
    const stale: StaleWorker[] = [];
    for (const s of this.suspects.values()) {
      if (s.staleSince !== undefined) stale.push({ ...s.worker, missingSince: s.missingSince, staleSince: s.staleSince });
    }
    return stale;
  }

  /** Whether a worker's key was missing on the last check and the next check confirms it or not. */
  get confirming(): boolean {
    for (const s of this.suspects.values()) if (s.staleSince === undefined) return true;
    return false;
  }

  /** Whether a worker is stale (confirmed) as of the last check. */
  get anyStale(): boolean {
    for (const s of this.suspects.values()) if (s.staleSince !== undefined) return true;
    return false;
  }

  /** A check that failed: nothing is confirmed by it, and absences must be seen twice in a row again. */
  unknown(): void {
    this.suspects.clear();
  }

}

/** Stale workers whose grace has run out by `nowMs` (grace 0 = report only: never due). */
export function staleWorkersDue(stale: readonly StaleWorker[], graceMs: number, nowMs: number): StaleWorker[] {
  return graceMs > 0 ? stale.filter((w) => nowMs - w.staleSince >= graceMs) : [];
}
