// The embedded backend's worker.kill (the host's Kill Worker goes through the gateway that owns
// the worker) and process.tree, on real processes; and the embedded protocol unchanged.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RpcError } from '../../src/core/rpc';
import { backgroundGrandchild, createSession, exec, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { isAlive, killTracked } from '../support/processes';

after(killTracked);

const LINUX = process.platform === 'linux';

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  assert.ok(e instanceof RpcError, `expected an RPC error, got ${JSON.stringify(e)}`);
  return e;
}

test('worker.kill ends the worker and its group (a /run grandchild too); the session stays and gets a new worker', { skip: !LINUX }, async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  const grandchild = await backgroundGrandchild(g, s);
  const [worker] = g.workerPids();
  const r = await g.rpc.request<{ sessionId: string; killed: boolean; worker: { pid: number; pgid: number } }>('worker.kill', { sessionId: s });
  assert.equal(r.killed, true);
  assert.equal(r.worker.pid, worker);
  assert.equal(isAlive(worker), false, 'the worker is gone when worker.kill answers');
  assert.equal(isAlive(grandchild), false, 'and everything in its group');
  await g.waitEvent((e) => e.type === 'worker.exited' && e.pid === worker, 'worker.exited');
  assert.equal(g.events.some((e) => e.type === 'session.closed'), false, 'the session stays');
  assert.equal(await exec(g, s, '/echo again'), 'again');
  assert.notEqual(g.workerPids()[1], worker, 'a new worker');
  // No worker now? Killed: false. Unknown session: -32602.
  const s2 = await createSession(g);
  assert.deepEqual(await g.rpc.request('worker.kill', { sessionId: s2 }), { sessionId: s2, killed: false, worker: null });
  assert.equal((await rpcError(g.rpc.request('worker.kill', { sessionId: 'nope' }))).code, -32602);
  assert.equal((await rpcError(g.rpc.request('worker.kill', {}))).code, -32602);
  await stopHostedGateway(g);
});

test('process.tree on the embedded backend: the gateway, its workers by session, their children', { skip: !LINUX }, async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  const grandchild = await backgroundGrandchild(g, s);
  const [worker] = g.workerPids();
  const tree = await g.rpc.request<{ backend: string; processes: { pid: number; ppid: number; role: string; sessionId?: string; escaped?: boolean }[] }>('process.tree');
  assert.equal(tree.backend, 'embedded');
  assert.equal(tree.processes[0].pid, g.gatewayPid);
  const w = tree.processes.find((p) => p.pid === worker);
  assert.deepEqual([w?.role, w?.sessionId], ['worker', s]);
  // `/run cmd &`'s child was re-parented away from the worker's shell but stays in its group.
  assert.ok(tree.processes.some((p) => p.pid === grandchild), 'the worker\'s background child is listed');
  // The embedded gateway.status and gateway.ready say nothing of backends: unchanged protocol.
  const status = await g.rpc.request<Record<string, unknown>>('gateway.status');
  for (const key of ['backend', 'program', 'tree']) assert.equal(key in status, false, `no ${key} in the embedded gateway.status`);
  const ready = g.events.find((e) => e.type === 'gateway.ready')!;
  assert.deepEqual(Object.keys(ready), ['type', 'pid', 'pgid', 'startTime', 'owner', 'limits', 'sessions', 'workers', 'busyWorkers']);
  const call = await rpcError(g.rpc.request('backend.call', { method: 'x' }));
  assert.equal(call.code, -32020);
  await stopHostedGateway(g);
});
