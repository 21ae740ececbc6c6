// Feeds the host's ProcessRegistry from the supervisor: the gateway when it is ready and when it
// exits, each worker from `worker.started` / `worker.exited`. One registry per host lifetime.
import { ProcessRegistry } from '../core/registry';
import { Disposable } from './emitter';
import { Log, nullLog } from './seams';
import { GatewaySupervisor } from './supervisor';

export function bindRegistry(registry: ProcessRegistry, sup: GatewaySupervisor, now: () => number = Date.now, log: Log = nullLog): Disposable {
  let bootId = registry.owner.bootId;
  const subs = [
    sup.onDidStart((gw) => {
      bootId = gw.fingerprint.bootId || bootId;
      try {
        registry.add({ role: 'gateway', fingerprint: gw.fingerprint, pgid: gw.pgid || undefined, command: gw.spec.display, startedAt: gw.startedAt });
      } catch (e) {
        log.warn(`registry: gateway ${gw.pid} not recorded: ${(e as Error).message}`);
      }
    }),
    sup.onDidExit(({ gateway, exit }) => {
      registry.markExited(gateway.pid, { code: exit.code, signal: exit.signal });
      // Workers cannot outlive their gateway for long (lifeline); their exit events are lost with
      // it, so anything still recorded as live is re-checked when the group teardown finishes.
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

/** Live worker groups the registry knows (for teardown when the gateway cannot do it). */
export function liveWorkerGroups(registry: ProcessRegistry): { pgid: number; leader: import('../core/fingerprint').Fingerprint }[] {
  return registry
    .live()
    .filter((r) => r.role === 'worker' && r.pgid !== undefined && r.pgid === r.fingerprint.pid)
    .map((r) => ({ pgid: r.pgid!, leader: r.fingerprint }));
}
