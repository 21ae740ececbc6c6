// When the hermes backend's poll asks hermes for session.active_list. It used to ask on every
// --poll-ms (default 1 s) whatever happened: one request through hermes' reader thread and one
// JSON list of every live session, every second, for an answer that almost never changes.
// What the answer is for: the stale-worker rule (a worker whose session hermes no longer lists)
// and following sessions hermes created or closed on its own. So the poll still reads the process
// table every period (local, costs hermes nothing) and asks hermes only when
//  - hermes' workers changed since the last answer (one started, exited, or was restarted with
//    another key: a session that came or went usually shows there first);
//  - the stale rule waits on an answer (a worker's key was missing: two consecutive checks
//    confirm it, and a stale worker's grace runs on checks) — then every period, as before;
//  - the last answer is IDLE_POLLS periods old: a session that vanished inside hermes while its
//    worker lives on (#21467) changes nothing in the table, and is found at the next of these.
// Our own looks (session.list, session.close, slash.exec, worker.kill, backend.call, and hermes'
// session.info event) still ask at once; they do not go through this schedule.

/** Without a change, active_list is asked once per this many poll periods. */
export const IDLE_POLLS = 10;

export interface ScheduledWorker {
  pid: number;
  startTime: number;
  sessionKey: string;
}

/** The workers as one comparable text (order-free). */
function signatureOf(workers: readonly ScheduledWorker[]): string {
  return workers.map((w) => `${w.pid}:${w.startTime}:${w.sessionKey}`).sort().join(' ');
}

export class ActiveListSchedule {
  private answeredFor: string | undefined;
  private answeredAt = -Infinity;

  constructor(private readonly pollMs: number) {}

  /** Whether this poll must ask, given the workers in the table now and whether the stale rule waits on an answer. */
  due(workers: readonly ScheduledWorker[], staleRuleWaiting: boolean, now: number): boolean {
    if (staleRuleWaiting || this.answeredFor === undefined) return true;
    if (signatureOf(workers) !== this.answeredFor) return true;
    // 0.5 period of slack: a timer that fires a little early must not skip a whole period.
    return now - this.answeredAt >= (IDLE_POLLS - 0.5) * this.pollMs;
  }

  /** An answer arrived, asked with these workers in the table. */
  answered(workers: readonly ScheduledWorker[], now: number): void {
    this.answeredFor = signatureOf(workers);
    this.answeredAt = now;
  }
}
