// Where the host reads a session's totals without a table scan: the cgroup tree the gateway named
// in gateway.ready (`cgroup`, cgroup containment) and each session's leaf in it. Only a tree named
// for that gateway's pid (gateway-warden-<pid>) is taken; the files are only read here, and where
// the host itself takes it down, only in a place it can corroborate (gatewayCgroupPlace).
import * as path from 'node:path';
import { locateTreeElsewhere } from '../core/cgroup/cgroupLeftovers';
import { ownCgroupDir } from '../core/cgroup/cgroupMount';
import { treePathOf } from '../core/cgroup/cgroupNames';
import { sessionLeafPath } from '../core/cgroup/cgroupTree';

/** The gateway's cgroup tree directory, or undefined without one (or a value that is not its). */
export function gatewayCgroupTree(gw: { pid: number; readyEvent?: Record<string, unknown> } | undefined): string | undefined {
  return gw && treePathOf(gw.readyEvent?.cgroup, gw.pid);
}

/**
 * The gateway's tree and the directory it is in, for the host's own take-downs (the gateway
 * crashed or does not answer): only a tree beside our own cgroup or — the gateway started in a
 * delegated systemd scope — one the kernel bears out as ours (cgroup2, no symbolic link, our uid,
 * named for that gateway). The engine checks the rest before it writes.
 */
export function gatewayCgroupPlace(gw: { pid: number; readyEvent?: Record<string, unknown> } | undefined): { tree: string; parent: string } | undefined {
  const tree = gatewayCgroupTree(gw);
  if (!gw || tree === undefined) return undefined;
  const own = ownCgroupDir();
  if (typeof own === 'string' && path.dirname(tree) === own) return { tree, parent: own };
  const where = locateTreeElsewhere(tree, gw.pid);
  return 'why' in where ? undefined : { tree, parent: where.parentDir };
}

/** A session's leaf in the tree (it may not exist: the sampler then falls back to the table). */
export function sessionCgroup(tree: string | undefined, sessionId: string): string | undefined {
  return tree === undefined ? undefined : sessionLeafPath({ path: tree }, sessionId);
}
