// The host dies while an attach client owns a session: the client is told (session.closed,
// reason "lifeline") before its connection ends, with cgroups (the gateway ends at once after the
// kernel proved every leaf empty, skipping the close path) and without them (the close path).
import { after, afterEach, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cgroupsUnavailable, cleanupCgroupTrees } from '../support/cgroups';
import { isAlive, killTracked, waitFor } from '../support/processes';
import { exec, startHostedGateway, waitNoMarked } from '../support/gatewayHost';
import { attachOf, connectWithToken, peerOf, removeTokenDirs } from '../support/attachClient';

afterEach(cleanupCgroupTrees);
after(killTracked);
after(removeTokenDirs);

const noCgroups = process.platform !== 'linux' ? 'Linux only' : cgroupsUnavailable();

for (const mode of ['cgroup', 'off'] as const) {
  test(`host SIGKILLed (${mode === 'cgroup' ? 'cgroups on' : 'GATEWAY_WARDEN_CGROUPS=off'}): an attach client owning a session gets session.closed (lifeline) before its connection ends`, { skip: mode === 'cgroup' ? noCgroups : undefined }, async () => {
    const g = await startHostedGateway({ args: ['--listen'], env: { GATEWAY_WARDEN_CGROUPS: mode === 'off' ? 'off' : '' } });
    assert.equal(g.events.find((e) => e.type === 'gateway.ready')?.containment, mode === 'off' ? 'process-group' : 'cgroup');
    const ws = await connectWithToken(attachOf(g));
    const client = peerOf(ws);
    const events: Record<string, unknown>[] = [];
    client.onNotification((method, params) => {
      if (method === 'event') events.push(params as Record<string, unknown>);
    });
    const closedAt: number[] = [];
    ws.on('close', () => closedAt.push(events.length));
    const { sessionId } = await client.request<{ sessionId: string }>('session.create');
    assert.equal(await client.request('slash.exec', { sessionId, command: '/echo up' }).then((r) => (r as { output: string }).output), 'up');
    const worker = g.workerPids()[0];
    assert.ok(worker && isAlive(worker), 'the session has a live worker');
    // The host's own session beside it: its close is not the client's to hear.
    const hostSession = await g.rpc.request<{ sessionId: string }>('session.create').then((r) => r.sessionId);
    assert.equal(await exec(g, hostSession, '/echo host'), 'host');

    g.host.kill('SIGKILL');
    await waitFor(() => closedAt.length > 0, 'the attach connection to end', 15_000);
    await waitFor(() => !isAlive(g.gatewayPid) && !isAlive(worker), 'gateway and worker gone', 15_000);
    await waitNoMarked(g.hostFp);
    const closed = events.filter((e) => e.type === 'session.closed');
    assert.deepEqual(closed, [{ type: 'session.closed', sessionId, reason: 'lifeline' }], `events: ${JSON.stringify(events)}`);
    assert.ok(closedAt[0] >= events.indexOf(closed[0]) + 1, 'session.closed came before the connection ended');
  });
}
