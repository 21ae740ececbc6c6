// worker.kill: the gateway, which owns its workers, ends a session's worker group on request
// (Kill Worker in the extension asks for this) and keeps the session.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { groupMembers } from '../../src/core/kill';
import { isAlive, killTracked, track, waitFor } from '../support/processes';
import { createSession, exec, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';

after(killTracked);
const posix = process.platform !== 'win32';

interface KillReply {
  sessionId: string;
  killed: boolean;
  worker: { pid: number; startTime: number; pgid: number | null } | null;
  survivors?: number[];
  elapsedMs?: number;
}

test('worker.kill ends the worker and its whole group (a SIGTERM-ignoring /run child too); the session stays and gets a new worker', { skip: !posix }, async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  const out = await exec(g, s, `/run sh -c 'trap "" TERM HUP; exec sleep 1000' >/dev/null 2>&1 & echo bg=$!`);
  const stubborn = Number(/bg=(\d+)/.exec(out)?.[1]);
  track(stubborn);
  const [worker] = g.workerPids();
  await waitFor(() => groupMembers(worker)?.includes(stubborn), 'the stubborn child in the worker\'s group');

  const r = await g.rpc.request<KillReply>('worker.kill', { sessionId: s }, { timeoutMs: 15_000 });
  assert.equal(r.killed, true);
  assert.equal(r.worker?.pid, worker);
  assert.deepEqual(r.survivors, []);
  assert.equal(typeof r.elapsedMs, 'number');
  assert.equal(isAlive(worker), false);
  assert.equal(isAlive(stubborn), false);
  assert.deepEqual(groupMembers(worker), []);
  await g.waitEvent((e) => e.type === 'worker.exited' && e.pid === worker, 'worker.exited');
  assert.ok(!g.events.some((e) => e.type === 'session.closed' && e.sessionId === s), 'the session was not closed');

  const again = await g.rpc.request<KillReply>('worker.kill', { sessionId: s });
  assert.deepEqual([again.killed, again.worker], [false, null], 'no live worker: nothing to kill');
  assert.equal(await exec(g, s, '/echo back'), 'back');
  assert.notEqual(g.workerPids().at(-1), worker, 'a new worker');
  await stopHostedGateway(g);
});

test('worker.kill: an unknown session or missing id is invalid params, and the gateway carries on', async () => {
  const g = await startHostedGateway();
  await assert.rejects(g.rpc.request('worker.kill', { sessionId: 'nope' }), (e: { code?: number }) => e.code === -32602);
  await assert.rejects(g.rpc.request('worker.kill', {}), (e: { code?: number }) => e.code === -32602);
  const s = await createSession(g);
  assert.equal(await exec(g, s, '/echo fine'), 'fine');
  await stopHostedGateway(g);
});
