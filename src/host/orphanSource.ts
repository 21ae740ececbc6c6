// Orphans as the palette and the tree see them, on top of the registry helper's detection and
// clearing (core/orphans*): one process-table snapshot per scan, this host's checkpoint folder
// (dead hosts' checkpoints stay there until nothing they recorded is alive).
import { ClearReason, clearOrphans } from '../core/orphansClear';
import { findOrphans } from '../core/orphansFind';
import { DEFAULT_ORPHAN_PATTERNS, Orphan, describeNotCorroborated } from '../core/orphans';
import { pruneStaleCheckpoints } from '../core/orphansClear';
import { Log } from './seams';

/** What the tree and the QuickPick show of an orphan. */
export interface OrphanView {
  pid: number;
  startTime?: number;
  ageMs?: number;
  rssBytes?: number;
  cmdline: string;
  reason: string;
}

export interface OrphanItem extends OrphanView {
  /** The detected orphan, handed back to clearing unchanged. */
  orphan: Orphan;
}

/** One scan: the orphans found, and why the process table could not be read in full when it could not (some may be missing then). */
export interface OrphanScan<T extends OrphanView = OrphanItem> {
  items: T[];
  incomplete?: string;
  /**
   * How many lines the scan wrote to the log about what it could not judge (checkpoints skipped,
   * candidates not corroborated, processes of another PID namespace): the one asking is told.
   */
  logged?: number;
}

/** One orphan's end, with everything below it: cleared, or not and why (a code, and the sentence to show). */
export interface OrphanClearOutcome {
  pid: number;
  ok: boolean;
  /** Set when not ok. */
  reason?: ClearReason;
  message: string;
}

export interface OrphanClearOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, pid: number) => void;
}

export interface OrphanSourceOptions {
  checkpointDir: string;
  /** Extra command-line patterns (sources validated by regexPatternProblem) on top of the defaults. */
  patterns: () => readonly string[];
  graceMs: () => number;
  log: Log;
}

export interface OrphanSourceApi {
  scan(): Promise<OrphanScan>;
  clear(items: readonly OrphanItem[], opts?: OrphanClearOptions): Promise<OrphanClearOutcome[]>;
}

export function createOrphanSource(o: OrphanSourceOptions): OrphanSourceApi {
  return {
    async scan() {
      const patterns = [...DEFAULT_ORPHAN_PATTERNS, ...o.patterns().map((p) => new RegExp(p))];
      // Our own registry: a loose directory is tightened, a file that is not ours is skipped unread.
      const r = await findOrphans({ checkpointDirs: [o.checkpointDir], ownDirs: true, patterns });
      for (const p of r.problems) o.log.warn(`orphans: ${p}`);
      for (const n of r.notCorroborated) o.log.warn(`orphans: ${describeNotCorroborated(n)}`);
      const items = r.orphans.map((x) => ({
        pid: x.pid,
        startTime: x.fingerprint.startTime,
        ageMs: x.ageMs,
        rssBytes: x.rss,
        cmdline: x.command,
        reason: x.reasonText,
        orphan: x,
      }));
      const logged = r.problems.length + r.notCorroborated.length;
      return { items, incomplete: r.incomplete, ...(logged ? { logged } : {}) };
    },
    async clear(items, opts = {}) {
      const summary = await clearOrphans(
        items.map((i) => i.orphan),
        {
          graceMs: o.graceMs(),
          signal: opts.signal,
          onProgress: (p) => opts.onProgress?.(p.done, p.total, p.orphan.pid),
        },
      );
      const outcomes = items.map((i): OrphanClearOutcome => {
        const mine = summary.results.filter((r) => r.orphanPid === i.pid);
        const self = mine.find((r) => r.pid === i.pid);
        const left = summary.remaining.filter((pid) => pid === i.pid || i.orphan.descendants.some((d) => d.pid === pid));
        if (left.length === 0 && self?.outcome !== 'refused') {
          return { pid: i.pid, ok: true, message: self?.outcome === 'already-gone' ? 'already gone' : `ended (${mine.length} process${mine.length === 1 ? '' : 'es'})` };
        }
        const refused = self?.outcome === 'refused' ? self : undefined;
        // Not refused, yet something of it is still there (it, or a descendant that outlived it).
        return refused ? { pid: i.pid, ok: false, reason: refused.reason, message: refused.why } : { pid: i.pid, ok: false, reason: 'survived', message: `still running: ${left.join(', ')}` };
      });
      // Dead hosts' checkpoints go once nothing they recorded is alive.
      const pruned = pruneStaleCheckpoints(o.checkpointDir);
      for (const p of pruned.problems) o.log.warn(`orphans: ${p}`);
      if (pruned.deleted.length) o.log.info(`removed ${pruned.deleted.length} stale checkpoint(s)`);
      return outcomes;
    },
  };
}
