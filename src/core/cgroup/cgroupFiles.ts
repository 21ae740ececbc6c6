// Reading and writing cgroup v2 interface files. Every read is bounded and says what a failure
// proves: ENOENT/ENODEV mean the cgroup is gone (a removed cgroup's open files answer ENODEV);
// anything else is "unknown", never "empty". No call follows a symlink.
import { closeSync, constants, lstatSync, openSync, statfsSync, writeSync } from 'node:fs';
import { readKernelFile } from '../kernelFile';

/** statfs f_type of a cgroup2 filesystem (linux/magic.h). */
export const CGROUP2_SUPER_MAGIC = 0x63677270;

/** Default bound for one interface file: cgroup.procs of ~100k pids. */
export const MAX_CGROUP_FILE_BYTES = 1 << 20;

const GONE_CODES: readonly string[] = ['ENOENT', 'ENODEV'];

export type CgroupRead<T> =
  | { state: 'found'; value: T }
  /** Proof: the cgroup (or the file) does not exist. */
  | { state: 'gone' }
  /** The read failed in a way that proves nothing, or the file exceeded its bound. */
  | { state: 'unknown'; why: string };

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function whyOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What a failed cgroup file operation proves. */
export function classifyCgroupError(e: unknown): { state: 'gone' } | { state: 'unknown'; why: string } {
  const code = errnoOf(e);
  return code !== undefined && GONE_CODES.includes(code) ? { state: 'gone' } : { state: 'unknown', why: whyOf(e) };
}

/** The text of one interface file, up to `maxBytes` (more is "unknown"). */
export function readCgroupFile(file: string, maxBytes = MAX_CGROUP_FILE_BYTES): CgroupRead<string> {
  try {
    const bytes = readKernelFile(file, { noFollow: true, maxBytes });
    if (bytes === 'too-large') return { state: 'unknown', why: `${file} is larger than ${maxBytes} bytes` };
    return { state: 'found', value: bytes.toString('utf8') };
  } catch (e) {
    return classifyCgroupError(e);
  }
}

/** `gone`: the cgroup or file does not exist (or, for cgroup.procs, the pid is gone: ESRCH). */
export type CgroupWrite = { ok: true } | { ok: false; gone: boolean; why: string };

/** Writes `text` to an existing interface file (never creates one, never follows a symlink). */
export function writeCgroupFile(file: string, text: string): CgroupWrite {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_NOFOLLOW);
    // One write(2): the kernel parses each write as one command.
    writeSync(fd, text);
    return { ok: true };
  } catch (e) {
    const code = errnoOf(e) ?? 'EUNKNOWN';
    return { ok: false, gone: GONE_CODES.includes(code) || code === 'ESRCH', why: whyOf(e) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** "key value" lines (cgroup.events, cpu.stat, memory.stat) → numbers; other lines are skipped. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const v = Number(line.slice(sp + 1).trim());
    if (Number.isFinite(v)) out.set(line.slice(0, sp), v);
  }
  return out;
}

/** cgroup.procs → pids (one per line). A pid of 0 (a process outside our pid namespace) is kept: it is a member we cannot name. */
export function parsePidList(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const n = Number(t);
    if (Number.isInteger(n) && n >= 0) out.push(n);
  }
  return out;
}

/** A space-separated controller list (cgroup.controllers, cgroup.subtree_control). */
export function parseControllerList(text: string): string[] {
  return text.split(/\s+/).filter((c) => /^[a-z_][a-z0-9_]*$/.test(c));
}

/**
 * Why `dir` is not a real cgroup2 directory (a symlink, a plain directory, another filesystem),
 * or undefined when it is one. 'gone' when it does not exist.
 */
export function cgroupDirProblem(dir: string): string | 'gone' | undefined {
  try {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
    if (!st.isDirectory()) return `${dir} is not a directory`;
    const type = statfsSync(dir).type;
    if (type !== CGROUP2_SUPER_MAGIC) return `${dir} is not on a cgroup2 filesystem (type 0x${type.toString(16)})`;
    return undefined;
  } catch (e) {
    const c = classifyCgroupError(e);
    return c.state === 'gone' ? 'gone' : c.why;
  }
}

/** `populated` from cgroup.events: true/false, gone (the cgroup was removed, so empty), or unknown. */
export function readPopulated(dir: string): CgroupRead<boolean> {
  const r = readCgroupFile(`${dir}/cgroup.events`, 4096);
  if (r.state !== 'found') return r;
  const v = parseKeyValues(r.value).get('populated');
  return v === undefined ? { state: 'unknown', why: `no "populated" in ${dir}/cgroup.events` } : { state: 'found', value: v !== 0 };
}
