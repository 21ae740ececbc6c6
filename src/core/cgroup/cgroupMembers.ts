// The members of a cgroup and its descendants, from the kernel's own lists (cgroup.procs): no
// /proc scan. Bounded in depth, in cgroups visited and in pids; past a bound the answer is
// "unknown", never a short list that looks complete.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupRead, classifyCgroupError, parsePidList, readCgroupFile } from './cgroupFiles';

export const MAX_DEPTH = 8;
export const MAX_CGROUPS = 4096;
export const MAX_PIDS = 100_000;

export interface Members {
  pids: number[];
}

/** Child cgroup directories of `dir` (cgroupfs has no symlinks; a symlink would be skipped anyway). */
export function childCgroups(dir: string): CgroupRead<string[]> {
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    return { state: 'found', value: entries.filter((d) => d.isDirectory()).map((d) => join(dir, d.name)) };
  } catch (e) {
    return classifyCgroupError(e);
  }
}

/** Pids in `dir` alone (its cgroup.procs). */
export function cgroupProcs(dir: string): CgroupRead<number[]> {
  const r = readCgroupFile(`${dir}/cgroup.procs`);
  return r.state === 'found' ? { state: 'found', value: parsePidList(r.value) } : r;
}

/**
 * Pids in `dir` and every cgroup below it. 'gone' when `dir` itself does not exist; a
 * descendant removed while we walk simply has no members.
 */
export function listMembers(dir: string): CgroupRead<Members> {
  const out: Members = { pids: [] };
  let visited = 0;
  const queue: { dir: string; depth: number }[] = [{ dir, depth: 0 }];
  while (queue.length) {
    const { dir: d, depth } = queue.shift()!;
    const procs = cgroupProcs(d);
    if (procs.state === 'gone') {
      if (d === dir) return procs;
      continue;
    }
    if (procs.state === 'unknown') return procs;
    visited++;
    out.pids.push(...procs.value);
    if (out.pids.length > MAX_PIDS) return { state: 'unknown', why: `more than ${MAX_PIDS} processes under ${dir}` };
    const kids = childCgroups(d);
    if (kids.state === 'gone') continue;
    if (kids.state === 'unknown') return kids;
    if (kids.value.length && depth + 1 > MAX_DEPTH) return { state: 'unknown', why: `cgroups nested deeper than ${MAX_DEPTH} under ${dir}` };
    for (const k of kids.value) queue.push({ dir: k, depth: depth + 1 });
    if (visited + queue.length > MAX_CGROUPS) return { state: 'unknown', why: `more than ${MAX_CGROUPS} cgroups under ${dir}` };
  }
  return { state: 'found', value: out };
}
