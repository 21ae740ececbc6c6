// Where the host reads a session's totals without a table scan: the cgroup tree the gateway named
// in gateway.ready (`cgroup`, cgroup containment) and each session's leaf in it. Only a tree named
// for that gateway's pid (gateway-warden-<pid>) is taken; the files are only read, never written.
import * as path from 'node:path';
import { parseTreeName } from '../core/cgroup/cgroupNames';
import { sessionLeafPath } from '../core/cgroup/cgroupTree';

/** The gateway's cgroup tree directory, or undefined without one (or a value that is not its). */
export function gatewayCgroupTree(gw: { pid: number; readyEvent?: Record<string, unknown> } | undefined): string | undefined {
  const tree = gw?.readyEvent?.cgroup;
  if (!gw || typeof tree !== 'string' || !path.isAbsolute(tree) || path.normalize(tree) !== tree) return undefined;
  return parseTreeName(path.basename(tree)) === gw.pid ? tree : undefined;
}

/** A session's leaf in the tree (it may not exist: the sampler then falls back to the table). */
export function sessionCgroup(tree: string | undefined, sessionId: string): string | undefined {
  return tree === undefined ? undefined : sessionLeafPath({ path: tree }, sessionId);
}
