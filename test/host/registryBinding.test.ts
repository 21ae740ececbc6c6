import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { recordProblem } from '../../src/core/checkpoint';
import { ProcessRegistry } from '../../src/core/registry';
import { Emitter } from '../../src/core/emitter';
import type { GatewayEvent } from '../../src/host/gatewayProcess';
import { bindRegistry } from '../../src/host/registryBinding';
import { treePathOf } from '../../src/core/cgroup/cgroupNames';
import type { GatewaySupervisor } from '../../src/host/supervisor';
import { memoryLog } from './fakeGatewaySpec';
import { fingerprintOf } from '../../src/core/fingerprint';
import { killTracked, spawnTracked, waitFor } from '../support/processes';
import { deadFingerprint } from '../process/orphansScene';

after(killTracked);

test('malformed worker events from a custom gateway are logged and skipped, never thrown into the host', async () => {
  const owner = { pid: process.pid, startTime: 1, bootId: 'b' };
  const registry = new ProcessRegistry({ owner });
  const events = new Emitter<GatewayEvent>();
  const idle = new Emitter<never>();
  const sup = { onDidStart: idle.event, onDidExit: idle.event, onEvent: events.event } as unknown as GatewaySupervisor;
  const log = memoryLog();
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    const binding = bindRegistry(registry, sup, Date.now, log);
    events.fire({ type: 'worker.started', sessionId: 's', pid: 4242, startTime: 7, pgid: 0 }); // pgid 0: recorded without a group
    events.fire({ type: 'worker.started', sessionId: 's', pid: -5, startTime: 7, pgid: -5 }); // not a pid: refused
    await new Promise((r) => setImmediate(r)); // the Emitter rethrows listener errors in a microtask
    assert.deepEqual(uncaught, []);
    assert.deepEqual(registry.live().map((r) => [r.fingerprint.pid, r.pgid]), [[4242, undefined]]);
    assert.ok(log.lines.some((l) => /^warn registry: worker\.started ignored: .*invalid record/.test(l)), log.lines.join('\n'));
    binding.dispose();
  } finally {
    process.off('uncaughtException', onUncaught);
    registry.dispose();
  }
});

test('a worker.exited with a non-integer code records null, so the checkpoint stays loadable', () => {
  const owner = { pid: process.pid, startTime: 1, bootId: 'b' };
  const registry = new ProcessRegistry({ owner });
  const events = new Emitter<GatewayEvent>();
  const idle = new Emitter<never>();
  const sup = { onDidStart: idle.event, onDidExit: idle.event, onEvent: events.event } as unknown as GatewaySupervisor;
  const binding = bindRegistry(registry, sup, Date.now, memoryLog());
  events.fire({ type: 'worker.started', sessionId: 's', pid: 4243, startTime: 8, pgid: 4243 });
  events.fire({ type: 'worker.exited', sessionId: 's', pid: 4243, code: 1.5, signal: 7 });
  const rec = registry.all().find((r) => r.fingerprint.pid === 4243)!;
  assert.ok(rec.exitedAt !== undefined);
  assert.equal(rec.exitCode, null);
  assert.equal(rec.exitSignal, null);
  assert.equal(recordProblem(rec), undefined);
  binding.dispose();
  registry.dispose();
});

test('the gateway\'s record carries its cgroup tree from gateway.ready, only when it is an absolute tree named for that gateway', () => {
  const owner = { pid: process.pid, startTime: 1, bootId: 'b' };
  const registry = new ProcessRegistry({ owner });
  const started = new Emitter<unknown>();
  const idle = new Emitter<never>();
  const sup = { onDidStart: started.event, onDidExit: idle.event, onEvent: idle.event } as unknown as GatewaySupervisor;
  const binding = bindRegistry(registry, sup, Date.now, memoryLog());
  const gw = (pid: number, cgroup: unknown) => ({ pid, pgid: pid, fingerprint: { pid, startTime: 9, bootId: 'b' }, spec: { display: 'gw' }, startedAt: 1, readyEvent: { type: 'gateway.ready', cgroup } });
  started.fire(gw(4301, '/sys/fs/cgroup/run-u1.scope/gateway-warden-4301'));
  started.fire(gw(4302, null));
  assert.equal(registry.all().find((r) => r.fingerprint.pid === 4301)?.cgroup, '/sys/fs/cgroup/run-u1.scope/gateway-warden-4301');
  assert.equal(registry.all().find((r) => r.fingerprint.pid === 4302)?.cgroup, undefined);
  assert.equal(recordProblem(registry.all().find((r) => r.fingerprint.pid === 4301)!), undefined);
  for (const bad of ['/x/gateway-warden-4300', 'rel/gateway-warden-4301', '/x/gateway-warden-4301/s-a', 42, `/${'x'.repeat(5000)}/gateway-warden-4301`]) {
    assert.equal(treePathOf(bad, 4301), undefined, String(bad).slice(0, 40));
  }
  binding.dispose();
  registry.dispose();
});


test('a new gateway\'s start marks the workers of the last one that are gone by now (a crash left them recorded live): no later sweep acts on their records', async () => {
  const owner = { pid: process.pid, startTime: 1, bootId: 'b' };
  const registry = new ProcessRegistry({ owner });
  const started = new Emitter<unknown>();
  const events = new Emitter<GatewayEvent>();
  const idle = new Emitter<never>();
  const sup = { onDidStart: started.event, onDidExit: idle.event, onEvent: events.event } as unknown as GatewaySupervisor;
  const live = spawnTracked('sleep', ['1000'], { stdio: 'ignore' });
  const liveFp = await waitFor(() => fingerprintOf(live.pid!), 'the live worker');
  const dead = await deadFingerprint();
  const binding = bindRegistry(registry, sup, Date.now, memoryLog());
  const gw = (pid: number) => ({ pid, pgid: pid, fingerprint: { pid, startTime: 9, bootId: liveFp.bootId }, spec: { display: 'gw' }, startedAt: 1 });
  started.fire(gw(4401));
  for (const w of [liveFp, dead]) events.fire({ type: 'worker.started', sessionId: 's', pid: w.pid, startTime: w.startTime, pgid: w.pid });
  assert.deepEqual(registry.live().filter((r) => r.role === 'worker').map((r) => r.fingerprint.pid).sort(), [liveFp.pid, dead.pid].sort());
  started.fire(gw(4402));
  assert.deepEqual(registry.live().filter((r) => r.role === 'worker').map((r) => r.fingerprint.pid), [liveFp.pid], 'only the provably gone one is marked');
  binding.dispose();
  registry.dispose();
  live.kill('SIGKILL');
});
