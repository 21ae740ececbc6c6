// Feeds the host's ProcessRegistry from the supervisor: the gateway when it is ready and when it
// exits, each worker from `worker.started` / `worker.exited`. One registry per host lifetime.
import { ProcessRegistry } from '../core/registry';
import { Disposable } from './emitter';
import { GatewaySupervisor } from './supervisor';

export function bindRegistry(registry: ProcessRegistry, sup: GatewaySupervisor, now: () => number = Date.now): Disposable {
  let bootId = registry.owner.bootId;
  const subs = [
    sup.onDidStart((gw) => {
      bootId = gw.fingerprint.bootId || bootId;
      registry.add({ role: 'gateway', fingerprint: gw.fingerprint, pgid: gw.pgid || undefined, command: gw.spec.display, startedAt: gw.startedAt });
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
        registry.add({
          role: 'worker',
          fingerprint: { pid, startTime, bootId },
          pgid: typeof ev.pgid === 'number' ? ev.pgid : undefined,
          sessionId: typeof ev.sessionId === 'string' ? ev.sessionId : undefined,
          command: typeof ev.command === 'string' ? ev.command : 'worker',
          startedAt: now(),
        });
      } else if (ev.type === 'worker.exited' && typeof ev.pid === 'number') {
        registry.markExited(ev.pid, {
          code: typeof ev.code === 'number' ? ev.code : null,
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
