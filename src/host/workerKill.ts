// Kill Worker: the gateway owns its workers, so the host asks it (`worker.kill {sessionId, pid,
// startTime}`, naming the worker the user saw): it ends the worker's group (its /run children
// included), keeps the session and reports worker.exited — or kills nothing when that worker is
// no longer the session's (the row was stale). Only when the gateway does not answer (hung) does
// the host end the group itself — the same engine, the same checks.
import { RpcError, RpcErrorCode } from '../core/rpc';
import { cgroupDirOf } from '../core/cgroup/cgroupMount';
import { livenessOf } from '../core/fingerprint';
import { cgroupTarget, describeProblems, processGroup, Target, teardown } from '../core/kill';
import { shutdownBoundMs } from '../core/timeouts';
import type { Fingerprint } from '../core/fingerprint';
import { gatewayCgroupPlace, sessionCgroup } from './sessionCgroups';

export interface WorkerRef {
  pid: number;
  startTime: number;
  pgid?: number;
}

export interface KillWorkerDeps {
  request<T = unknown>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
  /** The boot id the gateway's fingerprints were taken in (this machine's). */
  bootId: string;
  graceMs: number;
  /**
   * The session's cgroup leaf when the gateway has a tree (cgroup containment), and the directory
   * the tree must be in: a contained worker ends at once on SIGTERM and leaves its leaf to whoever
   * sent it, so the host's own teardown takes the leaf too (its setsid escapees are only there).
   */
  sessionLeaf?: { path: string; parent: string };
  /** The GATEWAY_WARDEN_OWNER this host's processes carry (TeardownOptions.ownerMarker). */
  ownerMarker?: string;
  log?: (message: string) => void;
}

interface KillReply {
  killed?: boolean;
  survivors?: number[];
  elapsedMs?: number;
  /** 'not-current': the worker named is not the session's now; `current` is (null: none). */
  reason?: string;
  current?: { pid?: unknown } | null;
}

export async function killWorker(d: KillWorkerDeps, sessionId: string, w: WorkerRef): Promise<{ ok: boolean; message: string }> {
  let r: KillReply | undefined;
  try {
    // The gateway answers once the group is empty (its teardown is bounded by grace + 5 s).
    r = await d.request<KillReply>('worker.kill', { sessionId, pid: w.pid, startTime: w.startTime }, d.graceMs + 10_000);
  } catch (e) {
    if (!(e instanceof RpcError && e.code === RpcErrorCode.RequestTimeout)) throw e;
    return killGroupOfHungGateway(d, w);
  }
  if (!r?.killed) {
    const now = r?.reason === 'not-current' && typeof r.current?.pid === 'number' ? r.current.pid : undefined;
    // A new worker left running is worth a warning: the user asked for a kill that did not happen.
    if (now !== undefined) return { ok: false, message: `worker ${w.pid} had already exited; the session's worker is now ${now}, which was not killed` };
    return { ok: true, message: `worker ${w.pid} had already exited` };
  }
  if (r.survivors?.length) return { ok: false, message: `survivors after teardown: ${r.survivors.join(', ')}` };
  return { ok: true, message: `the gateway ended worker ${w.pid}'s group in ${Math.round(r.elapsedMs ?? 0)} ms` };
}

async function killGroupOfHungGateway(d: KillWorkerDeps, w: WorkerRef): Promise<{ ok: boolean; message: string }> {
  if (w.pgid !== w.pid) return { ok: false, message: 'the gateway did not answer, and the worker leads no process group the host could end' };
  const leader: Fingerprint = { pid: w.pid, startTime: w.startTime, bootId: d.bootId };
  // The row may be stale: only the worker it names, alive, is ended — never its session's leaf on
  // its word (a successor may be in it now), nor its group once it has no leader to vouch for it.
  const now = livenessOf(leader);
  if (now.state === 'dead') return { ok: true, message: `the gateway did not answer; worker ${w.pid} had already exited (nothing was signalled)` };
  if (now.state === 'unknown') return { ok: false, message: `the gateway did not answer, and whether worker ${w.pid} still runs cannot be read (${now.why}); nothing was signalled` };
  let leaf: Target[] = [];
  if (d.sessionLeaf) {
    const at = cgroupDirOf(w.pid);
    if (at === d.sessionLeaf.path) leaf = [cgroupTarget(d.sessionLeaf.path, { parent: d.sessionLeaf.parent })];
    else d.log?.(`kill worker ${w.pid}: not taking its session's leaf ${d.sessionLeaf.path}: the worker is ${typeof at === 'string' ? `in ${at}` : `in no cgroup that can be read (${at.why})`}`);
  }
  const r = await teardown([processGroup(w.pid, leader), ...leaf], { graceMs: d.graceMs, timeoutMs: shutdownBoundMs(d.graceMs), ownerMarker: d.ownerMarker });
  const problems = describeProblems(r);
  if (problems) return { ok: false, message: `the gateway did not answer; the host's own teardown: ${problems}` };
  return { ok: true, message: `the gateway did not answer; the host ended process group ${w.pid}${leaf.length ? ' and its cgroup leaf' : ''} in ${Math.round(r.elapsedMs)} ms` };
}

/**
 * The session's leaf in the tree the gateway named in gateway.ready (undefined without one), where
 * the host can corroborate that tree as the supervisor's sweeps do (gatewayCgroupPlace: beside our
 * own cgroup, or a delegated scope's); the engine checks the rest before writing.
 */
export function sessionLeafOf(gw: { pid: number; readyEvent?: Record<string, unknown> } | undefined, sessionId: string): KillWorkerDeps['sessionLeaf'] {
  const place = gatewayCgroupPlace(gw);
  const leaf = place && sessionCgroup(place.tree, sessionId);
  return place && leaf !== undefined ? { path: leaf, parent: place.parent } : undefined;
}
