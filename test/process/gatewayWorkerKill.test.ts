// worker.kill: the gateway, which owns its workers, ends a session's worker group on request
// (Kill Worker in the extension asks for this) and keeps the session — the embedded backend's
// SessionManager does it with the teardown engine; given `pid`/`startTime`, only on that worker.
// And process.tree on the embedded backend, with the embedded protocol unchanged.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fingerprintOf } from '../../src/core/fingerprint';
import { CGROUPS_ENV } from '../../src/core/cgroup/cgroupProbe';
import { groupMembers } from '../../src/core/kill';
import { readProcStat } from '../../src/core/procfs';
import { RpcError } from '../../src/core/rpc';
import { isAlive, killTracked, track, waitFor } from '../support/processes';
import { backgroundGrandchild, createSession, exec, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';

after(killTracked);
const posix = process.platform !== 'win32';
const LINUX = process.platform === 'linux';

interface KillReply {
  sessionId: string;
  killed: boolean;
  worker: { pid: number; startTime: number; pgid: number | null } | null;
  survivors?: number[];
  elapsedMs?: number;
  reason?: string;
  current?: { pid: number; startTime: number; pgid: number | null } | null;
}

type Listed = { pid: number; startTime: number; pgid: number | null };
async function currentWorker(g: Awaited<ReturnType<typeof startHostedGateway>>, sessionId: string): Promise<Listed> {
  const list = await g.rpc.request<{ sessions: { sessionId: string; worker: Listed | null }[] }>('session.list');
  const w = list.sessions.find((x) => x.sessionId === sessionId)?.worker;
  assert.ok(w, `session ${sessionId} has a worker`);
  return { pid: w.pid, startTime: w.startTime, pgid: w.pgid };
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  assert.ok(e instanceof RpcError, `expected an RPC error, got ${JSON.stringify(e)}`);
  return e;
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
  assert.equal(isAlive(worker), false, 'the worker is gone when worker.kill answers');
  assert.equal(isAlive(stubborn), false, 'and everything in its group');
  assert.deepEqual(groupMembers(worker), []);
  await g.waitEvent((e) => e.type === 'worker.exited' && e.pid === worker, 'worker.exited');
  assert.ok(!g.events.some((e) => e.type === 'session.closed' && e.sessionId === s), 'the session was not closed');

  const again = await g.rpc.request<KillReply>('worker.kill', { sessionId: s });
  assert.deepEqual([again.killed, again.worker], [false, null], 'no live worker: nothing to kill');
  assert.equal(await exec(g, s, '/echo back'), 'back');
  assert.notEqual(g.workerPids().at(-1), worker, 'a new worker');
  await stopHostedGateway(g);
});

test('worker.kill takes a /run background grandchild with the group; a session that never had a worker answers killed: false', { skip: !LINUX }, async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  const grandchild = await backgroundGrandchild(g, s);
  const [worker] = g.workerPids();
  const r = await g.rpc.request<KillReply>('worker.kill', { sessionId: s }, { timeoutMs: 15_000 });
  assert.equal(r.killed, true);
  assert.equal(r.worker?.pid, worker);
  assert.equal(isAlive(grandchild), false, 'the grandchild went with the group');
  const s2 = await createSession(g);
  assert.deepEqual(await g.rpc.request('worker.kill', { sessionId: s2 }), { sessionId: s2, killed: false, worker: null });
  await stopHostedGateway(g);
});

test('worker.kill naming a worker that is not the session\'s current one (a stale row) kills nothing and says why; the current fingerprint kills; bad pid/startTime types are -32602', async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  await exec(g, s, '/echo one');
  const old = await currentWorker(g, s);
  // The row's worker exits (killed here; a crash or the memory ceiling alike) and the session gets a new one.
  assert.equal((await g.rpc.request<KillReply>('worker.kill', { sessionId: s }, { timeoutMs: 15_000 })).killed, true);
  await exec(g, s, '/echo two');
  const cur = await currentWorker(g, s);
  assert.notEqual(cur.pid, old.pid);
  const alive = () => fingerprintOf(cur.pid)?.startTime === cur.startTime;
  assert.ok(alive(), 'the current worker is alive before');

  const stale = await g.rpc.request<KillReply>('worker.kill', { sessionId: s, pid: old.pid, startTime: old.startTime });
  assert.deepEqual(stale, { sessionId: s, killed: false, worker: null, reason: 'not-current', current: cur });
  // The current pid with another start time (a reused pid, say) is not the current worker either.
  const reused = await g.rpc.request<KillReply>('worker.kill', { sessionId: s, pid: cur.pid, startTime: cur.startTime + 1 });
  assert.deepEqual([reused.killed, reused.reason], [false, 'not-current']);
  for (const bad of [{ pid: String(cur.pid), startTime: cur.startTime }, { pid: cur.pid, startTime: -1 }, { pid: cur.pid, startTime: 1.5 }, { pid: cur.pid }, { startTime: cur.startTime }, { pid: null, startTime: cur.startTime }]) {
    const e = await rpcError(g.rpc.request('worker.kill', { sessionId: s, ...bad }));
    assert.equal(e.code, -32602, JSON.stringify(bad));
    assert.match(e.message, /"(pid|startTime)" must be an integer/, JSON.stringify(bad));
  }
  assert.ok(alive(), 'nothing was signalled: the current worker lives, the same process');
  assert.equal(await exec(g, s, '/echo still'), 'still');
  assert.deepEqual(await currentWorker(g, s), cur, 'and is still the session\'s worker');

  const r = await g.rpc.request<KillReply>('worker.kill', { sessionId: s, pid: cur.pid, startTime: cur.startTime }, { timeoutMs: 15_000 });
  assert.deepEqual([r.killed, r.worker, r.survivors], [true, cur, []]);
  assert.equal(isAlive(cur.pid), false, 'the named current worker is gone when worker.kill answers');
  // A named worker when the session has none: refused the same way (nothing to kill).
  assert.deepEqual(await g.rpc.request('worker.kill', { sessionId: s, pid: cur.pid, startTime: cur.startTime }), { sessionId: s, killed: false, worker: null, reason: 'not-current', current: null });
  await stopHostedGateway(g);
});

test('worker.kill: an unknown session or missing id is invalid params, and the gateway carries on', async () => {
  const g = await startHostedGateway();
  assert.equal((await rpcError(g.rpc.request('worker.kill', { sessionId: 'nope' }))).code, -32602);
  assert.equal((await rpcError(g.rpc.request('worker.kill', {}))).code, -32602);
  const s = await createSession(g);
  assert.equal(await exec(g, s, '/echo fine'), 'fine');
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
  // (Containment is every backend's: issue 13.)
  const containmentKeys = ['containment', 'cgroup', 'containmentReason'];
  assert.deepEqual(Object.keys(ready).filter((k) => !containmentKeys.includes(k)), ['type', 'pid', 'pgid', 'startTime', 'owner', 'limits', 'sessions', 'workers', 'busyWorkers']);
  assert.ok(ready.containment === 'cgroup' || ready.containment === 'process-group', `containment ${String(ready.containment)}`);
  const call = await rpcError(g.rpc.request('backend.call', { method: 'x' }));
  assert.equal(call.code, -32020);
  await stopHostedGateway(g);
});

test('without cgroups, worker.kill also ends a setsid escapee that ignores SIGTERM (found by the worker\'s marker), not only at the gateway\'s shutdown', { skip: !LINUX }, async () => {
  const g = await startHostedGateway({ env: { [CGROUPS_ENV]: 'off' } });
  try {
    const s = await createSession(g);
    const out = await exec(g, s, `/run setsid sh -c 'trap "" TERM HUP; exec sleep 1000' >/dev/null 2>&1 < /dev/null & echo bg=$!`);
    const escapee = Number(/bg=(\d+)/.exec(out)?.[1]);
    assert.ok(escapee > 0, out);
    track(escapee);
    const [worker] = g.workerPids();
    await waitFor(() => readProcStat(escapee)?.comm === 'sleep' && readProcStat(escapee)!.sid === escapee, 'the escapee in its own session');
    assert.ok(!groupMembers(worker)?.includes(escapee), 'it left the worker\'s group');
    const r = await g.rpc.request<KillReply>('worker.kill', { sessionId: s }, { timeoutMs: 15_000 });
    assert.equal(r.killed, true);
    assert.deepEqual(r.survivors, []);
    await waitFor(() => !isAlive(escapee), 'the escapee gone with its worker', 5000);
  } finally {
    await stopHostedGateway(g);
  }
});
