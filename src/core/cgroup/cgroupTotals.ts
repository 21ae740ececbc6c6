// A cgroup's totals from its own files, with no /proc scan: CPU from cpu.stat (present in every
// non-root v2 cgroup, with or without the cpu controller; it counts every process that has been
// a member, exited ones included), memory from memory.current when the memory controller is
// enabled for it, else the sum of its members' RSS (one small read per member). Where the memory
// controller is delegated, memory.max sets a ceiling the kernel enforces.
import * as fs from 'node:fs';
import { sumProcRss } from '../procfs';
import { CgroupRead, parseKeyValues, readCgroupFile, writeCgroupFile } from './cgroupFiles';
import { listMembers } from './cgroupMembers';
import { targetProblem } from './cgroupSafety';

export interface CgroupTotals {
  /** Live members, this cgroup and every one below it. */
  pids: number[];
  /** cpu.stat usage_usec (cumulative). */
  cpuUsageUsec?: number;
  memoryBytes?: number;
  /**
   * 'memory.current': the kernel's charge for the cgroup (page cache included); 'rss-sum': the
   * members' resident sets added up (pages they share are counted once per member).
   */
  memorySource: 'memory.current' | 'rss-sum';
  /** memory.max when the memory controller is enabled: bytes, or 'max' (no limit). */
  memoryMax?: number | 'max';
}

function readNumberFile(file: string): number | 'max' | undefined {
  const r = readCgroupFile(file, 4096);
  if (r.state !== 'found') return undefined;
  const t = r.value.trim();
  if (t === 'max') return 'max';
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

export function readCgroupTotals(dir: string): CgroupRead<CgroupTotals> {
  const members = listMembers(dir);
  if (members.state !== 'found') return members;
  const totals: CgroupTotals = { pids: members.value.pids, memorySource: 'rss-sum' };
  const cpu = readCgroupFile(`${dir}/cpu.stat`, 16 * 1024);
  if (cpu.state === 'found') totals.cpuUsageUsec = parseKeyValues(cpu.value).get('usage_usec');
  const current = readNumberFile(`${dir}/memory.current`);
  if (typeof current === 'number') {
    totals.memorySource = 'memory.current';
    totals.memoryBytes = current;
    totals.memoryMax = readNumberFile(`${dir}/memory.max`);
    return { state: 'found', value: totals };
  }
  totals.memoryBytes = sumProcRss(totals.pids).bytes; // a member that just exited adds nothing
  return { state: 'found', value: totals };
}

/**
 * Sets memory.max of one of our cgroups (bytes, rounded down by the kernel to pages, or 'max').
 * Refused with why when the memory controller is not enabled for it.
 */
export function setMemoryMax(dir: string, limit: number | 'max'): { ok: true } | { ok: false; why: string } {
  if (limit !== 'max' && (!Number.isSafeInteger(limit) || limit <= 0)) return { ok: false, why: `bad memory limit ${limit}` };
  const bad = targetProblem(dir);
  if (bad !== undefined) return { ok: false, why: bad === 'gone' ? `${dir} does not exist` : bad.why };
  if (!fs.existsSync(`${dir}/memory.max`)) return { ok: false, why: `no memory controller for ${dir} (memory.max is missing)` };
  const w = writeCgroupFile(`${dir}/memory.max`, String(limit));
  return w.ok ? w : { ok: false, why: `cannot set ${dir}/memory.max: ${w.why}` };
}
