// One call for callers (CLI, command palette): snapshot the process table once, load every
// checkpoint directory, detect. Timings are returned so callers can show them.
import { performance } from 'node:perf_hooks';
import { Checkpoint, loadCheckpoints } from './checkpoint';
import { DetectOrphansOptions, NotCorroborated, Orphan, detectOrphansDetailed } from './orphans';
import { ProcessInfo, listProcesses } from './processTable';

export interface FindOrphansOptions extends Omit<DetectOrphansOptions, 'table' | 'checkpoints'> {
  /** Directories of checkpoint files (missing ones are fine). */
  checkpointDirs: readonly string[];
  /** The directories are our own registry: tighten them to 0700 rather than refuse them. */
  ownDirs?: boolean;
}

export interface FindOrphansResult {
  orphans: Orphan[];
  /** Checkpoint records naming a live process that does not bear them out (never signalled for them). */
  notCorroborated: NotCorroborated[];
  /** Checkpoint files skipped, unreadable or quarantined, directories tightened, patterns that ran out of time: one sentence each. */
  problems: string[];
  checkpoints: Checkpoint[];
  table: ProcessInfo[];
  scanMs: number;
  detectMs: number;
}

export async function findOrphans(opts: FindOrphansOptions): Promise<FindOrphansResult> {
  const t0 = performance.now();
  const table = await listProcesses({ readMemory: true });
  const t1 = performance.now();
  const { checkpoints, problems } = loadCheckpointDirs(opts.checkpointDirs, { tighten: opts.ownDirs });
  const found = detectOrphansDetailed({ ...opts, table, checkpoints });
  const t2 = performance.now();
  return {
    orphans: found.orphans, notCorroborated: found.notCorroborated, problems: [...problems, ...found.problems],
    checkpoints, table, scanMs: round(t1 - t0), detectMs: round(t2 - t1),
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
