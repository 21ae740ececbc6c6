// A snapshot of the process table on any platform, through this platform's process source
// (processSource.ts), and the tree walks over a snapshot.
import { darwinSource } from './processSourceDarwin';
import { linuxSource } from './processSourceLinux';
import { windowsSource } from './processSourceWindows';
import type { ListOptions, ProcessInfo, ProcessSource } from './processSource';

export type { ProcessInfo } from './processSource';
export { scanProcSync } from './processSourceLinux';

/** The process source of `platform` (default: this one); throws where there is none. */
export function processSource(platform: string = process.platform): ProcessSource {
  switch (platform) {
    case 'linux':
      return linuxSource;
    case 'darwin':
      return darwinSource;
    case 'win32':
      return windowsSource;
    default:
      throw new Error(`reading the process table is not supported on ${platform}`);
  }
}

/** The process table (what could be read of it). */
export async function listProcesses(opts: ListOptions = {}): Promise<ProcessInfo[]> {
  return (await processSource().list(opts)).rows;
}

/**
 * Children by parent pid. A parent link to a process younger than the child is stale and left
 * out: Windows keeps a dead parent's pid in the child's row, and pids are reused.
 */
export function childrenIndex(table: readonly ProcessInfo[]): Map<number, ProcessInfo[]> {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const idx = new Map<number, ProcessInfo[]>();
  for (const p of table) {
    const parentStart = byPid.get(p.ppid)?.startTime;
    if (parentStart !== undefined && p.startTime !== undefined && p.startTime < parentStart) continue;
    const list = idx.get(p.ppid);
    if (list) list.push(p);
    else idx.set(p.ppid, [p]);
  }
  return idx;
}

/** Every descendant of `pid` in the snapshot, parents before children. */
export function descendantsOf(table: readonly ProcessInfo[], pid: number): ProcessInfo[] {
  const idx = childrenIndex(table);
  const out: ProcessInfo[] = [];
  const queue = [pid];
  const seen = new Set<number>([pid]);
  while (queue.length) {
    for (const child of idx.get(queue.shift()!) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}
