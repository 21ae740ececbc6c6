// Our trees under a parent cgroup, with their owner's state and their members from the kernel's
// own lists: what lets the orphan scan find a `setsid` escapee that dropped every marker. The
// owner (the gateway whose pid the name carries) is alive while that pid exists, is not a
// zombie, and is inside the tree. Dead needs proof: the pid does not exist, is a zombie, or is a
// process outside the tree that started after the tree was made (so it cannot be the gateway
// that made it: the pid was reused). A process outside the tree that is older than the tree may
// be its gateway between mkdir and moving itself in: unknown, never dead. And a tree with a
// member in another pid namespace is never dead either: the pid in its name is the gateway's own
// view of itself, and a container's gateway (its own pid namespace, the host's cgroup hierarchy)
// names its tree with a pid that means another process, or none, out here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ageFromStartTicks } from '../orphansAge';
import { pidNamespaceProblem, readProcPidNamespaceChecked, readProcStatChecked } from '../procfs';
import { CgroupRead, classifyCgroupError } from './cgroupFiles';
import { listMembers, Members } from './cgroupMembers';
import { cgroupDir, Cgroup2Mount, locateCgroup, MountTable, readMountTable, readProcCgroupPath } from './cgroupMount';
import { ourCgroupPath, parseTreeName } from './cgroupNames';
import { cgroupsForcedOff } from './cgroupProbe';
import { targetProblem } from './cgroupSafety';

/** Start-time slack for "started after the tree was made": clock ticks, uptime vs wall clock. */
const REUSE_SLACK_MS = 2000;

export const MAX_TREES = 1024;
/** At most this many trees named by checkpoints are looked at in one scan (a forged file can name thousands). */
export const MAX_RECORDED_TREES = 64;

export interface CgroupTreeInfo {
  name: string;
  path: string;
  gatewayPid: number;
  owner: 'alive' | 'dead' | 'unknown';
  /** Why the owner is dead or unknown. */
  ownerWhy?: string;
  /** Owner uid of the tree's directory (who created it). */
  uid?: number;
  /** When the tree's directory was made (its ctime: cgroupfs sets it at mkdir). */
  createdMs?: number;
  /** Live members of the tree and every cgroup in it; undefined when they could not be listed. */
  members?: number[];
  membersWhy?: string;
  /** Names of the tree's child cgroups (its leaves). */
  leaves: string[];
}

/**
 * Whether the gateway `pid` is alive inside `treeDir` (made at `createdMs`, when known).
 * `members`: the tree's members when the caller has just listed them (else they are listed here,
 * and only for a dead verdict).
 */
export function treeOwnerState(mount: Cgroup2Mount, treeDir: string, pid: number, createdMs?: number, members?: CgroupRead<Members>): { owner: CgroupTreeInfo['owner']; why?: string } {
  const state = ownerStateHere(mount, treeDir, pid, createdMs);
  if (state.owner !== 'dead') return state;
  const foreign = memberElsewhere(members ?? listMembers(treeDir));
  return foreign ? { owner: 'unknown', why: `${state.why}, but ${foreign}: the pid in the tree's name may be that namespace's` } : state;
}

/** A member of the tree in another pid namespace than ours (or one we cannot place), said in words. */
function memberElsewhere(m: CgroupRead<Members>): string | undefined {
  if (m.state === 'gone') return undefined;
  if (m.state === 'unknown') return `its members cannot be listed (${m.why})`;
  if (m.value.pids.length === 0) return undefined;
  const ours = readProcPidNamespaceChecked('self');
  if (ours.state !== 'found') return `our own pid namespace cannot be read (${ours.state === 'unknown' ? ours.why : 'gone'})`;
  for (const pid of m.value.pids) {
    if (pid === 0) return 'a member is outside our pid namespace (listed as pid 0)';
    const problem = pidNamespaceProblem(pid, ours.value);
    if (problem) return `member ${problem}`;
  }
  return undefined;
}

/** treeOwnerState by our own pid namespace's view alone. */
function ownerStateHere(mount: Cgroup2Mount, treeDir: string, pid: number, createdMs?: number): { owner: CgroupTreeInfo['owner']; why?: string } {
  const st = readProcStatChecked(pid);
  if (st.state === 'gone') return { owner: 'dead', why: `pid ${pid} does not exist` };
  if (st.state === 'unknown') return { owner: 'unknown', why: st.why };
  if (st.value.state === 'Z' || st.value.state === 'X') return { owner: 'dead', why: `pid ${pid} is a zombie` };
  const cg = readProcCgroupPath(pid);
  if (cg.state === 'gone') return { owner: 'dead', why: `pid ${pid} does not exist` };
  if (cg.state === 'unknown') return { owner: 'unknown', why: cg.why };
  const dir = cgroupDir(mount, cg.value);
  if (dir === treeDir || dir?.startsWith(`${treeDir}/`)) return { owner: 'alive' };
  const ageMs = ageFromStartTicks()(st.value.startTime);
  const treeAgeMs = createdMs === undefined ? undefined : Date.now() - createdMs;
  if (ageMs !== undefined && treeAgeMs !== undefined && ageMs + REUSE_SLACK_MS < treeAgeMs) {
    return { owner: 'dead', why: `pid ${pid} is another process now (started after the tree was made; its cgroup is ${cg.value})` };
  }
  return { owner: 'unknown', why: `pid ${pid} is alive outside the tree (in ${cg.value}) and not provably younger than it` };
}

/** One tree's uid, creation time, leaves, owner state and members; 'gone' when it was removed while we looked. */
function readTree(mount: Cgroup2Mount, dir: string, gatewayPid: number): CgroupTreeInfo | 'gone' {
  const info: CgroupTreeInfo = { name: path.basename(dir), path: dir, gatewayPid, owner: 'unknown', leaves: [] };
  try {
    const st = fs.lstatSync(dir);
    info.uid = st.uid;
    info.createdMs = st.ctimeMs;
    info.leaves = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (e) {
    if (classifyCgroupError(e).state === 'gone') return 'gone';
  }
  const m = listMembers(dir);
  const owner = treeOwnerState(mount, dir, gatewayPid, info.createdMs, m);
  info.owner = owner.owner;
  if (owner.why !== undefined) info.ownerWhy = owner.why;
  if (m.state === 'found') info.members = m.value.pids;
  else if (m.state === 'gone') return 'gone';
  else info.membersWhy = m.why;
  return info;
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
    const info = readTree(mount, path.join(parentDir, d.name), gatewayPid);
    if (info !== 'gone') trees.push(info);
  }
  return { state: 'found', value: trees };
}

/**
 * Where our leftover trees are looked for: the directory of our own v2 cgroup — or, when we run
 * inside one of our trees (a CLI started from a worker), that tree's parent. Reading needs no
 * write access; GATEWAY_WARDEN_CGROUPS=off turns it off as it turns creation off.
 */
export function leftoverParent(env: NodeJS.ProcessEnv = process.env): { mount: Cgroup2Mount; parentDir: string } | { why: string } {
  if (cgroupsForcedOff(env)) return { why: 'cgroups are turned off (GATEWAY_WARDEN_CGROUPS)' };
  if (process.platform !== 'linux') return { why: `cgroups are Linux only (this is ${process.platform})` };
  const mounts = readMountTable();
  if (mounts.state !== 'found') return { why: `cannot read /proc/self/mountinfo: ${mounts.state === 'unknown' ? mounts.why : 'gone'}` };
  if (mounts.value.cgroup2.length === 0) return { why: 'no cgroup2 filesystem is mounted' };
  const own = readProcCgroupPath('self');
  if (own.state !== 'found') return { why: `cannot read our own cgroup: ${own.state === 'unknown' ? own.why : 'gone'}` };
  const parts = own.value.split('/');
  const inTree = parts.findIndex((p) => parseTreeName(p) !== undefined);
  const cgroupPath = inTree < 0 ? own.value : parts.slice(0, inTree).join('/') || '/';
  const located = locateCgroup(mounts.value, cgroupPath);
  if (!located) return { why: `our cgroup ${cgroupPath} is not visible under any cgroup2 mount` };
  return { mount: located.mount, parentDir: located.dir };
}

export interface LeftoverScan {
  /** Every tree found (alive, dead and unknown owners alike). */
  trees: CgroupTreeInfo[];
  /** Why the trees could not be listed, or why some members are unknown: one sentence each. */
  problems: string[];
}

/** A tree a checkpoint names (a gateway's recorded `cgroup`): untrusted until recordedTreeProblem() says otherwise. */
export interface RecordedTree {
  path: string;
  /** The gateway pid the same record names. */
  gatewayPid: number;
  /** Where the record came from (a checkpoint file), for messages. */
  source: string;
}

/** The cgroup2 mount whose mount point holds `dir` (the deepest one), if any. */
function mountHolding(table: MountTable, dir: string): Cgroup2Mount | undefined {
  let best: Cgroup2Mount | undefined;
  for (const m of table.cgroup2) {
    const top = m.mountPoint === '/' ? '' : m.mountPoint;
    if ((dir === m.mountPoint || dir.startsWith(`${top}/`)) && (!best || m.mountPoint.length > best.mountPoint.length)) best = m;
  }
  return best;
}

/**
 * Why the tree directory a checkpoint names is not one of ours, 'gone' when it does not exist, or
 * its mount when the kernel bears it out: an absolute, normalised path (no `..`) whose basename is
 * a tree name carrying `gatewayPid`, inside a cgroup2 mount, a real cgroup2 directory with a
 * cgroup2 parent and no symbolic link anywhere on the way, made by our uid. (Whether its gateway
 * is dead is the owner rule's, as for any tree.)
 */
export function recordedTreeProblem(table: MountTable, tree: string, gatewayPid: number): { mount: Cgroup2Mount } | { problem: string } | 'gone' {
  const ours = ourCgroupPath(tree);
  if ('problem' in ours) return { problem: ours.problem };
  if (ours.leaf !== undefined) return { problem: `${tree} is a leaf, not a ${path.basename(ours.tree).slice(0, 15)}<pid> tree` };
  const named = parseTreeName(path.basename(tree));
  if (named !== gatewayPid) return { problem: `${tree} is named for pid ${named}, not for the recorded gateway pid ${gatewayPid}` };
  const mount = mountHolding(table, tree);
  if (!mount) return { problem: `${tree} is not under a cgroup2 mount` };
  const refused = targetProblem(tree);
  if (refused === 'gone') return 'gone';
  if (refused) return { problem: refused.why };
  let st: fs.Stats;
  try {
    if (fs.realpathSync(tree) !== tree) return { problem: `${tree} has a symbolic link on its way` };
    st = fs.lstatSync(tree);
  } catch (e) {
    const c = classifyCgroupError(e);
    return c.state === 'gone' ? 'gone' : { problem: `${tree} cannot be read: ${c.why}` };
  }
  const myUid = process.getuid?.();
  if (myUid !== undefined && st.uid !== myUid) return { problem: `${tree} belongs to uid ${st.uid}, not to us (uid ${myUid})` };
  return { mount };
}

/**
 * A tree that is not beside us (a delegated scope's, named by a record or a gateway.ready):
 * its mount and parent directory once the kernel bears it out as ours (recordedTreeProblem), or why not.
 */
export function locateTreeElsewhere(tree: string, gatewayPid: number): { mount: Cgroup2Mount; parentDir: string } | { why: string } {
  const mounts = readMountTable();
  if (mounts.state !== 'found') return { why: `cannot read the mount table${mounts.state === 'unknown' ? `: ${mounts.why}` : ''}` };
  const ok = recordedTreeProblem(mounts.value, tree, gatewayPid);
  if (ok === 'gone') return { why: `${tree} is gone` };
  if ('problem' in ok) return { why: ok.problem };
  return { mount: ok.mount, parentDir: path.dirname(tree) };
}

/** Our trees under leftoverParent(); `only` restricts them to these tree paths (scoping, e.g. tests). */
export function findLeftoverTrees(opts: { only?: readonly string[]; env?: NodeJS.ProcessEnv; recorded?: readonly RecordedTree[] } = {}): LeftoverScan {
  const where = leftoverParent(opts.env);
  if ('why' in where) return { trees: [], problems: [] }; // no cgroups: the marker scan is all there is
  const listed = listCgroupTrees(where.mount, where.parentDir);
  if (listed.state === 'gone') return { trees: [], problems: [] };
  if (listed.state === 'unknown') return { trees: [], problems: [`cannot list our cgroups under ${where.parentDir}: ${listed.why}`] };
  const found = [...listed.value];
  const problems: string[] = [];
  if (opts.recorded?.length) found.push(...recordedTrees(opts.recorded, new Set(found.map((t) => t.path)), problems));
  const trees = opts.only ? found.filter((t) => opts.only!.includes(t.path)) : found;
  problems.push(...trees
    .filter((t) => t.owner === 'dead' && t.members === undefined)
    .map((t) => `cannot list the members of the leftover cgroup ${t.path}: ${t.membersWhy}`));
  return { trees, problems };
}

/**
 * The recorded trees not already `seen` that the kernel bears out (recordedTreeProblem) and whose
 * gateway is dead by the owner rule; each refused one is one sentence in `problems`. A tree that
 * no longer exists, or whose gateway is alive or unknown, is simply not a leftover.
 */
function recordedTrees(recorded: readonly RecordedTree[], seen: Set<string>, problems: string[]): CgroupTreeInfo[] {
  const out: CgroupTreeInfo[] = [];
  const mounts = readMountTable();
  if (mounts.state !== 'found') {
    problems.push(`cannot check the cgroups that checkpoints name: ${mounts.state === 'unknown' ? mounts.why : 'no mount table'}`);
    return out;
  }
  let looked = 0;
  for (const r of recorded) {
    if (seen.has(r.path)) continue;
    seen.add(r.path);
    if (++looked > MAX_RECORDED_TREES) {
      problems.push(`more than ${MAX_RECORDED_TREES} cgroups named by checkpoints: the rest are not looked at`);
      break;
    }
    const ok = recordedTreeProblem(mounts.value, r.path, r.gatewayPid);
    if (ok === 'gone') continue;
    if ('problem' in ok) {
      problems.push(`ignored the cgroup ${JSON.stringify(r.path.slice(0, 300))} named by ${r.source}: ${ok.problem}`);
      continue;
    }
    const info = readTree(ok.mount, r.path, r.gatewayPid);
    if (info !== 'gone' && info.owner === 'dead') out.push(info);
  }
  return out;
}

/** The tree (path) a pid is in now, if it is in one of ours under `parentDir`; 'gone' when the pid is. */
export function treeOfPid(mount: Cgroup2Mount, parentDir: string, pid: number): CgroupRead<string | undefined> {
  const cg = readProcCgroupPath(pid);
  if (cg.state !== 'found') return cg;
  const dir = cgroupDir(mount, cg.value);
  if (dir === undefined || !dir.startsWith(`${parentDir === '/' ? '' : parentDir}/`)) return { state: 'found', value: undefined };
  const top = dir.slice(parentDir.length + 1).split('/')[0];
  return { state: 'found', value: parseTreeName(top) === undefined ? undefined : path.join(parentDir, top) };
}
