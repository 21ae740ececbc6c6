// What a teardown takes down (its targets) and what it reports back.
import type { Fingerprint } from '../fingerprint';
import { shutdownBoundMs } from '../timeouts';
import type { Refusal, RefusalReason } from './safety';

/** Vetoes a descendant of a tree (and everything below it), saying why; e.g. another live window's. */
export type Spare = (p: { pid: number; ppid: number; owner?: string }) => string | undefined;

export type Target =
  /**
   * A process group we own: signalled as a group (kill(-pgid)) until no live member is left.
   * `hung`: its leader cannot act on SIGTERM (stopped, or not answering): SIGKILL from the start.
   */
  | { kind: 'group'; pgid: number; leader?: Fingerprint; hung?: boolean }
  /** A process we do not own as a group, and every descendant, snapshotted before the first signal. */
  | { kind: 'tree'; root: Fingerprint; spare?: Spare }
  /**
   * What this process started: its own group when it leads one (itself excepted), its
   * descendants, and every process carrying its fingerprint in PARENT_ENV (a double fork that
   * left both the group and the tree still carries it; Linux only, where it can be read).
   * `markedSince`: the start time (Fingerprint units) of the first process it gave its marker
   * to — no older process can carry it, so none is read; Infinity: it gave it to none.
   * `markedBy`: also every process carrying one of these fingerprints in PARENT_ENV — the
   * workers this process started, whose escapees outlive them when they die before their own
   * teardown has found them (the gateway's final sweep without cgroups).
   */
  | { kind: 'own'; markedSince?: number; markedBy?: readonly Fingerprint[] }
  /**
   * One of our cgroups (a gateway-warden-* tree or a leaf of one) and everything in it, whatever
   * group or parent its members have: members come from the kernel's own list (cgroup.procs), no
   * table scan. SIGTERM goes to each member by pid (fingerprint-checked); SIGKILL is one write to
   * cgroup.kill, which reaches forks racing it too. When this process is itself a member (a worker
   * in its session's leaf) the others are SIGKILLed by pid instead and the cgroup is kept.
   * `parent`: the tree must be a child of that directory. `remove` (default true): rmdir it once empty.
   * Without cgroup.kill (Linux < 5.14) it is frozen, its members SIGKILLed by pid, and thawed;
   * `killFile: false` forces that fallback (tests and the bench measure it on newer kernels).
   * `endsSelf`: this process is a member and the teardown is meant to end it too (a gateway whose
   * host is gone, over its whole tree): SIGTERM goes out only when some member handles it (to one
   * that does not, its default action is the very end SIGKILL gives), and the SIGKILL is one
   * cgroup.kill of the whole cgroup, this process included, once every other target is done —
   * TeardownOptions.beforeSelfEnd runs right before it. The teardown does not return then.
   */
  | { kind: 'cgroup'; path: string; parent?: string; remove?: boolean; killFile?: false; endsSelf?: true };

export function processGroup(pgid: number, leader?: Fingerprint, hung = false): Target {
  return { kind: 'group', pgid, ...(leader ? { leader } : {}), ...(hung ? { hung } : {}) };
}

export function processTree(root: Fingerprint, spare?: Spare): Target {
  return spare ? { kind: 'tree', root, spare } : { kind: 'tree', root };
}

export function ownProcesses(markedSince?: number, markedBy?: readonly Fingerprint[]): Target {
  return { kind: 'own', ...(markedSince !== undefined ? { markedSince } : {}), ...(markedBy?.length ? { markedBy } : {}) };
}

export function cgroupTarget(path: string, opts: { parent?: string; remove?: boolean; killFile?: false; endsSelf?: true } = {}): Target {
  return { kind: 'cgroup', path, ...opts };
}

export interface TeardownOptions {
  /** Time the first signal gets before SIGKILL (default 500 ms). */
  graceMs?: number;
  /** The hard bound: give up and report survivors after this long (default: defaultTimeoutMs); SIGKILL is always sent and given 100 ms first. */
  timeoutMs?: number;
  /**
   * Default SIGTERM, or SIGKILL when `graceMs` is 0: a SIGTERM with no time to act on it changes
   * nothing but costs a pass over every member (a cgroup's SIGKILL is one cgroup.kill write).
   */
  firstSignal?: NodeJS.Signals;
  /** Runs right before the cgroup.kill that ends this process too (an `endsSelf` target): its last words. */
  beforeSelfEnd?: () => void;
  /**
   * The GATEWAY_WARDEN_OWNER value everything of ours carries (default: this process's own, which
   * the gateway, its workers and their reapers inherit; the extension host, the owner itself,
   * passes its fingerprint). A group whose recorded leader has exited is signalled only while
   * every member carries it: its pgid may have been reused (safety.ts).
   */
  ownerMarker?: string;
}

export const DEFAULT_GRACE_MS = 500;
export const DEFAULT_TIMEOUT_MS = 5000;

/**
 * The hard bound when the caller gives none: 5 s, or the grace plus what SIGKILL and reaping take
 * (shutdownBoundMs) when that is longer — a default bound never cuts a grace asked for short.
 */
export function defaultTimeoutMs(graceMs: number): number {
  return Math.max(DEFAULT_TIMEOUT_MS, shutdownBoundMs(graceMs));
}

export type Outcome = 'killed' | 'already-gone' | 'refused' | 'survived';

export interface ProcessOutcome {
  pid: number;
  outcome: Outcome;
  /** For 'refused' (and 'already-gone': 'gone' or 'reused'). */
  reason?: RefusalReason;
  message: string;
  /** Signals that reached it (directly or through its group), in order. */
  signals: string[];
}

export interface SignalStep {
  signal: string;
  /** Milliseconds since the teardown started. */
  atMs: number;
  /** Sent to this group … */
  pgid?: number;
  /** … or to this cgroup (signal 'cgroup.kill') … */
  cgroup?: string;
  /** … or to this one process. */
  pid?: number;
  /** The live members it was meant for, as last seen. */
  members: number[];
}

export interface TeardownReport {
  /** Every process seen as a member, in the order first seen. */
  processes: ProcessOutcome[];
  signals: SignalStep[];
  /** What was not signalled, and why (a target, a process, or the whole call). */
  refusals: (Refusal & { pid?: number; pgid?: number })[];
  /** Live members left at the hard bound. */
  survivors: number[];
  elapsedMs: number;
  /** Cgroup targets: whether each was emptied and removed (absent when there was none). */
  cgroups?: CgroupOutcome[];
}

export interface CgroupOutcome {
  path: string;
  /** 'empty': no member left; 'gone': it did not exist; 'refused'/'timeout': see refusals/survivors. */
  outcome: 'empty' | 'gone' | 'refused' | 'timeout';
  /**
   * How the SIGKILL phase was sent: one cgroup.kill write (re-sent for newcomers); by pid with the
   * cgroup frozen (no cgroup.kill here); or by pid unfrozen (this process is a member, or no cgroup.freeze).
   */
  method: 'cgroup.kill' | 'freeze+SIGKILL' | 'by-pid' | 'none';
  /** The directory no longer exists (removed by us, or never there). */
  removed: boolean;
  /** Why it could not be removed (EBUSY: still populated, or a child cgroup). */
  removeProblem?: string;
}
