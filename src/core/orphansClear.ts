// Clearing orphans: each one is taken down with its tree by the teardown engine (every
// fingerprint re-checked right before every signal, SIGTERM → grace → SIGKILL, late children
// picked up); members of its group that escaped the tree (double fork) are roots of their own.
// An orphan found through a dead host's record or marker is corroborated again right before the
// first signal: detection's word, minutes old, is not enough to kill on.
// Orphans in one of our leftover cgroups are cleared per tree (orphansClearCgroup.ts): the whole
// tree with cgroup.kill when every member is provably ours, else each by the teardown engine.
import { Fingerprint, formatFingerprint, isGone, parseFingerprint } from './fingerprint';
import { processTree, Spare, teardown } from './kill';
import { deleteCheckpointFile, loadCheckpoints } from './checkpoint';
import type { Orphan } from './orphans';
import { CorroborationMode, corroborationProblemNow, defaultCorroboration } from './orphansCorroborate';
import { clearLeftoverTree, cgroupEvidenceProblem } from './orphansClearCgroup';
import { ClearReason, ClearResult, clearResult } from './orphansClearResult';

export type { ClearOutcome, ClearReason, ClearResult } from './orphansClearResult';

export interface ClearProgress {
  /** Orphans finished so far, and in all. */
  done: number;
  total: number;
  orphan: Orphan;
  results: ClearResult[];
}

export interface ClearOrphansOptions {
  /** Time SIGTERM gets before SIGKILL (default 500 ms). */
  graceMs?: number;
  onProgress?: (p: ClearProgress) => void;
  /** Orphans not yet started when this aborts are reported as refused, reason 'cancelled'. */
  signal?: AbortSignal;
  /** How a checkpoint orphan is corroborated again before the kill (default as detection's). */
  corroborate?: CorroborationMode;
}

/** Every process one clearing took down or left, with the counts by outcome. */
export interface ClearSummary {
  results: ClearResult[];
  killed: number;
  alreadyGone: number;
  refused: number;
  /** Pids that are still the recorded process after clearing (or cannot be shown gone). */
  remaining: number[];
  elapsedMs: number;
}

export async function clearOrphans(orphans: readonly Orphan[], opts: ClearOrphansOptions = {}): Promise<ClearSummary> {
  const started = Date.now();
  const results: ClearResult[] = [];
  let done = 0;
  let next = 0;
  // One job per leftover cgroup (all its orphans together), one per other orphan.
  const jobs: Orphan[][] = [];
  const byTree = new Map<string, Orphan[]>();
  for (const o of orphans) {
    if (o.cgroup === undefined) jobs.push([o]);
    else if (byTree.has(o.cgroup)) byTree.get(o.cgroup)!.push(o);
    else {
      const group = [o];
      byTree.set(o.cgroup, group);
      jobs.push(group);
    }
  }
  const report = (orphan: Orphan, mine: ClearResult[]) => {
    results.push(...mine);
    done++;
    try {
      opts.onProgress?.({ done, total: orphans.length, orphan, results: mine });
    } catch {
      // a progress listener's bug must not stop the sweep
    }
  };
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (opts.signal?.aborted) {
        for (const o of job) report(o, [refusedOrphan(o, 'cancelled', 'cancelled before it was signalled')]);
        continue;
      }
      if (job[0].cgroup === undefined) {
        report(job[0], await clearOne(job[0], opts));
        continue;
      }
      const perOrphan = await clearLeftoverTree(job[0].cgroup, job, opts, { clearOne: (o) => clearOne(o, opts), spare: ownedByLiveHost() });
      for (const o of job) report(o, perOrphan.get(o.pid) ?? []);
    }
  };
  // At most 8 trees at once.
  const n = Math.max(1, Math.min(8, jobs.length));
  await Promise.all(Array.from({ length: n }, worker));

  const remaining = new Set<number>();
  for (const o of orphans) {
    for (const fp of [o.fingerprint, ...o.descendants.map((d) => d.fingerprint)]) if (!isGone(fp)) remaining.add(fp.pid);
  }
  return {
    results,
    killed: results.filter((r) => r.outcome === 'killed').length,
    alreadyGone: results.filter((r) => r.outcome === 'already-gone').length,
    refused: results.filter((r) => r.outcome === 'refused').length,
    remaining: [...remaining].sort((a, b) => a - b),
    elapsedMs: Date.now() - started,
  };
}

async function clearOne(orphan: Orphan, opts: ClearOrphansOptions): Promise<ClearResult[]> {
  const unproven = await evidenceProblem(orphan, opts.corroborate ?? defaultCorroboration());
  if (unproven !== undefined) {
    return [refusedOrphan(orphan, 'not-corroborated', `pid ${orphan.pid} not signalled: not corroborated: ${unproven}`)];
  }
  // Roots: the orphan, plus descendants whose parent is not in the tree (escaped group members).
  const inTree = new Set<number>([orphan.pid]);
  const roots: { fp: Fingerprint; command?: string }[] = [{ fp: orphan.fingerprint, command: orphan.command }];
  for (const d of orphan.descendants) {
    if (!inTree.has(d.ppid)) roots.push({ fp: d.fingerprint, command: d.command });
    inTree.add(d.pid);
  }
  const commands = new Map<number, string>([[orphan.pid, orphan.command], ...orphan.descendants.map((d) => [d.pid, d.command] as const)]);
  const fps = new Map<number, Fingerprint>([[orphan.pid, orphan.fingerprint], ...orphan.descendants.map((d) => [d.pid, d.fingerprint] as const)]);
  const spare = ownedByLiveHost();
  const r = await teardown(roots.map((x) => processTree(x.fp, spare)), { graceMs: opts.graceMs });
  const out = r.processes.map((e) => clearResult(e, orphan.pid, commands.get(e.pid), fps.get(e.pid)));
  // A refusal of the whole call (bad input, an engine failure) names no process: it is the orphan's.
  for (const x of r.refusals) {
    if (x.pid === undefined && x.pgid === undefined) out.push(refusedOrphan(orphan, x.reason, x.message));
  }
  return out;
}

/**
 * Why an orphan that only a dead host's record or marker vouches for no longer bears it out now,
 * or undefined. The pattern rule stands on the process's own command line and is not re-asked.
 */
async function evidenceProblem(orphan: Orphan, mode: CorroborationMode): Promise<string | undefined> {
  if (orphan.reasons.includes('pattern-reparented')) return undefined;
  if (orphan.reasons.includes('dead-owner-cgroup')) {
    // The kernel's list still holding it in a dead gateway's tree is evidence enough on its own.
    const why = cgroupEvidenceProblem(orphan);
    if (why === undefined) return undefined;
    if (orphan.owner === undefined) return why;
  }
  if (orphan.owner === undefined) return undefined;
  // The marker rule's evidence is the marker, whatever the platform's rule for records.
  const how = orphan.reasons.includes('dead-owner-marker') ? 'marker' : mode;
  try {
    return await corroborationProblemNow(how, orphan.fingerprint, orphan.owner, orphan.recordedCommand);
  } catch (e) {
    return `it could not be checked (${(e as Error)?.message ?? String(e)})`;
  }
}

/**
 * A process that appeared below an orphan but carries the marker of a host that is alive
 * (another VS Code window started from inside the orphan's tree, say) is never touched.
 */
function ownedByLiveHost(): Spare {
  const live = new Map<string, boolean>();
  return (p) => {
    if (p.owner === undefined) return undefined;
    let alive = live.get(p.owner);
    if (alive === undefined) {
      const fp = parseFingerprint(p.owner);
      alive = fp !== undefined && !isGone(fp); // unknown (EMFILE, …) is spared too
      live.set(p.owner, alive);
    }
    return alive ? `owned by the live host ${p.owner}` : undefined;
  };
}

/** The orphan itself, refused before or instead of any signal. */
function refusedOrphan(o: Orphan, reason: ClearReason, why: string): ClearResult {
  return { pid: o.pid, fingerprint: o.fingerprint, orphanPid: o.pid, command: o.command, outcome: 'refused', reason, why, signals: [] };
}

export interface PruneCheckpointsResult {
  /** Checkpoint files deleted: their owner is dead and none of their processes is alive. */
  deleted: string[];
  /** Checkpoints kept because their owner lives or some of their processes do. */
  kept: string[];
  problems: string[];
}

/**
 * A checkpoint of another machine not written for this long is deleted: that machine's windows
 * prune their own, so one this old was left by a machine gone from the shared directory. Only
 * a file goes (nothing is signalled on another machine's word); a window there that wrote
 * nothing for 30 days writes it again at its next change.
 */
export const ELSEWHERE_CHECKPOINT_MAX_AGE_MS = 30 * 24 * 3600_000;

/**
 * Deletes the checkpoints of dead owners once nothing recorded in them is alive, and those of
 * other machines once they are older than ELSEWHERE_CHECKPOINT_MAX_AGE_MS.
 */
export function pruneStaleCheckpoints(dir: string, now = Date.now()): PruneCheckpointsResult {
  const { checkpoints, elsewhere, problems } = loadCheckpoints(dir);
  const deleted: string[] = [];
  const kept: string[] = [];
  // Proof only: an owner or record whose liveness cannot be read now keeps the file.
  const candidates = [
    ...checkpoints.map((cp) => ({ cp, stale: isGone(cp.owner) && cp.records.every((r) => isGone(r.fingerprint)), whose: `dead host ${formatFingerprint(cp.owner)}` })),
    ...elsewhere.map((cp) => ({ cp, stale: now - cp.writtenAt > ELSEWHERE_CHECKPOINT_MAX_AGE_MS, whose: `host ${formatFingerprint(cp.owner)} of machine ${cp.machine}, not written for ${ELSEWHERE_CHECKPOINT_MAX_AGE_MS / 86_400_000} days` })),
  ];
  for (const { cp, stale, whose } of candidates) {
    if (!stale) {
      kept.push(cp.file);
      continue;
    }
    try {
      if (deleteCheckpointFile(cp.file)) deleted.push(cp.file);
    } catch (e) {
      problems.push(`cannot delete stale checkpoint ${cp.file} of ${whose}: ${(e as Error).message}`);
    }
  }
  return { deleted, kept, problems };
}
