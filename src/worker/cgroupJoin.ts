// A worker joins its session's cgroup leaf first thing, before it can start anything, so that
// everything it ever starts is born inside (no window in which a child could be created outside,
// as there would be if the gateway moved the worker after spawning it). The leaf comes from argv
// and is checked first: it must be a session leaf of the very tree the worker was born in (the
// gateway's, whose `gateway` leaf every child starts in), on a real cgroup2 filesystem.
import { join } from 'node:path';
import { ownCgroupDir } from '../core/cgroup/cgroupMount';
import { GATEWAY_LEAF, ourCgroupPath, PROGRAM_LEAF } from '../core/cgroup/cgroupNames';
import { moveInto } from '../core/cgroup/cgroupTree';

export type JoinResult = { ok: true; leaf: string } | { ok: false; why: string };

export function joinSessionCgroup(leaf: string): JoinResult {
  const ours = ourCgroupPath(leaf);
  if ('problem' in ours) return { ok: false, why: ours.problem };
  if (ours.leaf === undefined || ours.leaf === GATEWAY_LEAF || ours.leaf === PROGRAM_LEAF) return { ok: false, why: `${leaf} is not a session leaf` };
  const born = ownCgroupDir();
  if (typeof born !== 'string') return { ok: false, why: born.why };
  if (born !== join(ours.tree, GATEWAY_LEAF)) return { ok: false, why: `${leaf} is not in the tree we were started in (we are in ${born})` };
  const moved = moveInto(leaf, process.pid);
  if (!moved.ok) return { ok: false, why: moved.why };
  const now = ownCgroupDir();
  return now === leaf ? { ok: true, leaf } : { ok: false, why: `after the move we are in ${typeof now === 'string' ? now : now.why}, not ${leaf}` };
}
