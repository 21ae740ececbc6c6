// Fills a running process's descriptor table from outside: prlimit (util-linux) lowers its soft
// RLIMIT_NOFILE below the lowest descriptor number it has free, so its next open/pipe/socket fails
// with EMFILE while everything already open keeps working. Only the soft limit moves, so no
// privilege is needed to put it back. (Setting the limit before exec does not work for node:
// it raises its soft limit to the hard one at start-up.)
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/** Why fd-exhaustion tests cannot run here, or undefined when they can. */
export function fdLimitUnsupported(): string | undefined {
  if (process.platform !== 'linux') return 'Linux /proc and prlimit only';
  const r = spawnSync('prlimit', ['--version'], { stdio: 'ignore' });
  return r.status === 0 ? undefined : 'prlimit (util-linux) is not installed';
}

export interface FullFdTable {
  /** The soft limit it had before. */
  previous: number;
  /** The soft limit it has now (just below its lowest free descriptor number). */
  limit: number;
  /** How many descriptors it had open when the limit was set. */
  openFds: number;
  /**
   * Looks again and lowers the limit when a descriptor below it is free now: one that was open
   * only for a moment at the first look (start-up still settling on a loaded machine) would
   * otherwise leave a free slot, and the table would never be full. Call it while waiting for
   * the EMFILE: transient descriptors only ever make a look read high, so repeated looks converge.
   */
  tighten(): void;
  /** Puts the previous soft limit back (idempotent; harmless once the process is gone). */
  restore(): void;
}

function softLimit(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = Number(line?.split(/\s+/)[3]);
  if (!Number.isInteger(soft)) throw new Error(`cannot read the open-files limit of pid ${pid}: ${JSON.stringify(line)}`);
  return soft;
}

/** The limit that leaves no free descriptor below it, by one look at the table, and how many are open. */
function fullLimit(pid: number): { limit: number; openFds: number } {
  const open = new Set(fs.readdirSync(`/proc/${pid}/fd`).map(Number));
  let lowestFree = 0;
  while (open.has(lowestFree)) lowestFree++;
  // Two below it: a descriptor that was open only for a moment while we looked (the watched
  // process's own /proc poll and its guard thread's, say) took the lowest free numbers, and must
  // not leave a free slot under the limit once it closes. Descriptors above the limit stay usable.
  return { limit: Math.max(3, lowestFree - 2), openFds: open.size };
}

export function fillFdTable(pid: number): FullFdTable {
  const previous = softLimit(pid);
  const first = fullLimit(pid);
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${first.limit}:`]);
  let restored = false;
  const table: FullFdTable = {
    previous,
    limit: first.limit,
    openFds: first.openFds,
    tighten() {
      if (restored) return;
      let now: { limit: number; openFds: number };
      try {
        now = fullLimit(pid);
      } catch {
        return; // the process is gone: the test's own wait says so
      }
      if (now.limit >= table.limit) return;
      execFileSync('prlimit', ['--pid', String(pid), `--nofile=${now.limit}:`]);
      table.limit = now.limit;
      table.openFds = now.openFds;
    },
    restore() {
      if (restored) return;
      restored = true;
      try {
        execFileSync('prlimit', ['--pid', String(pid), `--nofile=${previous}:`], { stdio: 'ignore' });
      } catch {
        // the process is gone
      }
    },
  };
  return table;
}
