// Our trees under a parent cgroup, with their owner's state and their members from the kernel's
// own lists: what lets the orphan scan find a `setsid` escapee that dropped every marker. The
// owner (the gateway whose pid the name carries) is alive only while that pid exists, is not a
// zombie, and is inside the tree — a reused pid elsewhere is another process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readProcStatChecked } from '../procfs';
import { CgroupRead, classifyCgroupError } from './cgroupFiles';
import { listMembers } from './cgroupMembers';
import { cgroupDir, Cgroup2Mount, readProcCgroupPath } from './cgroupMount';
import { parseTreeName } from './cgroupNames';

export const MAX_TREES = 1024;

export interface CgroupTreeInfo {
  name: string;
  path: string;
  gatewayPid: number;
  owner: 'alive' | 'dead' | 'unknown';
  /** Why the owner is dead or unknown. */
  ownerWhy?: string;
  /** Owner uid of the tree's directory (who created it). */
  uid?: number;
  /** Live members of the tree and every cgroup in it; undefined when they could not be listed. */
  members?: number[];
  membersWhy?: string;
  /** Names of the tree's child cgroups (its leaves). */
  leaves: string[];
}

/** Whether the gateway `pid` is alive inside `treeDir`. */
export function treeOwnerState(mount: Cgroup2Mount, treeDir: string, pid: number): { owner: CgroupTreeInfo['owner']; why?: string } {
  const st = readProcStatChecked(pid);
  if (st.state === 'gone') return { owner: 'dead', why: `pid ${pid} does not exist` };
  if (st.state === 'unknown') return { owner: 'unknown', why: st.why };
  if (st.value.state === 'Z' || st.value.state === 'X') return { owner: 'dead', why: `pid ${pid} is a zombie` };
  const cg = readProcCgroupPath(pid);
  if (cg.state === 'gone') return { owner: 'dead', why: `pid ${pid} does not exist` };
  if (cg.state === 'unknown') return { owner: 'unknown', why: cg.why };
  const dir = cgroupDir(mount, cg.value);
  if (dir === treeDir || dir?.startsWith(`${treeDir}/`)) return { owner: 'alive' };
  return { owner: 'dead', why: `pid ${pid} is another process now (its cgroup is ${cg.value})` };
}

/** Every gateway-warden-* cgroup directly under `parentDir` (at most MAX_TREES). */
export function listCgroupTrees(mount: Cgroup2Mount, parentDir: string): CgroupRead<CgroupTreeInfo[]> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(parentDir, { withFileTypes: true });
  } catch (e) {
    return classifyCgroupError(e);
  }
  const trees: CgroupTreeInfo[] = [];
  for (const d of entries) {
    const gatewayPid = parseTreeName(d.name);
    if (!d.isDirectory() || gatewayPid === undefined) continue;
    if (trees.length >= MAX_TREES) return { state: 'unknown', why: `more than ${MAX_TREES} ${d.name.slice(0, 15)}* cgroups under ${parentDir}` };
    const dir = path.join(parentDir, d.name);
    const info: CgroupTreeInfo = { name: d.name, path: dir, gatewayPid, owner: 'unknown', leaves: [] };
    try {
      const st = fs.lstatSync(dir);
      info.uid = st.uid;
      info.leaves = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (e) {
      if (classifyCgroupError(e).state === 'gone') continue; // removed while we looked
    }
    Object.assign(info, treeOwnerState(mount, dir, gatewayPid));
    const m = listMembers(dir);
    if (m.state === 'found') info.members = m.value.pids;
    else if (m.state === 'gone') continue;
    else info.membersWhy = m.why;
    trees.push(info);
  }
  return { state: 'found', value: trees };
}
