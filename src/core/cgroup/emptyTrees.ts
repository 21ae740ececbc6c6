// The empty trees that dead gateways leave behind. A gateway whose host died leaves its tree on
// purpose (the host-gone fast end: stepping out of it to remove it cost a cgroup migration after
// the last member was dead), and one SIGKILLed with its host has nobody left to rmdir it. An
// empty tree holds no orphan, so the orphan path never clears it; removed here, by the next
// gateway's start and by the test harnesses after a run, they do not pile up one per host death
// until the leftover listing hits its bound.
import * as path from 'node:path';
import { cgroupTarget, teardownSync } from '../kill';
import { findLeftoverTrees } from './cgroupLeftovers';

/**
 * An empty tree younger than this is left alone: it may be a gateway's between its mkdir and its
 * move in (milliseconds), whose pid we cannot see — one in another pid namespace sharing this
 * hierarchy, whose pid means another process or none here.
 */
export const EMPTY_TREE_MIN_AGE_MS = 2000;

export interface EmptyTreesOptions {
  /** Our own tree, never touched. */
  except?: string;
  /** Only trees made at or after this time (ms since the epoch): a harness's own run. */
  madeSince?: number;
  /** All trees together may take this long (default 1 s); the rest wait for a later call. */
  budgetMs?: number;
  env?: NodeJS.ProcessEnv;
  log?: (m: string) => void;
}

export interface EmptyTreesResult {
  removed: string[];
  /** Empty trees of dead gateways left for a later call: younger than EMPTY_TREE_MIN_AGE_MS (or of unknown age). */
  young: string[];
}

/**
 * Removes the empty trees beside ours whose gateway is not alive in them, once old enough
 * (EMPTY_TREE_MIN_AGE_MS). Only our own uid's trees, only with no member, through the engine
 * (which refuses a directory that is not one of our trees). Never throws.
 *
 * An owner the leftover rule calls "unknown" counts here too: a live gateway is a member of its
 * own tree, so an empty one past the mkdir-to-move-in instant belongs to no live gateway — its
 * pid is another process now that is not provably younger than the tree (a reused pid), or means
 * another process in another pid namespace. The one live gateway an empty tree can have is one
 * that stepped out at its exit and is about to remove it itself; removing it first changes
 * nothing for it (its rmdir finds it gone). Removing an empty cgroup signals nobody.
 */
export function removeEmptyDeadTrees(opts: EmptyTreesOptions = {}): EmptyTreesResult {
  const log = opts.log ?? (() => undefined);
  const removed: string[] = [];
  const young: string[] = [];
  try {
    const uid = process.getuid?.();
    // A gateway's start-up waits for this: one budget for all trees, whatever their number (≤ 1,024 listed).
    const deadline = Date.now() + (opts.budgetMs ?? 1000);
    for (const t of findLeftoverTrees({ env: opts.env }).trees) {
      if (t.path === opts.except || t.owner === 'alive' || t.members === undefined || t.members.length > 0 || (uid !== undefined && t.uid !== uid)) continue;
      if (opts.madeSince !== undefined && (t.createdMs === undefined || t.createdMs < opts.madeSince)) continue;
      if (t.createdMs === undefined || Date.now() - t.createdMs < EMPTY_TREE_MIN_AGE_MS) {
        const why = t.createdMs === undefined ? 'its age cannot be read' : `made less than ${EMPTY_TREE_MIN_AGE_MS} ms ago`;
        log(`cgroup: left the empty tree ${t.path} for a later start: ${why}`);
        young.push(t.path);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        log('cgroup: more empty trees of dead gateways than one call removes; the next one goes on');
        break;
      }
      const r = teardownSync([cgroupTarget(t.path, { parent: path.dirname(t.path) })], { timeoutMs: Math.min(500, left) });
      if (!r.cgroups?.[0]?.removed) continue;
      removed.push(t.path);
      log(t.owner === 'dead'
        ? `cgroup: removed the empty tree of dead gateway ${t.gatewayPid} (${t.path})`
        : `cgroup: removed the empty tree ${t.path}: no gateway is in it (${t.ownerWhy ?? 'its owner is unknown'})`);
    }
  } catch (e) {
    log(`cgroup: could not look for empty trees of dead gateways: ${(e as Error).message}`);
  }
  return { removed, young };
}
