// worker.kill's optional `{pid, startTime}`: the worker its caller saw (a tree row can be stale —
// the worker exited and the session has a new one since). Every backend answers the same way
// here, so a stale row never ends a worker nobody named.

export interface NamedWorker {
  pid: number;
  startTime: number;
}

export interface WorkerIds extends NamedWorker {
  pgid: number | null;
}

/**
 * worker.kill's answer when the caller named a worker that is not the session's current one
 * (`current`: the live worker now, null for none); undefined when it may go ahead (nothing was
 * named, or the current worker has exactly that fingerprint). Nothing is signalled on a refusal.
 */
export function notCurrentWorker(sessionId: string, named: NamedWorker | undefined, current: WorkerIds | null): Record<string, unknown> | undefined {
  if (!named) return undefined;
  if (current && current.pid === named.pid && current.startTime === named.startTime) return undefined;
  return { sessionId, killed: false, worker: null, reason: 'not-current', current };
}
