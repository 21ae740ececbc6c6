// Our cgroup tree: create `gateway-warden-<gateway pid>/` under our own cgroup with a leaf
// `gateway` for the gateway and one leaf per session; move processes into leaves; remove empty
// cgroups bottom-up. The tree itself never holds a process, so controllers can be enabled in its
// cgroup.subtree_control (v2's "no internal processes" rule). Directories are created 0700.
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupDirProblem, classifyCgroupError, parseControllerList, readCgroupFile, readPopulated, writeCgroupFile } from './cgroupFiles';
import { readProcStatChecked } from '../procfs';
import { cgroupProcs, childCgroups, MAX_CGROUPS, MAX_DEPTH } from './cgroupMembers';
import { GATEWAY_LEAF, ourCgroupPath, PROGRAM_LEAF, sessionLeafName, treeName } from './cgroupNames';
import type { CgroupSupport } from './cgroupProbe';
import { checkMembers, targetProblem } from './cgroupSafety';

/** Controllers we enable for the leaves when our parent delegates them. */
export const WANTED_CONTROLLERS: readonly string[] = ['memory', 'pids'];

export interface CgroupTree {
  /** Absolute directory of `gateway-warden-<pid>[-n]`. */
  path: string;
  /** The directory it was created in (our own cgroup). */
  parentDir: string;
  /** cgroup.kill exists in the tree (Linux ≥ 5.14). */
  killFile: boolean;
  /** Leftover trees with our pid's name that were still populated when we created ours. */
  skipped: string[];
}

export type TreeResult = { ok: true; tree: CgroupTree } | { ok: false; why: string };

function mkdirPrivate(dir: string): { ok: true } | { ok: false; code: string; why: string } {
  try {
    mkdirSync(dir, { mode: 0o700 });
    return { ok: true };
  } catch (e) {
    return { ok: false, code: (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN', why: (e as Error).message };
  }
}

/**
 * Creates our tree under `support.parentDir` with its `gateway` leaf and, by default, moves this
 * process into that leaf. A tree of the same name left by a dead process with our pid is removed
 * when empty, else skipped (name suffix -2 … -9) for the orphan scan to find. Any failure leaves
 * nothing behind and says why: the caller falls back to the process-group guards.
 */
export function createTree(support: CgroupSupport, opts: { gatewayPid?: number; moveSelf?: boolean } = {}): TreeResult {
  const gatewayPid = opts.gatewayPid ?? process.pid;
  const moveSelf = opts.moveSelf ?? gatewayPid === process.pid;
  const skipped: string[] = [];
  let dir: string | undefined;
  for (let suffix = 1; suffix <= 9 && dir === undefined; suffix++) {
    const candidate = join(support.parentDir, treeName(gatewayPid, suffix === 1 ? undefined : suffix));
    let made = mkdirPrivate(candidate);
    if (!made.ok && made.code === 'EEXIST') {
      const populated = readPopulated(candidate);
      if (populated.state === 'found' && !populated.value && removeCgroups(candidate).removed) made = mkdirPrivate(candidate);
    }
    if (made.ok) dir = candidate;
    else if (made.code === 'EEXIST') skipped.push(candidate);
    else return { ok: false, why: `cannot create ${candidate}: ${made.why}` };
  }
  if (dir === undefined) return { ok: false, why: `every tree name for pid ${gatewayPid} is taken by a populated leftover: ${skipped.join(', ')}` };
  const fail = (why: string): TreeResult => {
    removeCgroups(dir!);
    return { ok: false, why };
  };
  const problem = cgroupDirProblem(dir);
  if (problem !== undefined) return fail(`${dir} is not usable: ${problem}`);
  enableControllers(dir);
  const leaf = join(dir, GATEWAY_LEAF);
  const made = mkdirPrivate(leaf);
  if (!made.ok) return fail(`cannot create ${leaf}: ${made.why}`);
  if (moveSelf) {
    const moved = moveInto(leaf, process.pid);
    if (!moved.ok) return fail(moved.why);
  }
  return { ok: true, tree: { path: dir, parentDir: support.parentDir, killFile: existsSync(`${dir}/cgroup.kill`), skipped } };
}

/** Enables the wanted controllers the tree has (its cgroup.controllers) for its leaves, where it may. */
function enableControllers(dir: string): void {
  const have = readCgroupFile(`${dir}/cgroup.controllers`, 4096);
  if (have.state !== 'found') return;
  const want = parseControllerList(have.value).filter((c) => WANTED_CONTROLLERS.includes(c));
  if (want.length) writeCgroupFile(`${dir}/cgroup.subtree_control`, want.map((c) => `+${c}`).join(' '));
}

/** The leaf directory of a session (no I/O). */
export function sessionLeafPath(tree: Pick<CgroupTree, 'path'>, sessionId: string): string {
  return join(tree.path, sessionLeafName(sessionId));
}

/** Creates the session's leaf (an existing one is fine) and returns its directory. */
export function createSessionLeaf(tree: CgroupTree, sessionId: string): { ok: true; path: string } | { ok: false; why: string } {
  return createLeaf(tree, sessionLeafPath(tree, sessionId));
}

/** Creates the leaf of the hermes/command backend's program (an existing one is fine) and returns its directory. */
export function createProgramLeaf(tree: CgroupTree): { ok: true; path: string } | { ok: false; why: string } {
  return createLeaf(tree, join(tree.path, PROGRAM_LEAF));
}

function createLeaf(tree: CgroupTree, leaf: string): { ok: true; path: string } | { ok: false; why: string } {
  const bad = targetProblem(tree.path, tree.parentDir);
  if (bad !== undefined) return { ok: false, why: bad === 'gone' ? `${tree.path} no longer exists` : bad.why };
  const made = mkdirPrivate(leaf);
  if (!made.ok && made.code !== 'EEXIST') return { ok: false, why: `cannot create ${leaf}: ${made.why}` };
  const problem = cgroupDirProblem(leaf);
  return problem === undefined ? { ok: true, path: leaf } : { ok: false, why: `${leaf}: ${problem}` };
}

export type MoveResult = { ok: true } | { ok: false; gone: boolean; why: string };

/**
 * Moves process `pid` (all its threads) into `leaf`, one of our leaves. `gone` when the pid has
 * exited (ESRCH) or the leaf no longer exists.
 */
export function moveInto(leaf: string, pid: number): MoveResult {
  if (!Number.isInteger(pid) || pid <= 0) return { ok: false, gone: false, why: `bad pid ${pid}` };
  const ours = ourCgroupPath(leaf);
  if ('problem' in ours) return { ok: false, gone: false, why: ours.problem };
  if (ours.leaf === undefined) return { ok: false, gone: false, why: `${leaf} is a tree, not a leaf: processes live only in leaves` };
  const bad = targetProblem(leaf);
  if (bad === 'gone') return { ok: false, gone: true, why: `${leaf} does not exist` };
  if (bad !== undefined) return { ok: false, gone: false, why: bad.why };
  const w = writeCgroupFile(`${leaf}/cgroup.procs`, String(pid));
  return w.ok ? w : { ok: false, gone: w.gone, why: `cannot move pid ${pid} into ${leaf}: ${w.why}` };
}

/**
 * Moves a process from one of our leaves into another — a hermes worker, which hermes starts in
 * the program's leaf, into its session's — only while it is still the process that was seen (its
 * start time), still a member of `from` (the kernel's list) and still ours (our uid): a pid that
 * died and was reused elsewhere, or another user's process, is never pulled into our tree, to be
 * killed with it later. What it had already started stays in `from`; what it starts from now on
 * is born in `to`.
 */
export function moveMember(proc: { pid: number; startTime: number }, from: string, to: string): MoveResult {
  const st = readProcStatChecked(proc.pid);
  if (st.state === 'gone') return { ok: false, gone: true, why: `pid ${proc.pid} has exited` };
  if (st.state === 'unknown') return { ok: false, gone: false, why: `cannot read pid ${proc.pid}: ${st.why}` };
  if (st.value.startTime !== proc.startTime) return { ok: false, gone: true, why: `pid ${proc.pid} is another process now` };
  // Never another user's (a setuid program's: the kernel would let root move it, and our leaf's
  // kill take it), nor PID 1, ourselves or an ancestor: the one member rule before any cgroup write.
  const bad = checkMembers([proc.pid]);
  if (bad) return { ok: false, gone: false, why: bad.why };
  const members = cgroupProcs(from);
  if (members.state !== 'found') return { ok: false, gone: false, why: `cannot list ${from}: ${members.state === 'gone' ? 'it does not exist' : members.why}` };
  if (!members.value.includes(proc.pid)) return { ok: false, gone: false, why: `pid ${proc.pid} is not in ${from}` };
  return moveInto(to, proc.pid);
}

/**
 * Moves `pid` (the gateway, at its exit) out of the tree, back into the cgroup the tree was made
 * in, so that its own leaf can be removed: a cgroup with a live member cannot be.
 */
export function moveBackToParent(tree: Pick<CgroupTree, 'path' | 'parentDir'>, pid = process.pid): MoveResult {
  const ours = ourCgroupPath(tree.path, tree.parentDir);
  if ('problem' in ours) return { ok: false, gone: false, why: ours.problem };
  const problem = cgroupDirProblem(tree.parentDir);
  if (problem !== undefined) return { ok: false, gone: problem === 'gone', why: problem === 'gone' ? `${tree.parentDir} does not exist` : problem };
  const w = writeCgroupFile(`${tree.parentDir}/cgroup.procs`, String(pid));
  return w.ok ? w : { ok: false, gone: w.gone, why: `cannot move pid ${pid} back into ${tree.parentDir}: ${w.why}` };
}

export interface RemoveResult {
  /** `dir` no longer exists. */
  removed: boolean;
  /** Directories that could not be removed, with why (EBUSY: still populated). */
  left: { dir: string; why: string }[];
}

/**
 * Removes `dir` (one of our trees or leaves) and every cgroup below it, deepest first. A
 * populated cgroup cannot be removed (EBUSY) and stays, with its ancestors.
 */
export function removeCgroups(dir: string): RemoveResult {
  const bad = targetProblem(dir);
  if (bad === 'gone') return { removed: true, left: [] };
  if (bad !== undefined) return { removed: false, left: [{ dir, why: bad.why }] };
  const left: RemoveResult['left'] = [];
  let visited = 0;
  // rmdir first: an empty leaf (the usual case) goes in one call, without listing it (a
  // cgroup's directory lists some 25 interface files). Only one that refuses (EBUSY: it has
  // children, or members) is listed; its children go first (bounded), then it is tried again.
  const remove = (d: string, depth: number): void => {
    visited++;
    const first = rmdir(d);
    if (first === undefined) return;
    if (depth < MAX_DEPTH) {
      const kids = childCgroups(d);
      if (kids.state === 'found' && kids.value.length > 0) {
        for (const k of kids.value) if (visited < MAX_CGROUPS) remove(k, depth + 1);
        const again = rmdir(d);
        if (again !== undefined) left.push({ dir: d, why: again });
        return;
      }
    }
    left.push({ dir: d, why: first });
  };
  remove(dir, 0);
  return { removed: !existsSync(dir), left };
}

/** rmdir(2): undefined when removed (or already gone), else why not. */
function rmdir(d: string): string | undefined {
  try {
    rmdirSync(d);
    return undefined;
  } catch (e) {
    const c = classifyCgroupError(e);
    return c.state === 'gone' ? undefined : c.why;
  }
}
