// The names of our cgroups, and the rule that keeps every write inside them:
//   <parent>/gateway-warden-<gateway pid>[-<n>]/gateway        the gateway itself
//   <parent>/gateway-warden-<gateway pid>[-<n>]/program        the hermes/command backend's program
//   <parent>/gateway-warden-<gateway pid>[-<n>]/s-<session id>  a session whose id is plain
//   <parent>/gateway-warden-<gateway pid>[-<n>]/h-<sha256>      any other session id
// A session id never becomes a path by itself: only a plain id is used verbatim, after a prefix
// no interface file or "."/".." can have.
import { createHash } from 'node:crypto';
import { basename, dirname, isAbsolute, normalize } from 'node:path';

export const TREE_PREFIX = 'gateway-warden-';
/** The leaf the gateway moves itself into (v2 allows no processes in a cgroup with children that have controllers). */
export const GATEWAY_LEAF = 'gateway';
/**
 * The leaf of the foreign program (hermes, command backends) and everything it starts. No session
 * leaf can take this name: theirs always begin with `s-` or `h-`.
 */
export const PROGRAM_LEAF = 'program';

const TREE_NAME = /^gateway-warden-([1-9][0-9]{0,9})(?:-([2-9]))?$/;
const PLAIN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const LEAF_NAME = /^(?:gateway|program|s-[A-Za-z0-9_-]{1,64}|h-[0-9a-f]{40})$/;

/** `gateway-warden-<pid>`, or with a suffix 2–9 when a leftover tree already has that name. */
export function treeName(gatewayPid: number, suffix?: number): string {
  if (!Number.isInteger(gatewayPid) || gatewayPid <= 0) throw new RangeError(`bad gateway pid ${gatewayPid}`);
  if (suffix !== undefined && (!Number.isInteger(suffix) || suffix < 2 || suffix > 9)) throw new RangeError(`bad tree suffix ${suffix}`);
  return `${TREE_PREFIX}${gatewayPid}${suffix === undefined ? '' : `-${suffix}`}`;
}

/** The gateway pid a tree's name carries, or undefined when `name` is not one of our trees. */
export function parseTreeName(name: string): number | undefined {
  const m = TREE_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The longest cgroup path we accept from anyone (PATH_MAX). */
export const MAX_CGROUP_PATH_CHARS = 4096;

/**
 * `tree` when it can be the tree of gateway `gatewayPid` by its name alone — an absolute,
 * normalised path (≤ MAX_CGROUP_PATH_CHARS; no `..`) whose last part is a tree name carrying that
 * pid — else undefined.
 * What a gateway.ready `cgroup` must be before the host records or sweeps it; no I/O (the kernel
 * is asked later, by whoever acts on it).
 */
export function treePathOf(tree: unknown, gatewayPid: number): string | undefined {
  if (typeof tree !== 'string' || tree.length > MAX_CGROUP_PATH_CHARS || !isAbsolute(tree) || normalize(tree) !== tree) return undefined;
  return parseTreeName(basename(tree)) === gatewayPid ? tree : undefined;
}

/** The leaf name of a session: its id when plain (≤ 64 of [A-Za-z0-9_-]), else a hash of it. */
export function sessionLeafName(sessionId: string): string {
  if (typeof sessionId !== 'string') throw new TypeError('a session id must be a string');
  if (PLAIN_ID.test(sessionId)) return `s-${sessionId}`;
  return `h-${createHash('sha256').update(sessionId, 'utf8').digest('hex').slice(0, 40)}`;
}

export function isLeafName(name: string): boolean {
  return LEAF_NAME.test(name);
}

/**
 * Where `target` sits relative to our trees: the tree directory and the leaf (if any), or why it
 * is not ours. `target` must be absolute and normalised, and end in `…/gateway-warden-N[-n]` or
 * `…/gateway-warden-N[-n]/<leaf>`; with `parent`, the tree must be that directory's child.
 */
export function ourCgroupPath(target: string, parent?: string): { tree: string; leaf?: string } | { problem: string } {
  if (typeof target !== 'string' || !isAbsolute(target) || normalize(target) !== target || target.endsWith('/')) {
    return { problem: `${JSON.stringify(target)} is not an absolute, normalised path` };
  }
  const base = basename(target);
  let tree = target;
  let leaf: string | undefined;
  if (parseTreeName(base) === undefined) {
    if (!isLeafName(base)) return { problem: `${target} is not one of our cgroups (neither ${TREE_PREFIX}<pid> nor a leaf of one)` };
    tree = dirname(target);
    leaf = base;
    if (parseTreeName(basename(tree)) === undefined) return { problem: `${target} is not inside a ${TREE_PREFIX}<pid> cgroup` };
  }
  if (parent !== undefined && dirname(tree) !== parent) return { problem: `${target} is not under ${parent}` };
  return { tree, leaf };
}
