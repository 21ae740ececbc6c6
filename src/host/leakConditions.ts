// Leak-alert conditions decided from plain observations (no vscode, no timers, no clock of its
// own): which conditions hold now, and which the user has not been told about yet. A condition
// warns once, and again only after it cleared and came back. Orphans are counted per process:
// an orphan that appears while earlier ones (already reported, or ignored) are still there is
// news, so it warns — otherwise one ignored orphan would hide every later leak.
import { formatMegabytes } from '../core/format';

export type LeakCondition = 'orphans' | 'memory' | 'workersAtCap' | 'memoryRestarts';
export const LEAK_CONDITIONS: readonly LeakCondition[] = ['orphans', 'memory', 'workersAtCap', 'memoryRestarts'];

/** Live workers at the cap for this long is a condition (issue 14: "longer than a minute"). */
export const AT_CAP_FOR_MS = 60_000;
/** A dip below the cap shorter than this (an evicted worker exiting before its replacement starts) does not restart the minute. */
export const AT_CAP_DIP_MS = 5000;
/** The memory condition clears only below this share of the threshold: a total hovering at the line warns once, not at every sample. */
export const MEMORY_CLEAR_RATIO = 0.9;
/** A session's worker restarted for its memory ceiling more than this many times … */
export const RESTARTS_MAX = 3;
/** … within this long is a condition (issue 14: "more than 3 times in 10 minutes"). */
export const RESTARTS_WINDOW_MS = 10 * 60_000;
/** Bounds on the restart history: sessions remembered, restarts per session. */
const MAX_RESTART_SESSIONS = 256;
const MAX_RESTARTS_KEPT = 64;

/** One worker.restarted (reason memory-limit) as the host saw it. */
export interface MemoryRestart {
  sessionId: string;
  at: number;
  /** The session's label, for the message. */
  label?: string;
  limitBytes?: number;
}

/** At most this many pids are named in a message (the rest are counted). */
const NAMED_PIDS = 5;

export interface OrphanKey {
  pid: number;
  startTime?: number;
}

/** What one check saw. A field left undefined is unknown (not looked at, or the look failed): it changes nothing. */
export interface LeakObservation {
  now: number;
  /** The latest orphan scan. */
  orphans?: readonly OrphanKey[];
  /** Gateway + workers + their descendants, in bytes (0 when no gateway runs). */
  totalMemoryBytes?: number;
  /** Live workers now, and the gateway's cap (undefined: no cap known, e.g. no gateway running). */
  workers?: { live: number; max?: number };
}

export interface LeakAlert {
  condition: LeakCondition;
  /** One sentence for the notification and the status bar's tooltip. */
  message: string;
  /** orphans: the pids this alert is about (for a fresh alert: the new ones). */
  pids?: number[];
}

export interface LeakEvaluation {
  /** Every condition that holds now (the status bar shows them). */
  active: LeakAlert[];
  /** Those to notify about now: new, not muted. */
  fresh: LeakAlert[];
}

export interface LeakConditionsOptions {
  /** The memory threshold in bytes (the setting, read at each evaluation). */
  totalMemoryBytes: () => number;
  /** Conditions the user chose "Don't Show Again" for: they still hold, but never notify. */
  muted?: () => ReadonlySet<LeakCondition>;
  atCapForMs?: number;
}

export class LeakConditions {
  private readonly holding = new Map<LeakCondition, LeakAlert>();
  private readonly warned = new Set<LeakCondition>();
  /** Orphans the user has been told about (start-up notification or an alert), by pid/start time. */
  private reported = new Set<string>();
  private atCapSince: number | undefined;
  private belowCapSince: number | undefined;
  /** Per session, its latest memory-ceiling restarts (newest last, at most MAX_RESTARTS_KEPT). */
  private readonly restarts = new Map<string, MemoryRestart[]>();

  constructor(private readonly opts: LeakConditionsOptions) {}

  /** Orphans already announced elsewhere (the start-up "Found N orphaned processes"): not news. */
  markOrphansReported(orphans: readonly OrphanKey[]): void {
    for (const o of orphans) this.reported.add(orphanKey(o));
  }

  /** A worker.restarted for the memory ceiling; the next evaluation counts it. */
  recordRestart(r: MemoryRestart): void {
    const list = this.restarts.get(r.sessionId) ?? [];
    this.restarts.delete(r.sessionId); // re-inserted: the map's order is least recently restarted first
    list.push(r);
    if (list.length > MAX_RESTARTS_KEPT) list.splice(0, list.length - MAX_RESTARTS_KEPT);
    this.restarts.set(r.sessionId, list);
    if (this.restarts.size > MAX_RESTART_SESSIONS) this.restarts.delete(this.restarts.keys().next().value!);
  }

  /**
   * When the worker-cap condition can change with no new observation (the minute at the cap
   * runs out, or a dip below it lasts long enough to clear it): evaluate the workers again then.
   */
  workersRecheckAt(): number | undefined {
    if (this.belowCapSince !== undefined) return this.belowCapSince + AT_CAP_DIP_MS;
    if (this.atCapSince !== undefined && !this.holding.has('workersAtCap')) return this.atCapSince + (this.opts.atCapForMs ?? AT_CAP_FOR_MS);
    return undefined;
  }

  /** The conditions holding after the last evaluation. */
  active(): LeakAlert[] {
    return LEAK_CONDITIONS.flatMap((c) => (this.holding.has(c) ? [this.holding.get(c)!] : []));
  }

  evaluate(obs: LeakObservation): LeakEvaluation {
    const muted = this.opts.muted?.() ?? new Set<LeakCondition>();
    const fresh: LeakAlert[] = [];

    if (obs.orphans) {
      const present = new Map(obs.orphans.map((o) => [orphanKey(o), o]));
      const news = [...present].filter(([k]) => !this.reported.has(k)).map(([, o]) => o.pid);
      // Only what is still there stays reported: a set that cannot outgrow the process table.
      this.reported = new Set([...this.reported].filter((k) => present.has(k)));
      if (present.size) {
        const all = [...present.values()].map((o) => o.pid);
        this.holding.set('orphans', { condition: 'orphans', message: orphansMessage(all, all.length), pids: all });
        if (news.length) {
          for (const [k] of present) this.reported.add(k);
          if (!muted.has('orphans')) fresh.push({ condition: 'orphans', message: orphansMessage(news, present.size), pids: news });
        }
      } else {
        this.holding.delete('orphans');
      }
    }

    if (obs.totalMemoryBytes !== undefined) {
      const limit = this.opts.totalMemoryBytes();
      const total = obs.totalMemoryBytes;
      const holds = total > limit || (this.holding.has('memory') && total > limit * MEMORY_CLEAR_RATIO);
      this.decide('memory', holds, () => memoryMessage(total, limit), muted, fresh);
    }

    if (obs.workers) {
      const { live, max } = obs.workers;
      const atCap = max !== undefined && live >= max;
      let inDip = false;
      if (atCap) {
        this.belowCapSince = undefined;
        this.atCapSince ??= obs.now;
      } else if (this.atCapSince !== undefined && max !== undefined) {
        this.belowCapSince ??= obs.now;
        inDip = obs.now - this.belowCapSince < AT_CAP_DIP_MS;
        if (!inDip) this.atCapSince = this.belowCapSince = undefined;
      } else {
        this.atCapSince = this.belowCapSince = undefined;
      }
      const forMs = this.atCapSince === undefined ? 0 : obs.now - this.atCapSince;
      const holds = (atCap || inDip) && forMs >= (this.opts.atCapForMs ?? AT_CAP_FOR_MS);
      this.decide('workersAtCap', holds, () => atCapMessage(max!, forMs), muted, fresh);
    }

    this.evaluateRestarts(obs.now, muted, fresh);

    return { active: this.active(), fresh };
  }

  /** From the recorded restarts alone: any session restarted more than RESTARTS_MAX times in the window. */
  private evaluateRestarts(now: number, muted: ReadonlySet<LeakCondition>, fresh: LeakAlert[]): void {
    let worst: MemoryRestart[] | undefined;
    for (const [id, list] of this.restarts) {
      const recent = list.filter((r) => now - r.at < RESTARTS_WINDOW_MS);
      if (recent.length === 0) this.restarts.delete(id);
      else if (recent.length > RESTARTS_MAX && (!worst || recent.length > worst.length)) worst = recent;
    }
    this.decide('memoryRestarts', worst !== undefined, () => restartsMessage(worst!), muted, fresh);
  }

  private decide(c: LeakCondition, holds: boolean, message: () => string, muted: ReadonlySet<LeakCondition>, fresh: LeakAlert[]): void {
    if (!holds) {
      // Cleared: the next time it holds is news again.
      this.holding.delete(c);
      this.warned.delete(c);
      return;
    }
    const alert = { condition: c, message: message() };
    this.holding.set(c, alert);
    if (this.warned.has(c)) return;
    this.warned.add(c);
    if (!muted.has(c)) fresh.push(alert);
  }
}

/** An orphan's identity across scans (the pid alone may have been reused). */
export function orphanKey(o: OrphanKey): string {
  return `${o.pid}/${o.startTime ?? ''}`;
}

function pidList(pids: readonly number[]): string {
  const named = pids.slice(0, NAMED_PIDS).join(', ');
  return pids.length > NAMED_PIDS ? `${named} and ${pids.length - NAMED_PIDS} more` : named;
}

function orphansMessage(pids: readonly number[], total: number): string {
  const n = pids.length;
  const s = n === 1 ? '' : 'es';
  const of = total > n ? ` (${total} orphaned in all)` : '';
  return `${n} orphaned process${s} whose owner is gone (pid ${pidList(pids)})${of}.`;
}

function memoryMessage(total: number, limit: number): string {
  const where = total > limit ? 'above' : 'just under, after going above,';
  return `The gateway, its workers and their children use ${formatMegabytes(total)}, ${where} gatewayWarden.alerts.totalMemoryMB (${formatMegabytes(limit)}).`;
}

function restartsMessage(recent: readonly MemoryRestart[]): string {
  const last = recent[recent.length - 1];
  const who = last.label ? `"${last.label}"` : last.sessionId;
  const limit = last.limitBytes !== undefined ? ` (${formatMegabytes(last.limitBytes)})` : '';
  const minutes = Math.max(1, Math.ceil((last.at - recent[0].at) / 60_000));
  return `The worker of session ${who} was restarted ${recent.length} times in ${minutes} min for using more memory than gatewayWarden.limits.workerMemoryMB${limit}: what it runs keeps outgrowing the limit.`;
}

function atCapMessage(max: number, forMs: number): string {
  const minutes = Math.floor(forMs / 60_000);
  return `${max} of ${max} workers have been alive for ${minutes >= 1 ? `${minutes} min` : `${Math.round(forMs / 1000)} s`} (gatewayWarden.limits.maxWorkers): a new worker stops an idle one, and a command is refused when all are busy.`;
}
