// Sessions against the real gateway: lazy single worker under concurrency, the create/close
// race, idempotent close, workers that die, break the protocol or time out mid-command.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { isAlive, killTracked } from '../support/processes';
import { RpcError, RpcErrorCode } from '../../src/core/rpc';
import { createSession, exec, GatewayEvent, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';

after(killTracked);

const TEST_ENV = { GATEWAY_WARDEN_TEST_COMMANDS: '1' };
const ofType = (events: GatewayEvent[], type: string, sessionId?: string) =>
  events.filter((e) => e.type === type && (sessionId === undefined || e.sessionId === sessionId));

test('a session has no worker until its first slash.exec; concurrent calls share exactly one worker', async () => {
  const g = await startHostedGateway();
  const s = await createSession(g, { label: 'concurrent' });
  const list1 = await g.rpc.request<{ sessions: { worker: unknown }[] }>('session.list');
  assert.equal(list1.sessions[0].worker, null, 'lazy: no worker yet');
  const outs = await Promise.all(Array.from({ length: 8 }, (_, i) => exec(g, s, `/echo ${i}`)));
  assert.deepEqual(outs, Array.from({ length: 8 }, (_, i) => String(i)));
  assert.equal(ofType(g.events, 'worker.started', s).length, 1, 'exactly one worker');
  const list2 = await g.rpc.request<{ sessions: { worker: { pid: number; state: string } }[] }>('session.list');
  assert.equal(list2.sessions[0].worker.pid, g.workerPids()[0]);
  assert.equal(list2.sessions[0].worker.state, 'ready');
  await stopHostedGateway(g);
});

test('create/close race: a worker that finishes starting after its session closed is closed, not attached', async () => {
  const g = await startHostedGateway({ env: { GATEWAY_WARDEN_TEST_WORKER_START_DELAY_MS: '500' } });
  const s = await createSession(g);
  const execs = [exec(g, s, '/echo a'), exec(g, s, '/echo b')].map((p) => p.then(() => 'ok', (e: RpcError) => e));
  await g.waitEvent((e) => e.type === 'worker.started' && e.sessionId === s, 'worker.started');
  assert.deepEqual(await g.rpc.request('session.close', { sessionId: s }), { closed: true });
  const results = await Promise.all(execs);
  for (const r of results) assert.ok(r instanceof RpcError, `exec failed: ${String(r)}`);
  assert.equal(ofType(g.events, 'worker.started', s).length, 1);
  for (const pid of g.workerPids()) assert.equal(isAlive(pid), false, `worker ${pid} gone`);
  assert.deepEqual((await g.rpc.request<{ sessions: unknown[] }>('session.list')).sessions, []);
  await stopHostedGateway(g);
});

test('session.close twice: true then false; the worker exits once and session.closed is emitted once', async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  await exec(g, s, '/echo hi');
  const [a, b] = await Promise.all([
    g.rpc.request<{ closed: boolean }>('session.close', { sessionId: s }),
    g.rpc.request<{ closed: boolean }>('session.close', { sessionId: s }),
  ]);
  assert.deepEqual([a.closed, b.closed].sort(), [false, true]);
  assert.deepEqual(await g.rpc.request('session.close', { sessionId: s }), { closed: false });
  await g.waitEvent((e) => e.type === 'worker.exited' && e.sessionId === s, 'worker.exited');
  assert.equal(ofType(g.events, 'session.closed', s).length, 1);
  assert.equal(ofType(g.events, 'worker.exited', s).length, 1);
  await assert.rejects(exec(g, s, '/echo after'), (e: RpcError) => e.code === RpcErrorCode.InvalidParams);
  await stopHostedGateway(g);
});

test('a worker dying mid-command gives an error with its stderr tail; the next command gets a fresh worker', async () => {
  const g = await startHostedGateway({ env: TEST_ENV });
  const s = await createSession(g);
  await assert.rejects(exec(g, s, '/crash on-purpose-42'), (e: RpcError) => {
    assert.equal(e.code, RpcErrorCode.ServerError);
    assert.match(e.message, /died during/);
    assert.match(e.message, /on-purpose-42/, 'stderr tail in the message');
    return true;
  });
  assert.equal(await exec(g, s, '/echo again'), 'again');
  const workers = g.workerPids();
  assert.equal(workers.length, 2, 'a fresh worker');
  assert.equal(isAlive(workers[0]), false);
  await stopHostedGateway(g);
});

test('a reply with a mismatched id fails the command clearly and replaces the worker', async () => {
  const g = await startHostedGateway({ env: TEST_ENV });
  const s = await createSession(g);
  await assert.rejects(exec(g, s, '/badreply'), (e: RpcError) => /unexpected id/.test(e.message));
  assert.equal(await exec(g, s, '/echo fresh'), 'fresh');
  assert.equal(g.workerPids().length, 2);
  await g.waitEvent((e) => e.type === 'worker.exited' && e.pid === g.workerPids()[0], 'first worker exited');
  await stopHostedGateway(g);
});

test('a slash command times out without wedging the session', async () => {
  const g = await startHostedGateway({ args: ['--slash-timeout-ms', '400'] });
  const s = await createSession(g);
  await assert.rejects(exec(g, s, '/sleep 60000'), (e: RpcError) => {
    assert.equal(e.code, RpcErrorCode.RequestTimeout);
    assert.match(e.message, /timed out after 400 ms/);
    return true;
  });
  assert.equal(await exec(g, s, '/echo alive'), 'alive');
  await g.waitEvent((e) => e.type === 'worker.exited' && e.pid === g.workerPids()[0], 'the timed-out worker exited');
  await stopHostedGateway(g);
});

test('worker idle timeout closes the session through the one close path', async () => {
  const g = await startHostedGateway({ args: ['--worker-idle-timeout-ms', '300'] });
  const s = await createSession(g);
  await exec(g, s, '/echo hi');
  const closed = await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === s, 'session.closed');
  assert.equal(closed.reason, 'idle-timeout');
  assert.equal(isAlive(g.workerPids()[0]), false);
  assert.deepEqual(await g.rpc.request('session.close', { sessionId: s }), { closed: false });
  await stopHostedGateway(g);
});

test('the idle clock stops while a command runs: a command longer than the idle timeout completes', async () => {
  const g = await startHostedGateway({ args: ['--worker-idle-timeout-ms', '300'] });
  const s = await createSession(g);
  assert.equal(await exec(g, s, '/sleep 900'), 'slept 900 ms');
  const closed = await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === s, 'session.closed');
  assert.equal(closed.reason, 'idle-timeout');
  // Not closed mid-command: the close comes after the command's end (worker.state busy:false, sent
  // as the idle clock restarts), however late this test reads it (one look could race the 300 ms).
  const end = g.events.findIndex((e) => e.type === 'worker.state' && e.sessionId === s && e.busy === false && g.events.slice(0, g.events.indexOf(e)).some((b) => b.type === 'worker.state' && b.sessionId === s && b.busy === true));
  assert.ok(end >= 0 && end < g.events.indexOf(closed), `the command ended (event ${end}) before the close (event ${g.events.indexOf(closed)})`);
  await stopHostedGateway(g);
});

test('worker.state events: busy while a command runs, then not busy with a fresh last-activity time', async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  const before = Date.now();
  await exec(g, s, '/sleep 50');
  const states = ofType(g.events, 'worker.state', s);
  const pid = g.workerPids()[0];
  assert.deepEqual(states.map((e) => [e.pid, e.state, e.busy]), [[pid, 'ready', true], [pid, 'ready', false]]);
  assert.ok(Number(states[1].lastActivityAt) >= before, 'last activity is the command\'s end');
  await stopHostedGateway(g);
});

test('slash commands: /help, /echo, /sleep, /run output, /pid; gateway.status counts', async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  assert.match(await exec(g, s, '/help'), /\/run SHELL-COMMAND/);
  assert.equal(await exec(g, s, '/echo a  b'), 'a  b');
  assert.equal(await exec(g, s, '/sleep 10'), 'slept 10 ms');
  assert.equal(await exec(g, s, '/run echo out; echo err >&2'), 'out\nerr\n');
  assert.match(await exec(g, s, '/run exit 3'), /exit code 3/);
  const pid = g.workerPids()[0];
  assert.equal(await exec(g, s, '/pid'), `pid ${pid} pgid ${pid}`);
  await assert.rejects(exec(g, s, '/nope'), (e: RpcError) => e.code === RpcErrorCode.InvalidParams && /unknown slash command/.test(e.message));
  const st = await g.rpc.request<{ pid: number; sessions: number; workers: number; owner: string }>('gateway.status');
  assert.equal(st.pid, g.gatewayPid);
  assert.equal(st.sessions, 1);
  assert.equal(st.workers, 1);
  assert.equal(st.owner, g.hostFp);
  await stopHostedGateway(g);
});

test('gateway.shutdown closes every session, answers, and the gateway exits', async () => {
  const g = await startHostedGateway();
  const ids = await Promise.all([createSession(g), createSession(g)]);
  await Promise.all(ids.map((id) => exec(g, id, '/run sleep 300 &')));
  const r = await g.rpc.request<{ closedSessions: number }>('gateway.shutdown', { graceMs: 2000 });
  assert.equal(r.closedSessions, 2);
  await stopHostedGateway(g);
  assert.equal(ofType(g.events, 'session.closed').length, 2);
});
