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

async function startHermes(mode: 'cgroup' | 'off', args: string[] = []): Promise<HostedGateway> {
  const g = await startHostedGateway({
    args: ['--worker-memory-mb', '64', '--poll-ms', '250', ...args],
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

test('hermes, cgroups on: a leaked old worker sharing the session\'s leaf (a key change) is not counted against the session\'s new worker: that one is sampled by its own group', { skip: !LINUX ? 'Linux only' : noCgroups ?? fakeHermesUnavailable(), timeout: 120_000 }, async () => {
  // Stale workers only reported: the leaked one stays in the leaf for the whole test.
  const g = await startHermes('cgroup', ['--stale-worker-grace-ms', '0']);
  try {
    const s = await createSession(g);
    const w1 = (await g.waitEvent((e) => e.type === 'worker.started' && e.sessionId === s, 'worker.started', 20_000)).pid as number;
    const leaf = path.join(g.events.find((e) => e.type === 'gateway.ready')!.cgroup as string, sessionLeafName(s));
    const inLeaf = (pid: number) => fs.existsSync(leaf) && fs.readFileSync(path.join(leaf, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid));
    await waitFor(() => inLeaf(w1), 'the worker in its session\'s leaf');
    // Below the ceiling alone; with the new worker's own 40 MB the leaf is above it.
    assert.match(await exec(g, s, '/fake-alloc 30'), /holding 30 MB/);
    const since = g.events.length;
    const r = await g.rpc.request<{ pid: number; old_pid: number }>('backend.call', { method: 'fake.rotate_key', params: { session_id: s, leak: true } });
    track(r.pid);
    track(r.old_pid);
    assert.equal(r.old_pid, w1);
    await g.waitEvent((e) => g.events.indexOf(e) >= since && e.type === 'worker.started' && e.sessionId === s && e.pid === r.pid, 'worker.started for the new worker', 20_000);
    await waitFor(() => inLeaf(r.pid), 'the new worker moved into the session\'s same leaf');
    assert.ok(isAlive(w1) && inLeaf(w1), 'the old worker leaked, still in the leaf');
    // The new worker alone goes above the ceiling: restarted, its own memory the figure.
    await exec(g, s, '/fake-alloc 70').catch(() => undefined);
    const ev = await g.waitEvent((e) => e.type === 'worker.restarted' && e.sessionId === s, 'worker.restarted', 20_000);
    assert.equal(ev.pid, r.pid);
    assert.equal(ev.membersFrom, 'process-group', `sampled by its own group, not the shared leaf: ${JSON.stringify(ev)}`);
    assert.equal(ev.members, 1, 'the new worker alone, not the leaked one');
    await waitFor(() => !isAlive(r.pid), 'the new worker gone', 10_000);
    assert.ok(isAlive(w1), 'the leaked worker is the stale rule\'s, not the ceiling\'s');
    // The next worker, in the leaf beside the leaked one, is not restarted for the leaked one's memory.
    assert.match(await exec(g, s, '/fake-alloc 30'), /holding 30 MB/);
    const w3 = Number(await exec(g, s, '/fake-pid'));
    assert.equal(g.events.filter((e) => e.type === 'worker.restarted').length, 1, 'restarted once');
    assert.ok(isAlive(w3));
  } finally {
    await stopHostedGateway(g);
  }
});
