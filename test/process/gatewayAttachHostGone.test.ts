// The host dies while an attach client owns a session: the client is told (session.closed,
// reason "lifeline") before its connection ends, once, with cgroups (the gateway ends with its
// tree, skipping the close path), without them (the close path), and with cgroups when the tree's
// end is refused (another uid's process in the session's leaf: that process is not signalled, the
// close path follows and does not say it again).
import { after, afterEach, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sessionLeafName } from '../../src/core/cgroup/cgroupNames';
import { cgroupsUnavailable, cleanupCgroupTrees, trackTree } from '../support/cgroups';
import { isAlive, killTracked, startOtherUsersSleep, waitFor } from '../support/processes';
import { exec, startHostedGateway, waitNoMarked } from '../support/gatewayHost';
import { attachOf, connectWithToken, peerOf, removeTokenDirs } from '../support/attachClient';

afterEach(cleanupCgroupTrees);
after(killTracked);
after(removeTokenDirs);

const noCgroups = process.platform !== 'linux' ? 'Linux only' : cgroupsUnavailable();

const LABEL = { cgroup: 'cgroups on', off: 'GATEWAY_WARDEN_CGROUPS=off', refused: 'cgroups on, another uid\'s process in the session\'s leaf' } as const;
const needsRoot = process.getuid?.() === 0 ? undefined : 'needs root (setpriv, a move into the leaf)';

for (const mode of ['cgroup', 'off', 'refused'] as const) {
  test(`host SIGKILLed (${LABEL[mode]}): an attach client owning a session gets session.closed (lifeline) once, before its connection ends`, { skip: mode === 'off' ? undefined : noCgroups ?? (mode === 'refused' ? needsRoot : undefined) }, async () => {
    const g = await startHostedGateway({ args: ['--listen'], env: { GATEWAY_WARDEN_CGROUPS: mode === 'off' ? 'off' : '' } });
    const ready = g.events.find((e) => e.type === 'gateway.ready');
    assert.equal(ready?.containment, mode === 'off' ? 'process-group' : 'cgroup');
    if (mode !== 'off') trackTree(ready!.cgroup as string);
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

    // Refused: a process of uid 65534 in the client's session's leaf (the engine never signals
    // another user's process, so the tree's one cgroup.kill is not written).
    const nobody = mode === 'refused' ? await startOtherUsersSleep() : undefined;
    try {
      if (nobody) {
        fs.writeFileSync(path.join(ready!.cgroup as string, sessionLeafName(sessionId), 'cgroup.procs'), String(nobody.pid));
      }
      g.host.kill('SIGKILL');
      await waitFor(() => closedAt.length > 0, 'the attach connection to end', 15_000);
      await waitFor(() => !isAlive(g.gatewayPid) && !isAlive(worker), 'gateway and worker gone', 15_000);
      await waitNoMarked(g.hostFp);
      const closed = events.filter((e) => e.type === 'session.closed');
      assert.deepEqual(closed, [{ type: 'session.closed', sessionId, reason: 'lifeline' }], `events: ${JSON.stringify(events)}`);
      assert.ok(closedAt[0] >= events.indexOf(closed[0]) + 1, 'session.closed came before the connection ended');
      if (nobody) assert.ok(isAlive(nobody.pid!), 'the other uid\'s process was not signalled');
    } finally {
      nobody?.kill('SIGKILL');
    }
    if (nobody) await waitFor(() => !isAlive(nobody.pid!), 'the other uid\'s sleep to die');
  });
}
