// Whether this process can contain its children in cgroup v2, decided from what the kernel
// shows, never from guessed paths: the v2 mount (mountinfo), our own cgroup (/proc/self/cgroup),
// write access to its directory and its cgroup.procs (moving a process needs write access to
// the common ancestor's cgroup.procs), and which controllers our children would get.
// GATEWAY_WARDEN_CGROUPS=off forces "unavailable", so both paths can be tested anywhere.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { cgroupDirProblem, parseControllerList, readCgroupFile } from './cgroupFiles';
import { Cgroup2Mount, locateCgroup, readMountTable, readProcCgroupPath } from './cgroupMount';

export const CGROUPS_ENV = 'GATEWAY_WARDEN_CGROUPS';

export interface CgroupSupport {
  available: true;
  mount: Cgroup2Mount;
  /** 'unified': only cgroup2 is mounted; 'hybrid': v1 hierarchies beside it. */
  layout: 'unified' | 'hybrid';
  /** Our own v2 cgroup path, e.g. "/" or "/user.slice/…/app.scope". */
  ownCgroup: string;
  /** Its directory: where our gateway-warden-* trees are created and looked for. */
  parentDir: string;
  /**
   * Whether cgroup.kill (Linux ≥ 5.14) is there: read from our cgroup's own file when it is not
   * the hierarchy's root (which has none), else from the kernel version. A created tree says for sure.
   */
  killFile: boolean;
  /** Controllers our cgroup passes to its children (its cgroup.subtree_control). */
  delegated: string[];
  /** Controllers our cgroup itself has (its cgroup.controllers). */
  controllers: string[];
}

export interface CgroupUnavailable {
  available: false;
  /** Why, in one line, for the log. */
  reason: string;
  /** True when the environment switch turned cgroups off. */
  forced: boolean;
}

export type CgroupProbe = CgroupSupport | CgroupUnavailable;

/** True when `env` turns cgroups off (`GATEWAY_WARDEN_CGROUPS=off`, `0`, `false` or `no`). */
export function cgroupsForcedOff(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[CGROUPS_ENV]?.trim().toLowerCase();
  return v === 'off' || v === '0' || v === 'false' || v === 'no';
}

/** Kernel release "5.14.0-…" ≥ major.minor; false when it cannot be parsed. */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

function unavailable(reason: string, forced = false): CgroupUnavailable {
  return { available: false, reason, forced };
}

function canWrite(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Probes once; cheap (a handful of small reads), synchronous so a worker can call it first thing. */
export function probeCgroups(env: NodeJS.ProcessEnv = process.env): CgroupProbe {
  if (cgroupsForcedOff(env)) return unavailable(`${CGROUPS_ENV}=${env[CGROUPS_ENV]}`, true);
  if (process.platform !== 'linux') return unavailable(`cgroups are Linux only (this is ${process.platform})`);
  const mounts = readMountTable();
  if (mounts.state !== 'found') return unavailable(`cannot read /proc/self/mountinfo: ${mounts.state === 'unknown' ? mounts.why : 'gone'}`);
  if (mounts.value.cgroup2.length === 0) return unavailable('no cgroup2 filesystem is mounted');
  const own = readProcCgroupPath('self');
  if (own.state !== 'found') return unavailable(`cannot read our own cgroup: ${own.state === 'unknown' ? own.why : 'gone'}`);
  const located = locateCgroup(mounts.value, own.value);
  if (!located) return unavailable(`our cgroup ${own.value} is not visible under any cgroup2 mount`);
  const { mount, dir } = located;
  if (mount.readOnly) return unavailable(`cgroup2 at ${mount.mountPoint} is mounted read-only`);
  const problem = cgroupDirProblem(dir);
  if (problem !== undefined) return unavailable(problem === 'gone' ? `${dir} does not exist` : problem);
  if (!canWrite(dir)) return unavailable(`cannot create cgroups in ${dir} (not writable by uid ${process.getuid?.()})`);
  if (!canWrite(`${dir}/cgroup.procs`)) return unavailable(`cannot move processes: ${dir}/cgroup.procs is not writable`);
  const list = (file: string) => {
    const r = readCgroupFile(`${dir}/${file}`, 4096);
    return r.state === 'found' ? parseControllerList(r.value) : [];
  };
  const isRoot = dir === mount.mountPoint && mount.root === '/';
  const killFile = isRoot ? kernelAtLeast(os.release(), 5, 14) : fs.existsSync(`${dir}/cgroup.kill`);
  return {
    available: true,
    mount,
    layout: mounts.value.hasV1 ? 'hybrid' : 'unified',
    ownCgroup: own.value,
    parentDir: dir,
    killFile,
    delegated: list('cgroup.subtree_control'),
    controllers: list('cgroup.controllers'),
  };
}
