// One call for callers (CLI, command palette): load every checkpoint directory, list our
// leftover cgroups (Linux), snapshot the process table once, detect. On Linux the snapshot is
// the cheap one by default (orphansScan.ts): every process's stat, and environments only of the
// candidates; what goes down with the orphans found is read afterwards and detection re-run.
// Timings are returned so callers can show them.
import { performance } from 'node:perf_hooks';
import { CgroupTreeInfo, findLeftoverTrees, RecordedTree } from './cgroup/cgroupLeftovers';
import { Checkpoint, loadCheckpoints } from './checkpoint';
import { isGone } from './fingerprint';
import { descendantClosure } from './orphanCandidates';
import { DetectOrphansOptions, NotCorroborated, Orphan, OrphanDetection, detectOrphansDetailed } from './orphans';
import { examine, scanOrphanCandidatesSync } from './orphansScan';
import { ProcessInfo, processSource } from './processTable';

export type OrphanScanMode = 'candidates' | 'full';

export interface FindOrphansOptions extends Omit<DetectOrphansOptions, 'table' | 'checkpoints' | 'cgroupTrees' | 'examined'> {
  /** Directories of checkpoint files (missing ones are fine). */
  checkpointDirs: readonly string[];
  /** The directories are our own registry: tighten them to 0700 rather than refuse them. */
  ownDirs?: boolean;
  /**
   * Linux: 'candidates' (default) reads the environment only of processes that could be orphans
   * (orphanCandidates.ts); 'full' reads every process's, as before. Elsewhere the one tool call.
   */
  scan?: OrphanScanMode;
  /**
   * Linux: use our leftover gateway-warden-* cgroups (default: yes, unless `owners` scopes the
   * scan — a tree names a gateway, not a host — or GATEWAY_WARDEN_CGROUPS=off).
   */
  cgroups?: boolean;
  /** Only these leftover trees (directories) count; implies `cgroups` (scoping, e.g. tests). */
  onlyCgroupTrees?: readonly string[];
}

export interface FindOrphansResult {
  orphans: Orphan[];
  /** Checkpoint records naming a live process that does not bear them out (never signalled for them). */
  notCorroborated: NotCorroborated[];
  /** Checkpoint files skipped, unreadable or quarantined, directories tightened, patterns that ran out of time: one sentence each. */
  problems: string[];
  /** Why the process table could not be read in full (EMFILE, …), when it could not: orphans may be missing. */
  incomplete?: string;
  checkpoints: Checkpoint[];
  /** Every process (on the cheap scan, rows outside `examined` carry only what stat gives). */
  table: ProcessInfo[];
  /** Our cgroup trees seen (Linux; empty where cgroups are not used). */
  leftovers: CgroupTreeInfo[];
  /** How the table was read: 'candidates' or 'full' (Linux), 'tool' elsewhere. */
  scanMode: OrphanScanMode | 'tool';
  /** Rows read in full (uid, command line, marker): all of them on a full scan. */
  examined: number;
  /** Leftover cgroups + process table. */
  scanMs: number;
  /** Checkpoints + detection (+ the second read of what goes down with the orphans). */
  detectMs: number;
}

export async function findOrphans(opts: FindOrphansOptions): Promise<FindOrphansResult> {
  const t0 = performance.now();
  const linux = process.platform === 'linux';
  const useCgroups = linux && (opts.onlyCgroupTrees !== undefined || (opts.cgroups ?? opts.owners === undefined));
  // The checkpoints first: the trees their dead hosts' gateways recorded are looked at too.
  const { checkpoints, problems } = loadCheckpointDirs(opts.checkpointDirs, { tighten: opts.ownDirs });
  const tc = performance.now();
  const left = useCgroups ? findLeftoverTrees({ only: opts.onlyCgroupTrees, recorded: recordedTrees(checkpoints) }) : { trees: [], problems: [] };
  const mode: OrphanScanMode | 'tool' = linux ? (opts.scan ?? 'candidates') : 'tool';
  if (mode !== 'candidates') {
    const list = await processSource().list({ readMemory: true });
    const table = list.rows;
    const t1 = performance.now();
    const found = detectOrphansDetailed({ ...opts, table, checkpoints, cgroupTrees: left.trees });
    const t2 = performance.now();
    return result(found, [...left.problems, ...problems], list.why, checkpoints, table, left.trees, mode, table.length, t1 - tc, tc - t0 + (t2 - t1));
  }
  // Every pid the checkpoints record is a candidate, as is every member of a dead tree.
  const pinned: number[] = [];
  for (const cp of checkpoints) for (const r of cp.records) pinned.push(r.fingerprint.pid);
  for (const t of left.trees) if (t.owner === 'dead') pinned.push(...(t.members ?? []));
  const scan = scanOrphanCandidatesSync({ reapers: opts.reapers, pinned });
  const t1 = performance.now();
  const detect = () => detectOrphansDetailed({ ...opts, table: scan.table, examined: scan.examined, checkpoints, cgroupTrees: left.trees });
  let found = detect();
  // What goes down with the orphans (their trees, their groups' escapees) is read now, and
  // detection re-run so those rows are judged (a live host's marker below an orphan is spared).
  if (found.orphans.length && examine(scan, descendantClosure(scan.table, found.orphans.map((o) => o.pid))) > 0) found = detect();
  const t2 = performance.now();
  return result(found, [...left.problems, ...problems], scan.why, checkpoints, scan.table, left.trees, mode, scan.examined.size, t1 - tc, tc - t0 + (t2 - t1));
}

/** At most this many trees are taken from one checkpoint (a gateway records one; a restarted one a few). */
export const MAX_RECORDED_TREES_PER_CHECKPOINT = 8;

/**
 * The cgroup trees the gateways of provably dead hosts recorded (a delegated scope's tree lives
 * outside our own cgroup). Untrusted: findLeftoverTrees corroborates each from the kernel.
 */
export function recordedTrees(checkpoints: readonly Checkpoint[]): RecordedTree[] {
  const out: RecordedTree[] = [];
  for (const cp of checkpoints) {
    const named = cp.records.filter((r) => r.role === 'gateway' && typeof r.cgroup === 'string').slice(0, MAX_RECORDED_TREES_PER_CHECKPOINT);
    if (!named.length || !isGone(cp.owner)) continue;
    for (const r of named) out.push({ path: r.cgroup!, gatewayPid: r.fingerprint.pid, source: `checkpoint ${cp.file}` });
  }
  return out;
}

function result(
  found: OrphanDetection, problems: string[], incomplete: string | undefined, checkpoints: Checkpoint[], table: ProcessInfo[], leftovers: CgroupTreeInfo[],
  scanMode: FindOrphansResult['scanMode'], examined: number, scanMs: number, detectMs: number,
): FindOrphansResult {
  // A table read in part lists fewer orphans, never wrong ones: said, so "none found" is not read as "none".
  const unread = incomplete === undefined ? [] : [`the process table could not be read in full (${incomplete}): orphans among the processes not read are not listed`];
  return {
    orphans: found.orphans, notCorroborated: found.notCorroborated, problems: [...problems, ...found.problems, ...unread], incomplete,
    checkpoints, table, leftovers, scanMode, examined, scanMs: round(scanMs), detectMs: round(detectMs),
  };
}

/** Checkpoints from several directories (duplicates by file ignored). */
export function loadCheckpointDirs(dirs: readonly string[], opts: { tighten?: boolean } = {}): { checkpoints: Checkpoint[]; problems: string[] } {
  const checkpoints: Checkpoint[] = [];
  const problems: string[] = [];
  const files = new Set<string>();
  for (const dir of new Set(dirs)) {
    const r = loadCheckpoints(dir, { tighten: opts.tighten });
    problems.push(...r.problems);
    for (const cp of r.checkpoints) {
      if (files.has(cp.file)) continue;
      files.add(cp.file);
      checkpoints.push(cp);
    }
  }
  return { checkpoints, problems };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
