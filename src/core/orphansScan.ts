// The cheap orphan scan (Linux): /proc/PID/stat of every process (one small read each), and the
// rest — owner uid, command line, the owner marker from the environment, memory — only for the
// candidates orphanCandidates.ts picks and their parents (whose command lines the re-parenting
// rule asks about). Detection is told which rows were read in full (`examined`): a row read
// only from stat is never an orphan. `examine` reads more rows in place, for what goes down
// with the orphans detection found. A row that cannot be read stays a stat row (never an orphan).
import { type ProcStat, readProcCmdline, scanStatsChecked } from './procfs';
import type { ProcessInfo } from './processSource';
import { readFullRow, statInfo } from './processSourceLinux';
import { candidateRoots } from './orphanCandidates';

export interface CandidateScan {
  /** Every process: rows in `examined` are full, the others carry only what stat gives. */
  table: ProcessInfo[];
  examined: Set<number>;
  /** The stat read of each row, by pid (what `examine` reads the rest from). */
  stats: Map<number, ProcStat>;
  /** Set when some process could not be read (not: it exited): absence proves nothing then. */
  why?: string;
}

export interface CandidateScanOptions {
  reapers?: readonly number[];
  /** Pids read in full whatever their parents (checkpoint records, leftover cgroup members). */
  pinned?: Iterable<number>;
}

export function scanOrphanCandidatesSync(opts: CandidateScanOptions = {}): CandidateScan {
  const scan = scanStatsChecked();
  const table = scan.stats.map(statInfo);
  const out: CandidateScan = { table, examined: new Set(), stats: new Map(scan.stats.map((st) => [st.pid, st] as const)), why: scan.why };
  const roots = candidateRoots(table, {
    reapers: opts.reapers, pinned: opts.pinned,
    cmdlineOf: (pid) => readProcCmdline(pid).join(' '),
  });
  const byPid = new Map(table.map((p) => [p.pid, p] as const));
  const want = new Set<number>(roots);
  for (const pid of roots) {
    const ppid = byPid.get(pid)?.ppid;
    if (ppid !== undefined && ppid > 0) want.add(ppid);
  }
  examine(out, want);
  return out;
}

/** Reads the rows of `pids` (those not yet read) in full, memory included, in place. */
export function examine(scan: CandidateScan, pids: Iterable<number>): number {
  const index = new Map(scan.table.map((p, i) => [p.pid, i] as const));
  let n = 0;
  for (const pid of pids) {
    const i = index.get(pid);
    const stat = scan.stats.get(pid);
    if (i === undefined || stat === undefined || scan.examined.has(pid)) continue;
    const row = readFullRow(stat, { readMemory: true });
    if (row.state === 'found') {
      scan.table[i] = row.value;
      scan.examined.add(pid);
      n++;
    } else if (row.state === 'unknown') {
      scan.why ??= row.why;
    }
  }
  return n;
}
