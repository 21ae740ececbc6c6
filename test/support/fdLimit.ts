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
  /** Puts the previous soft limit back (idempotent; harmless once the process is gone). */
  restore(): void;
}

function softLimit(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = Number(line?.split(/\s+/)[3]);
  if (!Number.isInteger(soft)) throw new Error(`cannot read the open-files limit of pid ${pid}: ${JSON.stringify(line)}`);
  return soft;
}

export function fillFdTable(pid: number): FullFdTable {
  const previous = softLimit(pid);
  const open = new Set(fs.readdirSync(`/proc/${pid}/fd`).map(Number));
  let lowestFree = 0;
  while (open.has(lowestFree)) lowestFree++;
  // Two below it: a descriptor that was open only for a moment while we looked (the watched
  // process's own /proc poll, say) took the lowest free number, and must not leave a free slot
  // under the limit once it closes. Descriptors above the limit stay usable.
  const limit = Math.max(3, lowestFree - 2);
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:`]);
  let restored = false;
  return {
    previous,
    limit,
    openFds: open.size,
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
}
