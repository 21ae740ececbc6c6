import * as fs from 'node:fs';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { readProcCmdline, readProcEnvVar, readProcStat } from '../../src/core/procfs';
import { waitFor } from './processes';

/** Live (non-zombie) pids whose environment has GATEWAY_WARDEN_OWNER starting with `prefix`. */
export function pidsWithMarker(prefix: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const v = readProcEnvVar(pid, OWNER_ENV);
    if (v === undefined || !v.startsWith(prefix)) continue;
    const st = readProcStat(pid);
    if (st && st.state !== 'Z') out.push(pid);
  }
  return out;
}

/**
 * Waits (with a deadline) until every one of `pids` carries the marker `prefix`, and returns the
 * marked pids then. A pid is often announced right after its fork: while it execs, its
 * environment can read empty for a moment, so one look could miss a marker that is there.
 */
export async function waitAllMarked(prefix: string, pids: readonly number[], timeoutMs = 10_000): Promise<number[]> {
  let unmarked: number[] = [];
  try {
    return await waitFor(() => {
      const marked = pidsWithMarker(prefix);
      unmarked = pids.filter((pid) => !marked.includes(pid));
      return unmarked.length === 0 ? marked : undefined;
    }, 'the marker on every expected process', timeoutMs);
  } catch {
    throw new Error(`no marker ${prefix} on ${unmarked.join(', ')} after ${timeoutMs} ms`);
  }
}

/** Live worker processes (`worker.js` in the command line) carrying the marker `prefix`. */
export function markedWorkerPids(prefix: string): number[] {
  return pidsWithMarker(prefix).filter((pid) => readProcCmdline(pid).some((a) => a.endsWith('worker.js')));
}

/**
 * Scans with `count` again and again (5 ms apart, so replies still get through) until stopped;
 * `max` is the largest count any scan saw. For "at most N at any moment" claims.
 */
export function sampleContinuously(count: () => number): { stop(): Promise<{ max: number; samples: number }> } {
  let running = true;
  let max = 0;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      max = Math.max(max, count());
      samples++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { max, samples };
    },
  };
}

/** What each pid is now, for a failure message: "pid state ppid pgid [cmdline] cgroup". */
export function describePids(pids: readonly number[]): string {
  return pids
    .map((pid) => {
      const st = readProcStat(pid);
      if (!st) return `${pid} (gone)`;
      let cgroup = '?';
      try {
        cgroup = /^0::(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1] ?? '?';
      } catch {
        // gone meanwhile
      }
      return `${pid} ${st.state} ppid ${st.ppid} pgid ${st.pgid} [${readProcCmdline(pid).join(' ').slice(0, 120)}] ${cgroup}`;
    })
    .join('; ');
}
