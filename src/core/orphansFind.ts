// One call for callers (CLI, command palette): snapshot the process table once, load every
// checkpoint directory, detect. Timings are returned so callers can show them.
import { performance } from 'node:perf_hooks';
import { Checkpoint, loadCheckpoints } from './checkpoint';
import { DetectOrphansOptions, Orphan, detectOrphans } from './orphans';
import { ProcessInfo, listProcesses } from './processTable';

export interface FindOrphansOptions extends Omit<DetectOrphansOptions, 'table' | 'checkpoints'> {
  /** Directories of checkpoint files (missing ones are fine). */
  checkpointDirs: readonly string[];
}

export interface FindOrphansResult {
  orphans: Orphan[];
  /** Unreadable or quarantined checkpoint files, one sentence each. */
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
  const { checkpoints, problems } = loadCheckpointDirs(opts.checkpointDirs);
  const orphans = detectOrphans({ ...opts, table, checkpoints });
  const t2 = performance.now();
  return { orphans, problems, checkpoints, table, scanMs: round(t1 - t0), detectMs: round(t2 - t1) };
}

/** Checkpoints from several directories (duplicates by file ignored). */
export function loadCheckpointDirs(dirs: readonly string[]): { checkpoints: Checkpoint[]; problems: string[] } {
  const checkpoints: Checkpoint[] = [];
  const problems: string[] = [];
  const files = new Set<string>();
  for (const dir of new Set(dirs)) {
    const r = loadCheckpoints(dir);
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
