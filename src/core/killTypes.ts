import type { ProcessInfo } from './processTable';
// Result and option types of the kill primitives (the shared contract in COMMON.md).
import type { Fingerprint } from './fingerprint';

/** 'unknown': whether the process is still the recorded one (or whose it is) could not be read now — never guessed. */
export type RefusalReason = 'gone' | 'reused' | 'other-user' | 'protected' | 'unknown' | 'error';

export interface SafeKillResult {
  sent: boolean;
  reason?: RefusalReason;
  message: string;
}

export interface KillGroupOptions {
  /** Time the first signal gets before SIGKILL (default 500 ms). */
  graceMs?: number;
  /** Give up (and report survivors) after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Refuse if a live process with pid === pgid has another fingerprint (pid reuse). */
  leader?: Fingerprint;
  /** Default SIGTERM. */
  firstSignal?: NodeJS.Signals;
  /**
   * Allow killing the caller's own process group. The other members are signalled one by one,
   * and the caller SIGKILLs the group, itself included, last: the call does not return then.
   */
  includeSelf?: boolean;
}

export interface SignalStep {
  signal: string;
  /** Milliseconds since the call started. */
  atMs: number;
  /** The pids the signal was meant for (the members seen just before sending). */
  members: number[];
}

export interface KillGroupResult {
  pgid: number;
  signals: SignalStep[];
  survivors: number[];
  elapsedMs: number;
  /** Set when the call refused to send (some or all) signals, and why. */
  refused?: string;
}

export type KillTreeOutcome = 'killed' | 'already-gone' | 'refused' | 'survived';

export interface KillTreeOptions extends KillGroupOptions {
  /**
   * Vetoes a descendant (and everything below it): returns why it must not be signalled, e.g.
   * it belongs to another live VS Code window. Called with a snapshot that includes the owner
   * marker. The root is the caller's own decision and is not asked about.
   */
  spare?: (p: ProcessInfo) => string | undefined;
}

export interface KillTreeEntry {
  pid: number;
  outcome: KillTreeOutcome;
  /** For 'refused' (and 'already-gone': 'gone' or 'reused'). */
  reason?: RefusalReason;
  message: string;
  /** Signals actually sent to this pid, in order. */
  signals: string[];
}

export interface KillTreeResult {
  root: number;
  /** The root first, then descendants, parents before children. */
  processes: KillTreeEntry[];
  survivors: number[];
  elapsedMs: number;
  /** Set when the whole call was refused (e.g. the root is not the recorded process). */
  refused?: string;
}
