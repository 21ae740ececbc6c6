// Kill Worker: end the worker's process group (its /run children included). The gateway sees
// the exit and reports worker.exited; the session survives and respawns a worker on next use.
import { killGroup, killTree } from '../core/kill';
import { Fingerprint, selfFingerprint } from '../core/fingerprint';

export interface WorkerRef {
  pid: number;
  startTime: number;
  pgid?: number;
}

export async function killWorkerGroup(w: WorkerRef, graceMs: number, bootId = defaultBootId()): Promise<{ ok: boolean; message: string }> {
  const leader: Fingerprint = { pid: w.pid, startTime: w.startTime, bootId };
  if (process.platform !== 'win32' && w.pgid === w.pid) {
    const r = await killGroup(w.pgid, { graceMs, timeoutMs: graceMs + 3000, leader });
    if (r.refused) return { ok: false, message: `refused: ${r.refused}` };
    if (r.survivors.length) return { ok: false, message: `survivors after teardown: ${r.survivors.join(', ')}` };
    return { ok: true, message: `process group ${w.pgid} ended in ${Math.round(r.elapsedMs)} ms` };
  }
  const r = await killTree(leader, { graceMs, timeoutMs: graceMs + 3000 });
  if (r.refused) return { ok: false, message: `refused: ${r.refused}` };
  if (r.survivors.length) return { ok: false, message: `survivors: ${r.survivors.join(', ')}` };
  return { ok: true, message: `worker ${w.pid} and ${r.processes.length - 1} descendant(s) ended` };
}

function defaultBootId(): string {
  return selfFingerprint().bootId;
}
