// What clearing did to each process, typed: an outcome (the CLI's JSON `outcome` values, a
// contract) and, for anything not killed, a reason code to act on beside the sentence to show.
import type { Fingerprint } from './fingerprint';
import type { ProcessOutcome, RefusalReason } from './kill';

export type ClearOutcome = 'killed' | 'already-gone' | 'refused';

/**
 * Why a process was not killed by us: the engine's refusal reasons ('gone' and 'reused' for one
 * already gone), or clearing's own — 'survived': still alive at the hard bound (or its leftover
 * cgroup still populated); 'not-corroborated': the dead host's record or marker no longer bears it
 * out; 'cancelled': the user cancelled before it was signalled; 'left-cgroup': not in its leftover
 * cgroup when that was killed (and its fingerprint unknown, so not followed).
 */
export type ClearReason = RefusalReason | 'survived' | 'not-corroborated' | 'cancelled' | 'left-cgroup';

export interface ClearResult {
  pid: number;
  fingerprint?: Fingerprint;
  /** The orphan this process was cleared as part of. */
  orphanPid: number;
  command?: string;
  outcome: ClearOutcome;
  /** Set unless it was killed. */
  reason?: ClearReason;
  /** Why, in one sentence (the refusal, or which signals ended it): for display only. */
  why: string;
  signals: string[];
}

/** A process as the engine reported it (one it could not end by the hard bound is 'refused': 'survived'). */
export function clearResult(e: ProcessOutcome, orphanPid: number, command?: string, fingerprint?: Fingerprint): ClearResult {
  const reason: ClearReason | undefined = e.outcome === 'survived' ? 'survived' : e.reason;
  return {
    pid: e.pid, fingerprint, orphanPid, command, outcome: e.outcome === 'survived' ? 'refused' : e.outcome,
    ...(reason !== undefined && e.outcome !== 'killed' ? { reason } : {}), why: e.message, signals: [...e.signals],
  };
}
