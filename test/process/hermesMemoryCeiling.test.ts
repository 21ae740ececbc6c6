// gatewayWarden.limits.workerMemoryMB (--worker-memory-mb) with the hermes backend: a session whose
// slash worker (and what it started) uses more than the ceiling is restarted like an embedded one
// — worker.restarted with the numbers, the worker gone (seen in /proc), the session kept, and its
// next command runs in a new worker (hermes starts it). With cgroups the members are the session's
// leaf (the worker was moved there, an escapee of it too); without, the worker's own group. A
// command that was running when its worker was restarted fails saying why.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sessionLeafName } from '../../src/core/cgroup/cgroupNames';
import { RpcError } from '../../src/core/rpc';
import { cgroupsUnavailable, cleanupCgroupTrees, trackTree } from '../support/cgroups';
import { FAKE_HERMES_DIR, fakeHermesUnavailable } from '../support/fakeHermes';
import { createSession, exec, HostedGateway, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { isAlive, killTracked, track, waitFor } from '../support/processes';

after(() => {
  cleanupCgroupTrees();
  killTracked();
});

const MB = 1024 * 1024;
const LINUX = process.platform === 'linux';
const noCgroups = LINUX ? cgroupsUnavailable() : 'not Linux';

async function startHermes(mode: 'cgroup' | 'off'): Promise<HostedGateway> {
  const g = await startHostedGateway({
    args: ['--worker-memory-mb', '64', '--poll-ms', '250'],
    env: { GATEWAY_WARDEN_CGROUPS: mode === 'off' ? 'off' : '', PYTHONPATH: FAKE_HERMES_DIR, PYTHONDONTWRITEBYTECODE: '1', FAKE_HERMES_FLAVOR: 'cur' },
    backend: { name: 'hermes', cwd: FAKE_HERMES_DIR },
  });
  const ready = g.events.find((e) => e.type === 'gateway.ready')!;
  assert.equal(ready.containment, mode === 'cgroup' ? 'cgroup' : 'process-group');
  if (mode === 'cgroup') trackTree(ready.cgroup as string);
  await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'running', 'the hermes gateway to be running', 30_000);
  return g;
}

for (const mode of ['cgroup', 'off'] as const) {
  test(`hermes: above --worker-memory-mb the session's worker is restarted, the session kept, its next command in a new worker (${mode === 'cgroup' ? 'members from the session\'s leaf, its escapee gone too' : 'GATEWAY_WARDEN_CGROUPS=off: the worker\'s group'})`, { skip: !LINUX ? 'Linux only' : (mode === 'cgroup' ? noCgroups : undefined) ?? fakeHermesUnavailable(), timeout: 120_000 }, async () => {
    const g = await startHermes(mode);
    try {
      const s = await createSession(g);
      const w = await g.waitEvent((e) => e.type === 'worker.started' && e.sessionId === s, 'worker.started', 20_000);
      const worker = w.pid as number;
      const leaf = mode === 'cgroup' ? path.join(g.events.find((e) => e.type === 'gateway.ready')!.cgroup as string, sessionLeafName(s)) : undefined;
      let escapee: number | undefined;
      if (leaf) {
        await waitFor(() => fs.existsSync(leaf) && fs.readFileSync(path.join(leaf, 'cgroup.procs'), 'utf8').split('\n').includes(String(worker)), 'the worker in its session\'s leaf');
        escapee = Number(await exec(g, s, '/fake-escapee 300'));
        track(escapee);
      }
      // The sampler may see the 100 MB before the worker's reply leaves it: then the command is
      // the one cut off by the restart (said why); either way the restart below must follow.
      const alloc = await exec(g, s, '/fake-alloc 100').catch((e: unknown) => e);
      if (alloc instanceof RpcError) assert.equal((alloc.data as { reason?: string }).reason, 'memory-limit', alloc.message);
      else assert.match(String(alloc), /holding 100 MB/);
      const ev = await g.waitEvent((e) => e.type === 'worker.restarted' && e.sessionId === s, 'worker.restarted', 20_000);
      assert.equal(ev.pid, worker);
      assert.equal(ev.reason, 'memory-limit');
      assert.equal(ev.setting, 'gatewayWarden.limits.workerMemoryMB');
      assert.equal(ev.limitBytes, 64 * MB);
      assert.ok(typeof ev.memoryBytes === 'number' && ev.memoryBytes > 64 * MB, `memoryBytes ${String(ev.memoryBytes)} above the limit`);
      assert.equal(ev.membersFrom, mode === 'cgroup' ? 'cgroup' : 'process-group');
      await waitFor(() => !isAlive(worker) && (escapee === undefined || !isAlive(escapee)), 'the worker (and its escapee) gone', 10_000);
      assert.ok(!g.events.some((e) => e.type === 'session.closed'), 'the session was not closed');
      assert.match(await exec(g, s, '/help'), /Available Commands/);
      const next = await g.waitEvent((e) => e.type === 'worker.started' && e.sessionId === s && e.pid !== worker, 'a new worker for the session', 10_000);
      assert.ok(isAlive(next.pid as number));
      assert.equal(g.events.filter((e) => e.type === 'worker.restarted').length, 1, 'restarted once');
    } finally {
      await stopHostedGateway(g);
    }
  });
}

test('hermes: a command running when its worker is restarted at the ceiling fails saying why; the next command runs in a new worker', { skip: !LINUX ? 'Linux only' : fakeHermesUnavailable(), timeout: 120_000 }, async () => {
  const g = await startHermes(noCgroups ? 'off' : 'cgroup');
  try {
    const s = await createSession(g);
    const w = await g.waitEvent((e) => e.type === 'worker.started' && e.sessionId === s, 'worker.started', 20_000);
    const err = await exec(g, s, '/fake-alloc 100 300', 60_000).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof RpcError, `the command failed: ${String(err)}`);
    assert.match(err.message, new RegExp(`the worker ${String(w.pid)} of session ${s} was restarted during the command: .* above gatewayWarden\\.limits\\.workerMemoryMB \\(64 MB\\)`));
    assert.equal((err.data as { reason?: string }).reason, 'memory-limit');
    assert.match(await exec(g, s, '/help'), /Available Commands/);
  } finally {
    await stopHostedGateway(g);
  }
});
