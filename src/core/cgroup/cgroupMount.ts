// Where the cgroup v2 hierarchy is mounted (from /proc/self/mountinfo, never a guessed path) and
// which v2 cgroup a process is in (the "0::" line of /proc/PID/cgroup), mapped to a directory.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readProcText } from '../procfs';
import { CgroupRead, classifyCgroupError } from './cgroupFiles';

export interface Cgroup2Mount {
  /** Where it is mounted, e.g. /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid). */
  mountPoint: string;
  /** The cgroup path the mount shows at its top ("/" unless a subtree is bind-mounted). */
  root: string;
  readOnly: boolean;
}

export interface MountTable {
  cgroup2: Cgroup2Mount[];
  /** cgroup v1 hierarchies are mounted too (a hybrid layout). */
  hasV1: boolean;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Parses /proc/PID/mountinfo: `id parent maj:min root mountpoint opts [optional...] - fstype source superopts`.
 * Lines it cannot parse are skipped.
 */
export function parseMountInfo(text: string): MountTable {
  const table: MountTable = { cgroup2: [], hasV1: false };
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0 || sep + 1 >= f.length) continue;
    const fstype = f[sep + 1];
    if (fstype === 'cgroup') table.hasV1 = true;
    if (fstype !== 'cgroup2') continue;
    const opts = f[5].split(',');
    table.cgroup2.push({ mountPoint: unescapeMountField(f[4]), root: unescapeMountField(f[3]), readOnly: opts.includes('ro') });
  }
  return table;
}

/**
 * The v2 cgroup path from /proc/PID/cgroup text (the `0::/path` line), or why there is none.
 * A path with a ".." segment means the cgroup lies outside our cgroup namespace: not usable.
 */
export function parseProcCgroup(text: string): { path: string } | { problem: string } {
  for (const line of text.split('\n')) {
    if (!line.startsWith('0::')) continue;
    let p = line.slice(3);
    if (p.endsWith(' (deleted)')) return { problem: `the cgroup ${p} was removed` };
    if (!p.startsWith('/')) return { problem: `unexpected cgroup path ${JSON.stringify(p)}` };
    if (p.split('/').includes('..')) return { problem: `the cgroup ${p} is outside this cgroup namespace` };
    if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
    return { path: p };
  }
  return { problem: 'no cgroup v2 entry (0::) in /proc/PID/cgroup' };
}

export function readMountTable(): CgroupRead<MountTable> {
  try {
    return { state: 'found', value: parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')) };
  } catch (e) {
    const c = classifyCgroupError(e);
    // /proc/self always exists while we run: a missing file is "no /proc", not a gone process.
    return c.state === 'gone' ? { state: 'unknown', why: '/proc/self/mountinfo does not exist' } : c;
  }
}

/** The v2 cgroup path of `pid` ('gone' when the process is; a path problem is 'unknown'). */
export function readProcCgroupPath(pid: number | 'self'): CgroupRead<string> {
  let text: string;
  try {
    text = readProcText(pid, 'cgroup');
  } catch (e) {
    return classifyCgroupError(e);
  }
  const p = parseProcCgroup(text);
  return 'path' in p ? { state: 'found', value: p.path } : { state: 'unknown', why: p.problem };
}

/** The directory of cgroup `cgroupPath` under `mount`, or undefined when the mount does not show it. */
export function cgroupDir(mount: Cgroup2Mount, cgroupPath: string): string | undefined {
  const root = mount.root === '/' ? '' : mount.root.replace(/\/$/, '');
  if (cgroupPath !== root && !cgroupPath.startsWith(`${root}/`) && root !== '') return undefined;
  const rel = cgroupPath.slice(root.length);
  return rel === '' || rel === '/' ? mount.mountPoint : join(mount.mountPoint, rel);
}

/** This process's own v2 cgroup directory now (its 0:: line under the mount that shows it), or why not. */
export function ownCgroupDir(): string | { why: string } {
  return cgroupDirOf('self');
}

/** The directory of a process's cgroup (ownCgroupDir for another process), or why it cannot be told. */
export function cgroupDirOf(pid: number | 'self'): string | { why: string } {
  const whose = pid === 'self' ? 'our cgroup' : `the cgroup of pid ${pid}`;
  const mounts = readMountTable();
  if (mounts.state !== 'found') return { why: `cannot read the mount table${mounts.state === 'unknown' ? `: ${mounts.why}` : ''}` };
  const own = readProcCgroupPath(pid);
  if (own.state !== 'found') return { why: `cannot read ${whose}${own.state === 'unknown' ? `: ${own.why}` : ''}` };
  const located = locateCgroup(mounts.value, own.value);
  return located ? located.dir : { why: `${whose} ${own.value} is not under a cgroup2 mount` };
}

/** The first cgroup2 mount that shows `cgroupPath`, with that cgroup's directory. */
export function locateCgroup(table: MountTable, cgroupPath: string): { mount: Cgroup2Mount; dir: string } | undefined {
  for (const mount of table.cgroup2) {
    const dir = cgroupDir(mount, cgroupPath);
    if (dir !== undefined) return { mount, dir };
  }
  return undefined;
}
