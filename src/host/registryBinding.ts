// The one writer of the host's ProcessRegistry: the gateway when it is ready and when it exits,
// each worker from `worker.started` / `worker.exited`, and the final write at deactivate. One
// registry per host lifetime.
import { treePathOf } from '../core/cgroup/cgroupNames';
import { Fingerprint, isGone } from '../core/fingerprint';
import { ProcessRegistry } from '../core/registry';
import { Disposable } from '../core/emitter';
import { Log, nullLog } from './seams';
import { GatewaySupervisor } from './supervisor';

export function bindRegistry(registry: ProcessRegistry, sup: GatewaySupervisor, now: () => number = Date.now, log: Log = nullLog): Disposable {
  let bootId = registry.owner.bootId;
  const subs = [
    sup.onDidStart((gw) => {
      bootId = gw.fingerprint.bootId || bootId;
      // A crashed predecessor's workers still recorded live (they outlived its exit for a moment):
      // those gone by now are marked, so no later sweep acts on their records.
      markGone(registry, 'worker');
      try {
        registry.add({
          role: 'gateway', fingerprint: gw.fingerprint, pgid: gw.pgid || undefined, cgroup: treePathOf(gw.readyEvent?.cgroup, gw.pid),
          command: gw.spec.display, startedAt: gw.startedAt,
        });
      } catch (e) {
        log.warn(`registry: gateway ${gw.pid} not recorded: ${(e as Error).message}`);
      }
    }),
    sup.onDidExit(({ gateway, exit }) => {
      registry.markExited(gateway.pid, { code: exit.code, signal: exit.signal });
      // Worker exits that died with the gateway's pipe: those provably gone are marked; the
      // rest stay recorded (the crash sweep and the next activation's orphan scan see them).
      markGone(registry, 'worker');
    }),
    sup.onEvent((ev) => {
      if (ev.type === 'worker.started') {
        const pid = ev.pid;
        const startTime = ev.startTime;
        if (typeof pid !== 'number' || typeof startTime !== 'number') return;
        // A custom gateway's event can be malformed (pgid 0, a negative pid): the registry refuses
        // such a record with a throw, which must not escape into the extension host.
        const pgid = Number.isSafeInteger(ev.pgid) && (ev.pgid as number) > 0 ? (ev.pgid as number) : undefined;
        try {
          registry.add({
            role: 'worker',
            fingerprint: { pid, startTime, bootId },
            pgid,
            sessionId: typeof ev.sessionId === 'string' ? ev.sessionId : undefined,
            command: typeof ev.command === 'string' ? ev.command : 'worker',
            startedAt: now(),
          });
        } catch (e) {
          log.warn(`registry: worker.started ignored: ${(e as Error).message}`);
        }
      } else if (ev.type === 'worker.exited' && typeof ev.pid === 'number') {
        registry.markExited(ev.pid, {
          code: Number.isInteger(ev.code) ? (ev.code as number) : null, // a float would make the checkpoint unreadable
          signal: typeof ev.signal === 'string' ? ev.signal : null,
        });
      }
    }),
  ];
  return { dispose: () => subs.forEach((s) => s.dispose()) };
}


/**
 * Deactivate's last write: records that are gone on proof are marked; when nothing is left the
 * checkpoint is deleted, else it is kept for the next activation's orphan scan. Returns the pids
 * still alive (or not provably gone).
 */
export function closeRegistry(registry: ProcessRegistry): number[] {
  markGone(registry);
  const leftovers = registry.live().map((r) => r.fingerprint.pid);
  if (leftovers.length) registry.flushSync();
  else registry.deleteCheckpoint();
  registry.dispose();
  return leftovers;
}

/** Marks the live records (of one role) whose process is gone on proof; one that cannot be read now stays. */
function markGone(registry: ProcessRegistry, role?: 'worker'): void {
  for (const r of registry.live()) {
    if ((role === undefined || r.role === role) && isGone(r.fingerprint)) registry.markExited(r.fingerprint.pid, {});
  }
}

/** Live worker groups the registry knows (for teardown when the gateway cannot do it). */
export function liveWorkerGroups(registry: ProcessRegistry): { pgid: number; leader: Fingerprint }[] {
  return registry
    .live()
    .filter((r) => r.role === 'worker' && r.pgid !== undefined && r.pgid === r.fingerprint.pid)
    .map((r) => ({ pgid: r.pgid!, leader: r.fingerprint }));
}
