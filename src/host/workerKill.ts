// Kill Worker: the gateway owns its workers, so the host asks it (`worker.kill {sessionId}`):
// it ends the worker's group (its /run children included), keeps the session and reports
// worker.exited. Only when the gateway does not answer (hung) does the host end the group
// itself — the same engine, the same checks.
import { isRpcError, RpcErrorCode } from '../core/rpc';
import { describeProblems, processGroup, teardown } from '../core/kill';
import { shutdownBoundMs } from '../core/timeouts';
import type { Fingerprint } from '../core/fingerprint';

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
}

interface KillReply {
  killed?: boolean;
  survivors?: number[];
  elapsedMs?: number;
}

export async function killWorker(d: KillWorkerDeps, sessionId: string, w: WorkerRef): Promise<{ ok: boolean; message: string }> {
  let r: KillReply | undefined;
  try {
    // The gateway answers once the group is empty (its teardown is bounded by grace + 5 s).
    r = await d.request<KillReply>('worker.kill', { sessionId }, d.graceMs + 10_000);
  } catch (e) {
    if (!(isRpcError(e) && e.code === RpcErrorCode.RequestTimeout)) throw e;
    return killGroupOfHungGateway(d, w);
  }
  if (!r?.killed) return { ok: true, message: `worker ${w.pid} had already exited` };
  if (r.survivors?.length) return { ok: false, message: `survivors after teardown: ${r.survivors.join(', ')}` };
  return { ok: true, message: `the gateway ended worker ${w.pid}'s group in ${Math.round(r.elapsedMs ?? 0)} ms` };
}

async function killGroupOfHungGateway(d: KillWorkerDeps, w: WorkerRef): Promise<{ ok: boolean; message: string }> {
  if (w.pgid !== w.pid) return { ok: false, message: 'the gateway did not answer, and the worker leads no process group the host could end' };
  const leader: Fingerprint = { pid: w.pid, startTime: w.startTime, bootId: d.bootId };
  const r = await teardown([processGroup(w.pid, leader)], { graceMs: d.graceMs, timeoutMs: shutdownBoundMs(d.graceMs) });
  const problems = describeProblems(r);
  if (problems) return { ok: false, message: `the gateway did not answer; the host's own teardown: ${problems}` };
  return { ok: true, message: `the gateway did not answer; the host ended process group ${w.pid} in ${Math.round(r.elapsedMs)} ms` };
}
