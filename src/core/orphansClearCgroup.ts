// Clearing the orphans of one leftover gateway-warden-<pid> cgroup. Right before anything is
// signalled: the tree's gateway is still provably dead (dead = proof; unknown refuses), and the
// kernel's member list is read again. When every member is provably ours — our uid, not us or an
// ancestor (cgroupSafety.checkMembers), and carrying no live host's marker (another VS Code
// window started from inside a session) — the whole tree goes down through the teardown engine's
// cgroup target: SIGTERM by pid and its grace, then cgroup.kill (no fork can slip between a scan
// and a signal), and the empty directories are removed. Otherwise each orphan goes through the
// engine by fingerprint, as any other orphan does, and the tree is removed only if that left it empty.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { leftoverParent, locateTreeElsewhere, treeOfPid, treeOwnerState } from './cgroup/cgroupLeftovers';
import { Cgroup2Mount } from './cgroup/cgroupMount';
import { listMembers } from './cgroup/cgroupMembers';
import { parseTreeName } from './cgroup/cgroupNames';
import { checkMembers } from './cgroup/cgroupSafety';
import { readPopulated } from './cgroup/cgroupFiles';
import { removeCgroups } from './cgroup/cgroupTree';
import { Fingerprint, isGone } from './fingerprint';
import { cgroupTarget, CgroupOutcome, describeProblems, ProcessOutcome, Spare, sparedWhy, teardown } from './kill';
import type { Orphan } from './orphans';
import type { ClearOrphansOptions } from './orphansClear';
import { ClearResult, clearResult } from './orphansClearResult';
import { readProcCmdline, readProcStat } from './procfs';

/** Why the tree a cgroup orphan was found in does not vouch for it now, or undefined when it does. */
export function cgroupEvidenceProblem(orphan: Orphan): string | undefined {
  if (orphan.cgroup === undefined) return 'it was not found in a cgroup';
  const where = treeLocation(orphan.cgroup);
  if ('why' in where) return `its cgroup cannot be checked: ${where.why}`;
  const now = treeOfPid(where.mount, where.parentDir, orphan.pid);
  if (now.state === 'gone') return 'it is gone';
  if (now.state === 'unknown') return `its cgroup cannot be read: ${now.why}`;
  if (now.value !== orphan.cgroup) return `it is no longer in ${orphan.cgroup}`;
  return deadTreeProblem(where.mount, orphan.cgroup);
}

/**
 * Where `tree` is, checked now: beside us (under leftoverParent()), or — a tree a dead host's
 * checkpoint recorded, elsewhere in the hierarchy — corroborated from the kernel again as at
 * detection (cgroup2, no symlink, our uid, named for a gateway). Its parent is then its own directory's.
 */
function treeLocation(tree: string): { mount: Cgroup2Mount; parentDir: string } | { why: string } {
  const own = leftoverParent();
  if ('why' in own || path.dirname(tree) === own.parentDir) return own;
  const gatewayPid = parseTreeName(path.basename(tree));
  return gatewayPid === undefined ? { why: `${tree} is not one of our cgroups` } : locateTreeElsewhere(tree, gatewayPid);
}

function deadTreeProblem(mount: Cgroup2Mount, tree: string): string | undefined {
  const gatewayPid = parseTreeName(path.basename(tree));
  if (gatewayPid === undefined) return `${tree} is not one of our cgroups`;
  let createdMs: number;
  try {
    createdMs = fs.lstatSync(tree).ctimeMs;
  } catch (e) {
    return `${tree} cannot be read: ${(e as Error).message}`;
  }
  const owner = treeOwnerState(mount, tree, gatewayPid, createdMs);
  return owner.owner === 'dead' ? undefined : `the gateway of ${tree} is not provably dead (${owner.owner}: ${owner.why ?? 'alive'})`;
}

export interface TreeClearing {
  /** The per-orphan path: the teardown engine by fingerprint (with its own corroboration). */
  clearOne: (o: Orphan) => Promise<ClearResult[]>;
  /** A process another live host owns (its marker): never signalled. */
  spare: Spare;
}

/** Clears the orphans of `tree`; results by orphan pid. */
export async function clearLeftoverTree(
  tree: string,
  orphans: readonly Orphan[],
  opts: ClearOrphansOptions,
  how: TreeClearing,
): Promise<Map<number, ClearResult[]>> {
  const out = new Map<number, ClearResult[]>(orphans.map((o) => [o.pid, []]));
  const one = async (o: Orphan) => out.get(o.pid)!.push(...(await how.clearOne(o)));
  const where = treeLocation(tree);
  const whole = 'why' in where ? undefined : wholeTreeIsOurs(where.mount, tree, how.spare);
  if ('why' in where || whole === undefined || 'problem' in whole) {
    for (const o of orphans) await one(o);
    if (!('why' in where)) removeIfEmpty(tree);
    return out;
  }
  const first = orphans[0];
  const r = await teardown([cgroupTarget(tree, { parent: where.parentDir, remove: true })], { graceMs: opts.graceMs });
  const cg = r.cgroups?.[0];
  if (r.signals.length === 0 && cg?.outcome !== 'empty' && cg?.outcome !== 'gone') {
    // Nothing was signalled through the cgroup: the per-process path decides on its own.
    for (const o of orphans) await one(o);
    removeIfEmpty(tree);
    return out;
  }
  const byPid = new Map(r.processes.map((e) => [e.pid, e]));
  const known = new Set<number>();
  const result = (pid: number, orphanPid: number, fp: Fingerprint | undefined, command: string | undefined): ClearResult => {
    known.add(pid);
    const e = byPid.get(pid);
    if (!e) {
      const gone = fp !== undefined && isGone(fp);
      return gone
        ? { pid, fingerprint: fp, orphanPid, command, outcome: 'already-gone', reason: 'gone', why: `pid ${pid} had already exited`, signals: [] }
        : { pid, fingerprint: fp, orphanPid, command, outcome: 'refused', reason: 'left-cgroup', why: `pid ${pid} was not in ${tree} when it was killed`, signals: [] };
    }
    return { pid, fingerprint: fp, orphanPid, command, ...treeRow(tree, e, cg, r.elapsedMs, describeProblems(r)), signals: [...e.signals] };
  };
  for (const o of orphans) {
    const list = out.get(o.pid)!;
    list.push(result(o.pid, o.pid, o.fingerprint, o.command));
    for (const d of o.descendants) list.push(result(d.pid, o.pid, d.fingerprint, d.command));
  }
  // Members that no orphan listed (started since detection, or nested elsewhere) went too: say so.
  for (const e of r.processes) if (!known.has(e.pid)) out.get(first.pid)!.push(result(e.pid, first.pid, undefined, whole.commands.get(e.pid)));
  // An orphan detection listed that was not in the tree at the kill (moved out by root, say): the
  // tree no longer vouches for it. The per-orphan path decides, re-checking its evidence (one
  // found by the cgroup alone is refused now; one a dead host's marker names is still taken). A
  // descendant that left while its orphan stayed is left alone: nothing vouches for it now.
  for (const o of orphans) {
    const list = out.get(o.pid)!;
    const self = list.find((x) => x.pid === o.pid);
    if (byPid.has(o.pid) || self?.outcome !== 'refused') continue;
    // What the tree's kill already ended keeps that row; the rest is the per-orphan path's word.
    const fresh = (await how.clearOne(o)).filter((x) => !byPid.has(x.pid));
    const said = new Set(fresh.map((x) => x.pid));
    out.set(o.pid, [...fresh, ...list.filter((x) => x.pid !== o.pid && !said.has(x.pid))]);
  }
  return out;
}

/** One member's row from the engine's report: how the tree's teardown ended it, or why it did not. */
function treeRow(tree: string, e: ProcessOutcome, cg: CgroupOutcome | undefined, elapsedMs: number, problems: string): Pick<ClearResult, 'outcome' | 'reason' | 'why'> {
  if (e.outcome === 'killed') {
    const killedBy = e.signals.includes('SIGKILL') && cg?.method === 'cgroup.kill' ? 'cgroup.kill' : e.signals.includes('SIGKILL') && cg?.method === 'freeze+SIGKILL' ? 'freeze + SIGKILL' : e.signals.join(', ');
    return { outcome: 'killed', why: `ended with the leftover cgroup ${tree} (${killedBy})` };
  }
  if (e.outcome === 'survived') return { outcome: 'refused', reason: 'survived', why: `${tree} was still populated after ${Math.round(elapsedMs)} ms${problems ? ` (${problems})` : ''}` };
  const { outcome, reason, why } = clearResult(e, 0);
  return reason !== undefined ? { outcome, reason, why } : { outcome, why };
}

/** Whether every member of `tree` may go down with it, checked now; the members' command lines for the report. */
function wholeTreeIsOurs(mount: Cgroup2Mount, tree: string, spare: Spare): { commands: Map<number, string> } | { problem: string } {
  const dead = deadTreeProblem(mount, tree);
  if (dead) return { problem: dead };
  const m = listMembers(tree);
  if (m.state !== 'found') return { problem: m.state === 'gone' ? `${tree} is gone` : m.why };
  const refused = checkMembers(m.value.pids);
  if (refused) return { problem: refused.why };
  const commands = new Map<number, string>();
  for (const pid of m.value.pids) {
    const why = sparedWhy(spare, { pid, ppid: readProcStat(pid)?.ppid ?? 0 });
    if (why) return { problem: `member ${pid} is spared: ${why}` };
    commands.set(pid, readProcCmdline(pid).join(' '));
  }
  return { commands };
}

function removeIfEmpty(tree: string): void {
  const p = readPopulated(tree);
  if (p.state === 'found' && !p.value) removeCgroups(tree);
}
