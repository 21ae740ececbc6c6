// The hermes backend against the fake hermes gateway (test/fixtures/hermes): real slash_worker
// processes, each in its own session (current hermes) or in the gateway's group (older hermes),
// out-of-order replies, hermes-shaped events. Sessions and workers through the Warden protocol,
// stale workers, pass-through calls, and teardown whatever hermes does — observed in the process
// table.
import { after, test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import { readProcStat } from '../../src/core/procfs';
import { RpcError, RpcErrorCode } from '../../src/core/rpc';
import { FAKE_HERMES_DIR, fakeHermesUnavailable, workersOf } from '../support/fakeHermes';
import { createSession, exec, GatewayEvent, HostedGateway, startHostedGateway, stopHostedGateway, waitNoMarked } from '../support/gatewayHost';
import { waitAllMarked } from '../support/marker';
import { attachOf, connectWithToken, peerOf, removeTokenDirs } from '../support/attachClient';
import type { JsonRpcPeer } from '../../src/core/rpc';
import { isAlive, killTracked, track, waitAllExited, waitFor, waitForExit } from '../support/processes';

after(killTracked);
after(removeTokenDirs);

const unavailable = process.platform !== 'linux' ? 'needs Linux /proc' : fakeHermesUnavailable();
const opts = { skip: unavailable ?? false, timeout: 120_000 };

interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  flavor?: 'cur' | 'leaky';
  command?: string[];
}

/** A hosted gateway running `--backend hermes` on the fake (its default command, from the fixture's folder). */
async function startHermes(o: StartOptions = {}): Promise<HostedGateway & { hermesPid: number }> {
  const g = await startHostedGateway({
    args: o.args,
    env: { PYTHONPATH: FAKE_HERMES_DIR, PYTHONDONTWRITEBYTECODE: '1', FAKE_HERMES_FLAVOR: o.flavor ?? 'cur', ...o.env },
    backend: { name: 'hermes', cwd: FAKE_HERMES_DIR, command: o.command },
  });
  // gateway.ready comes first, before the program is started; backend.state names its pid.
  assert.equal(g.events[0].type, 'gateway.ready');
  const state = await g.waitEvent((e) => e.type === 'backend.state', 'backend.state', 30_000);
  return Object.assign(g, { hermesPid: state.pid as number });
}

async function running(g: HostedGateway): Promise<void> {
  await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'running', 'the hermes gateway to be running', 30_000);
}

/** The session's worker as announced by worker.started (and seen in the table). */
async function workerOf(g: HostedGateway, sessionId: string, not?: number): Promise<GatewayEvent & { pid: number; pgid: number; startTime: number }> {
  const e = await g.waitEvent((x) => x.type === 'worker.started' && x.sessionId === sessionId && x.pid !== not, `worker.started for ${sessionId}`, 20_000);
  return e as GatewayEvent & { pid: number; pgid: number; startTime: number };
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  assert.ok(e instanceof RpcError, `expected an RPC error, got ${JSON.stringify(e)}`);
  return e;
}

interface ListedSession {
  sessionId: string;
  label: string;
  worker: { pid: number; startTime: number; pgid: number; state: string } | null;
  hermes: { sessionKey: string; status: string; model: string };
}

test('sessions through the Warden protocol: the real slash_worker in session.list and process.tree, /help, close ends the worker', opts, async () => {
  const g = await startHermes();
  await running(g);
  const ready = g.events.find((e) => e.type === 'gateway.ready')!;
  assert.equal(ready.backend, 'hermes');
  const sessionId = await createSession(g, { label: 'first', closeOnDisconnect: true });
  assert.match(sessionId, /^[0-9a-f]{8}$/, 'our sessionId is hermes\' session_id');
  const started = await workerOf(g, sessionId);
  // The worker exactly as hermes started it: a child of the hermes gateway, its own group.
  const inTable = workersOf(g.hermesPid).find((w) => w.pid === started.pid);
  assert.ok(inTable, 'the announced worker is a slash_worker child of the hermes gateway');
  assert.equal(started.pgid, started.pid, 'current hermes: the worker leads its own group');
  assert.equal(started.sessionKey, inTable.sessionKey);

  const list = await g.rpc.request<{ sessions: ListedSession[]; staleWorkers: unknown[] }>('session.list');
  assert.equal(list.sessions.length, 1);
  assert.equal(list.sessions[0].label, 'first');
  assert.equal(list.sessions[0].worker?.pid, started.pid);
  assert.equal(list.sessions[0].hermes.sessionKey, inTable.sessionKey);
  assert.deepEqual(list.staleWorkers, []);

  assert.match(await exec(g, sessionId, '/help'), /Available Commands/);
  const states = g.events.filter((e) => e.type === 'worker.state' && e.sessionId === sessionId).map((e) => e.busy);
  assert.deepEqual(states.slice(0, 1), [true], 'worker.state busy while the command runs');
  await g.waitEvent((e) => e.type === 'worker.state' && e.sessionId === sessionId && e.busy === false, 'worker.state idle again');

  const tree = await g.rpc.request<{ processes: { pid: number; ppid: number; role: string; sessionId?: string }[] }>('process.tree');
  const hermesNode = tree.processes.find((p) => p.pid === g.hermesPid);
  assert.equal(hermesNode?.role, 'program');
  const workerNode = tree.processes.find((p) => p.pid === started.pid);
  assert.equal(workerNode?.role, 'worker');
  assert.equal(workerNode?.sessionId, sessionId);
  const status = await g.rpc.request<{ backend: string; program: { pid: number; state: string }; workers: number; sessions: number }>('gateway.status');
  assert.equal(status.backend, 'hermes');
  assert.equal(status.program.pid, g.hermesPid);
  assert.deepEqual([status.sessions, status.workers], [1, 1]);

  assert.deepEqual(await g.rpc.request('session.close', { sessionId }), { closed: true });
  assert.equal(isAlive(started.pid), false, 'the worker is gone when session.close answers');
  const exitedAt = g.events.findIndex((e) => e.type === 'worker.exited' && e.pid === started.pid);
  const closedAt = g.events.findIndex((e) => e.type === 'session.closed' && e.sessionId === sessionId && e.reason === 'requested');
  assert.ok(exitedAt >= 0 && closedAt > exitedAt, 'worker.exited, then session.closed');
  assert.deepEqual(await g.rpc.request('session.close', { sessionId }), { closed: false });
  const e = await rpcError(exec(g, sessionId, '/help'));
  assert.equal(e.code, -32602, 'hermes\' 4001 is our unknown-session error');
  assert.equal((e.data as { hermesCode: number }).hermesCode, 4001);
  await stopHostedGateway(g);
});

test('replies come out of order and are matched by id', opts, async () => {
  const g = await startHermes();
  const [a, b] = await Promise.all([createSession(g), createSession(g)]);
  await Promise.all([workerOf(g, a), workerOf(g, b)]);
  const order: string[] = [];
  const slow = exec(g, a, '/fake-sleep 1500').then((out) => (order.push('slow'), out));
  await new Promise((r) => setTimeout(r, 100)); // the slow one is on its way first
  const fast = exec(g, b, '/help').then((out) => (order.push('fast'), out));
  const listed = g.rpc.request<{ sessions: ListedSession[] }>('session.list').then((r) => (order.push('list'), r));
  const [slowOut, fastOut, list] = await Promise.all([slow, fast, listed]);
  assert.equal(slowOut, 'slept 1500 ms');
  assert.match(fastOut, /Available Commands/);
  assert.equal(list.sessions.length, 2);
  assert.equal(order[order.length - 1], 'slow', `the first request is answered last (${order.join(', ')})`);
  await stopHostedGateway(g);
});

test('backend.call passes any hermes method through: results, hermes\' own errors; sessions made or closed that way follow', opts, async () => {
  const g = await startHermes();
  const s = await createSession(g);
  await workerOf(g, s);
  const active = await g.rpc.request<{ sessions: { id: string; session_key: string }[] }>('backend.call', { method: 'session.active_list' });
  assert.deepEqual(active.sessions.map((r) => r.id), [s], 'hermes\' own result, as hermes shaped it');
  assert.deepEqual(await g.rpc.request('backend.call', { method: 'session.list', params: { limit: 5 } }), { sessions: [] });
  const unknown = await rpcError(g.rpc.request('backend.call', { method: 'no.such.method' }));
  assert.equal(unknown.code, -32601);
  assert.match(unknown.message, /unknown method: no\.such\.method/);
  assert.equal((await rpcError(g.rpc.request('backend.call', { method: 'x', params: 7 }))).code, -32602);
  // A bad type that would end the whole hermes gateway (its inline int() of cols) never reaches it.
  const badCols = await rpcError(g.rpc.request('backend.call', { method: 'session.create', params: { cols: 'abc' } }));
  assert.equal(badCols.code, -32602);
  assert.match(badCols.message, /hermes session\.create: "cols" must be an integer from 1 to 10000/);
  assert.ok(isAlive(g.hermesPid), 'the hermes gateway is still running');
  assert.equal((await g.rpc.request<{ sessions: unknown[] }>('backend.call', { method: 'session.active_list' })).sessions.length, 1);

  const made = await g.rpc.request<{ session_id: string }>('backend.call', { method: 'session.create', params: { title: 'made by a call' } });
  const created = await g.waitEvent((e) => e.type === 'session.created' && e.sessionId === made.session_id, 'session.created for the call\'s session');
  assert.equal(created.label, 'made by a call');
  await g.rpc.request('backend.call', { method: 'session.close', params: { session_id: made.session_id } });
  await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === made.session_id && e.reason === 'closed-by-backend', 'session.closed closed-by-backend');
  // hermes' own events reach clients.
  assert.ok(g.events.some((e) => e.type === 'backend.event' && e.backend === 'hermes' && (e.event as { type: string }).type === 'session.info'));
  await stopHostedGateway(g);
});

/** Each refusal is the session cap's -32010 with its data. */
function assertSessionCapRefusals(settled: PromiseSettledResult<unknown>[], cap: number): void {
  for (const r of settled) {
    if (r.status === 'fulfilled') continue;
    const e: unknown = r.reason;
    assert.ok(e instanceof RpcError, `an RpcError, got ${String(e)}`);
    assert.equal(e.code, RpcErrorCode.LimitReached, e.message);
    assert.deepEqual(e.data, { limit: 'maxSessions', value: cap, setting: 'gatewayWarden.limits.maxSessions' });
  }
}

test('--max-sessions holds under concurrency: of 20 session.create at once exactly 3 succeed, hermes is asked 3 times and runs 3 workers; backend.call\'s creates and resumes share the slots', opts, async () => {
  const g = await startHermes({ args: ['--max-sessions', '3'], env: { FAKE_HERMES_HISTORY: '2' } });
  await running(g);
  const hermesCreates = async () => (await g.rpc.request<{ requests: Record<string, number> }>('backend.call', { method: 'fake.stats' })).requests['session.create'] ?? 0;

  const flood = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => createSession(g, { label: `flood ${i}` })));
  const ids = flood.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  assert.equal(ids.length, 3, `exactly 3 sessions made; refusals: ${flood.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : [])).slice(0, 3).join(' | ')}`);
  assertSessionCapRefusals(flood, 3);
  assert.equal(await hermesCreates(), 3, 'hermes was asked for 3 sessions, not 20');
  const active = await g.rpc.request<{ sessions: { id: string }[] }>('backend.call', { method: 'session.active_list' });
  assert.deepEqual(active.sessions.map((r) => r.id).sort(), [...ids].sort(), 'hermes holds exactly our 3 sessions');
  await Promise.all(ids.map((s) => workerOf(g, s)));
  assert.equal(workersOf(g.hermesPid).length, 3, 'one slash_worker per session, no more');

  // One slot free again; session.create and backend.call's session.create race for it.
  assert.deepEqual(await g.rpc.request('session.close', { sessionId: ids[0] }), { closed: true });
  const mixed = await Promise.allSettled([
    ...Array.from({ length: 5 }, () => createSession(g)),
    ...Array.from({ length: 5 }, () => g.rpc.request<{ session_id: string }>('backend.call', { method: 'session.create', params: {} }).then((r) => r.session_id)),
  ]);
  const won = mixed.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  assert.equal(won.length, 1, 'exactly one of the 10 gets the freed slot');
  assertSessionCapRefusals(mixed, 3);
  assert.equal(await hermesCreates(), 4);
  await workerOf(g, won[0]);
  const st = await g.rpc.request<{ sessions: number }>('gateway.status');
  assert.equal(st.sessions, 3);
  assert.equal(workersOf(g.hermesPid).length, 3, 'the closed session\'s worker is gone, the new one\'s is up');

  // session.resume opens a stored session as a new live one (with its worker): the same cap.
  const stored = (await g.rpc.request<{ sessions: { id: string }[] }>('backend.call', { method: 'session.list' })).sessions[0].id;
  const resume = () => g.rpc.request<{ session_id: string }>('backend.call', { method: 'session.resume', params: { session_id: stored } }).then((r) => r.session_id);
  const atCap = await Promise.allSettled([resume(), resume()]);
  assertSessionCapRefusals(atCap, 3);
  assert.equal(atCap.filter((r) => r.status === 'fulfilled').length, 0, 'no resume past the cap');
  const hermesResumes = async () => (await g.rpc.request<{ requests: Record<string, number> }>('backend.call', { method: 'fake.stats' })).requests['session.resume'] ?? 0;
  assert.equal(await hermesResumes(), 0, 'hermes was not asked');
  assert.deepEqual(await g.rpc.request('session.close', { sessionId: won[0] }), { closed: true });
  const again = await Promise.allSettled([resume(), resume(), createSession(g)]);
  assert.equal(again.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one of a resume race and a create gets the freed slot');
  assertSessionCapRefusals(again, 3);
  await waitFor(async () => (await g.rpc.request<{ sessions: number }>('gateway.status')).sessions === 3, 'three sessions, the resumed one adopted');
  await stopHostedGateway(g);
});

/** The id of the session the fake is making while it holds session.create's reply (FAKE_HERMES_CREATE_MS). */
function sessionBeingMade(g: HostedGateway): Promise<string> {
  return waitFor(() => /session\.create of ([0-9a-f]{8}) under way/.exec(g.stderr())?.[1], 'hermes making a session', 20_000);
}

test('a closeOnDisconnect client gone while hermes makes its session: the session is closed once made, its worker with it', opts, async () => {
  // hermes holds the reply 5 s: the client must be gone (and seen gone) before it answers.
  const g = await startHermes({ args: ['--listen'], env: { FAKE_HERMES_CREATE_MS: '5000' } });
  await running(g);
  const ws = await connectWithToken(attachOf(g));
  const create = peerOf(ws).request('session.create', { label: 'gone', closeOnDisconnect: true }).catch(() => undefined);
  const sid = await sessionBeingMade(g);
  ws.terminate();
  await create;
  await waitFor(async () => (await g.rpc.request<{ attach: { open: number } }>('gateway.status')).attach.open === 0, 'the gateway to see the client go');
  assert.ok(!g.events.some((e) => e.type === 'session.created' && e.sessionId === sid), 'the client was gone before hermes answered');
  await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === sid && e.reason === 'client-disconnected', 'session.closed (client-disconnected)', 20_000);
  const active = await g.rpc.request<{ sessions: unknown[] }>('backend.call', { method: 'session.active_list' });
  assert.deepEqual(active.sessions, [], 'closed in hermes too');
  assert.deepEqual(workersOf(g.hermesPid), [], 'its worker is gone');
  await stopHostedGateway(g);
});

test('a closeOnDisconnect client gone while hermes is still starting: hermes never makes its session, and its slot is free', opts, async () => {
  // hermes holds gateway.ready until the gate exists: the client comes and goes during the start.
  const gate = path.join(os.tmpdir(), `gw-hermes-ready-gate-${process.pid}-${Date.now()}`);
  try {
    // Not startHermes: backend.state comes only once hermes is running.
    const g = await startHostedGateway({
      args: ['--listen', '--max-sessions', '1'],
      env: { PYTHONPATH: FAKE_HERMES_DIR, PYTHONDONTWRITEBYTECODE: '1', FAKE_HERMES_READY_GATE: gate },
      backend: { name: 'hermes', cwd: FAKE_HERMES_DIR },
    });
    const ws = await connectWithToken(attachOf(g));
    const peer = peerOf(ws);
    const create = peer.request('session.create', { label: 'gone', closeOnDisconnect: true }).then(() => undefined, () => undefined);
    // Requests start in order of arrival: once a later one is answered, the create waits for hermes.
    await peer.request('gateway.status');
    ws.terminate();
    await create;
    await waitFor(async () => (await g.rpc.request<{ attach: { open: number } }>('gateway.status')).attach.open === 0, 'the gateway to see the client go');
    const status = await g.rpc.request<{ program: { state: string } }>('gateway.status');
    assert.equal(status.program.state, 'starting', 'hermes is still starting when the client is gone');
    fs.writeFileSync(gate, '');
    await running(g);
    const hermesPid = g.events.find((e) => e.type === 'backend.state' && e.state === 'running')!.pid as number;
    // hermes answers session.create inline, in order: a create sent for the gone client would be made first.
    const sid = await createSession(g, { label: 'host' }).catch((e: Error) => assert.fail(`the host's create is refused (does the gone client's create hold the one slot?): ${e.message}`));
    const active = await g.rpc.request<{ sessions: { id: string }[] }>('backend.call', { method: 'session.active_list' });
    assert.deepEqual(active.sessions.map((x) => x.id), [sid], 'hermes made no session for the gone client');
    const list = await g.rpc.request<{ sessions: ListedSession[] }>('session.list');
    assert.deepEqual(list.sessions.map((x) => x.sessionId), [sid], 'no session attached to the gone client');
    assert.deepEqual(g.events.filter((e) => e.type === 'session.created').map((e) => e.sessionId), [sid]);
    await workerOf(g, sid);
    assert.equal(workersOf(hermesPid).length, 1, 'one worker: the host session\'s');
    await stopHostedGateway(g);
  } finally {
    fs.rmSync(gate, { force: true });
  }
});

test('a hermes reply over --max-line-bytes fails its request at once, not at its timeout; the link goes on', opts, async (t) => {
  // The worker answers /fake-env with the variable's value: 20 000 bytes, over the 8192-byte line limit.
  const g = await startHermes({ args: ['--max-line-bytes', '8192'], env: { FAKE_BIG_OUTPUT: 'x'.repeat(20_000) } });
  const sid = await createSession(g);
  await workerOf(g, sid);
  const t0 = Date.now();
  // The test's own timeout is under the gateway's for slash.exec (75 s): a reply left waiting fails here.
  const e = await rpcError(exec(g, sid, '/fake-env FAKE_BIG_OUTPUT', 60_000));
  t.diagnostic(`refused after ${Date.now() - t0} ms: ${e.message}`);
  assert.equal(e.code, RpcErrorCode.MessageTooLarge, e.message);
  assert.match(e.message, /reply to slash\.exec was larger than 8192 bytes/);
  assert.match(await exec(g, sid, '/help'), /Available Commands/, 'the session and the link go on');
  assert.doesNotMatch(g.stderr(), /a stdout line longer than/, 'an answer, not taken for noise');
  await stopHostedGateway(g);
});

test('a hermes that stops reading its stdin: requests are refused at once instead of piling up; once it reads again all is well', opts, async (t) => {
  const g = await startHermes({ args: ['--max-line-bytes', '8192'] });
  await running(g);
  const pad = 'x'.repeat(7000);
  const refusals: RpcError[] = [];
  const call = () => g.rpc.request<{ requests: Record<string, number> }>('backend.call', { method: 'fake.stats', params: { pad } }, { timeoutMs: 60_000 })
    .then((r) => r, (e: RpcError) => {
      refusals.push(e);
      return undefined;
    });
  process.kill(g.hermesPid, 'SIGSTOP');
  let calls: Promise<{ requests: Record<string, number> } | undefined>[];
  let refusedLater: number;
  try {
    // 80 × 7 KB: more than hermes' stdin (a socketpair, ~208 KiB buffered by the kernel) and the
    // bound (4 × --max-line-bytes) hold together.
    calls = Array.from({ length: 80 }, call);
    await waitFor(() => refusals.length > 0, 'a request to be refused while hermes does not read', 20_000);
    // Past the bound, every new request is refused too: nothing more queues.
    refusedLater = (await Promise.all(Array.from({ length: 10 }, call))).filter((r) => r === undefined).length;
  } finally {
    process.kill(g.hermesPid, 'SIGCONT');
  }
  assert.equal(refusedLater, 10, 'every request sent once over the bound is refused');
  for (const e of refusals) {
    assert.equal(e.code, RpcErrorCode.BackendUnavailable, e.message);
    assert.match(e.message, /not reading its input: \d+ bytes sent to it are still unread, over the bound of 32768/);
  }
  const answered = (await Promise.all(calls)).filter((r) => r !== undefined).length;
  t.diagnostic(`${answered} of 80 sent to hermes, ${refusals.length - 10} refused; then 10 more refused`);
  assert.ok(answered > 0 && answered < 80, `some were sent and answered once hermes read again, not all (${answered})`);
  const stats = await g.rpc.request<{ requests: Record<string, number> }>('backend.call', { method: 'fake.stats' });
  assert.equal(stats.requests['fake.stats'], answered + 1, 'hermes got exactly the requests that were not refused');
  await stopHostedGateway(g);
});

test('a session hermes makes after gateway.shutdown began is refused, never added; nothing is left', opts, async () => {
  // hermes holds the reply 5 s, so the shutdown surely begins first; the grace (how long the
  // shutdown waits for hermes to exit) is well past it, so hermes answers and the refusal is ours.
  const g = await startHermes({ env: { FAKE_HERMES_CREATE_MS: '5000' } });
  await running(g);
  const create = g.rpc.request('session.create', { label: 'late' }).then(() => undefined, (e: unknown) => e);
  const sid = await sessionBeingMade(g);
  await g.rpc.request('gateway.shutdown', { graceMs: 10_000 });
  const refused = await create;
  assert.ok(refused instanceof RpcError, `the create is refused, got ${String(refused)}`);
  assert.match(refused.message, /shutting down/);
  assert.ok(!g.events.some((e) => e.type === 'session.created' && e.sessionId === sid), 'never one of our sessions');
  await waitNoMarked(g.hostFp);
});

test('a stale worker is reported, then taken down after the grace; live workers are untouched', opts, async (t) => {
  const g = await startHermes({ args: ['--poll-ms', '200', '--stale-worker-grace-ms', '1500'] });
  const [a, b] = await Promise.all([createSession(g), createSession(g)]);
  const [wa, wb] = await Promise.all([workerOf(g, a), workerOf(g, b)]);
  // hermes #21467's end state: session A is gone, its worker still runs under the live gateway.
  const left = await g.rpc.request<{ pid: number }>('backend.call', { method: 'fake.stale_worker', params: { session_id: a } });
  assert.equal(left.pid, wa.pid);
  const stale = await g.waitEvent((e) => e.type === 'worker.stale' && e.pid === wa.pid, 'worker.stale', 10_000);
  const listed = await g.rpc.request<{ sessions: ListedSession[]; staleWorkers: { pid: number; reapAt: number }[] }>('session.list');
  assert.deepEqual(listed.staleWorkers.map((w) => w.pid), [wa.pid], 'session.list names the stale worker');
  assert.deepEqual(listed.sessions.map((x) => x.sessionId), [b]);
  const status = await g.rpc.request<{ staleWorkers: { pid: number }[] }>('gateway.status');
  assert.deepEqual(status.staleWorkers.map((w) => w.pid), [wa.pid]);
  assert.ok(isAlive(wa.pid), 'still there during the grace');
  const reaped = await g.waitEvent((e) => e.type === 'worker.reaped' && e.pid === wa.pid, 'worker.reaped', 10_000);
  t.diagnostic(`worker ${wa.pid}: stale at ${String(stale.staleSince)}, taken down ${Number(reaped.staleForMs)} ms later (grace 1500 ms)`);
  assert.ok(Number(reaped.staleForMs) >= 1500, 'not before the grace');
  await waitForExit(wa.pid, 5000);
  assert.ok(isAlive(wb.pid), 'the live session\'s worker is untouched');
  assert.match(await exec(g, b, '/help'), /Available Commands/);
  await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === a && e.reason === 'closed-by-backend', 'session A closed-by-backend');
  await stopHostedGateway(g);
});

/** Root only: a session whose worker then runs as uid 65534 (the gateway may not signal it); SIGUSR1 gives it back uid 0. */
const rootOnly = { ...opts, skip: opts.skip || (process.getuid?.() !== 0 ? 'needs root (the worker changes its uid)' : false) };
async function foreignUidWorker(g: HostedGateway): Promise<{ a: string; wa: GatewayEvent & { pid: number; pgid: number; startTime: number } }> {
  const a = await createSession(g);
  const wa = await workerOf(g, a);
  track(wa.pid);
  assert.match(await exec(g, a, '/fake-foreign-uid 65534'), /^uid 65534$/);
  return { a, wa };
}

test('a stale worker the gateway may not signal (another uid\'s) is not reported taken down: it stays listed stale and is tried again until it can be', rootOnly, async (t) => {
  const g = await startHermes({ args: ['--poll-ms', '200', '--stale-worker-grace-ms', '500'] });
  let worker: number | undefined;
  try {
    const { a, wa } = await foreignUidWorker(g);
    worker = wa.pid;
    assert.equal(fs.statSync(`/proc/${wa.pid}`).uid, 65534, 'the worker is another user\'s now');
    await g.rpc.request('backend.call', { method: 'fake.stale_worker', params: { session_id: a } });
    await g.waitEvent((e) => e.type === 'worker.stale' && e.pid === wa.pid, 'worker.stale', 10_000);
    const refusedLine = new RegExp(`hermes worker ${wa.pid}: stale worker not taken down \\(worker ${wa.pid} still runs: [^\\n]*`);
    const line = await waitFor(() => refusedLine.exec(g.stderr())?.[0], 'a refused take-down in the log', 15_000);
    t.diagnostic(line);
    assert.match(line, /uid 65534|EPERM/, 'says why');
    assert.ok(isAlive(wa.pid), 'refused: still running');
    assert.ok(!g.events.some((e) => e.type === 'worker.reaped'), 'not reported taken down');
    const listed = await g.rpc.request<{ staleWorkers: { pid: number }[] }>('session.list');
    assert.deepEqual(listed.staleWorkers.map((w) => w.pid), [wa.pid], 'still listed stale');
    // It may be signalled again (uid 0): the next try takes it down.
    process.kill(wa.pid, 'SIGUSR1');
    await waitFor(() => fs.statSync(`/proc/${wa.pid}`).uid === 0, 'the worker back to uid 0', 5000);
    const reaped = await g.waitEvent((e) => e.type === 'worker.reaped' && e.pid === wa.pid, 'worker.reaped at a later try', 20_000);
    assert.deepEqual(reaped.refused, []);
    await waitForExit(wa.pid, 5000);
  } finally {
    if (worker !== undefined && isAlive(worker)) process.kill(worker, 'SIGUSR1');
    await stopHostedGateway(g);
  }
});

test('worker.kill on a hermes worker the gateway may not signal (another uid\'s) is a -32000 saying why, the worker lives, and its next failure is not sent twice', rootOnly, async () => {
  const g = await startHermes();
  let worker: number | undefined;
  try {
    const { a, wa } = await foreignUidWorker(g);
    worker = wa.pid;
    const e = await rpcError(g.rpc.request('worker.kill', { sessionId: a }, { timeoutMs: 15_000 }));
    assert.equal(e.code, RpcErrorCode.ServerError, e.message);
    assert.match(e.message, new RegExp(`^worker ${wa.pid} of session ${a} was not killed: worker ${wa.pid} still runs: .*uid 65534`));
    assert.deepEqual(e.data, { pid: wa.pid, startTime: wa.startTime, pgid: wa.pgid });
    assert.ok(isAlive(wa.pid), 'refused: nothing was signalled');
    // Not killed, so a 5030 from it is its own failure: the command goes to hermes once.
    const execs = async () => (await g.rpc.request<{ requests: Record<string, number> }>('backend.call', { method: 'fake.stats' })).requests['slash.exec'] ?? 0;
    const before = await execs();
    await rpcError(g.rpc.request('slash.exec', { sessionId: a, command: '/fake-fail on purpose' }));
    assert.equal(await execs(), before + 1, 'sent once');
  } finally {
    if (worker !== undefined && isAlive(worker)) process.kill(worker, 'SIGUSR1');
    await stopHostedGateway(g);
  }
});

/** How many session.active_list requests the fake hermes has had so far. */
async function activeListCalls(g: HostedGateway): Promise<number> {
  const stats = await g.rpc.request<{ requests: Record<string, number> }>('backend.call', { method: 'fake.stats' });
  return stats.requests['session.active_list'] ?? 0;
}

test('idle, the poll asks hermes for session.active_list once per 10 periods, not every period; a session hermes drops on its own is still found stale', opts, async (t) => {
  const POLL_MS = 100;
  const g = await startHermes({ args: ['--poll-ms', String(POLL_MS), '--stale-worker-grace-ms', '0'] });
  const [a, b] = await Promise.all([createSession(g), createSession(g)]);
  const [wa] = await Promise.all([workerOf(g, a), workerOf(g, b)]);
  // Exposure, not synchronisation: 30 poll periods with nothing happening in hermes.
  const before = await activeListCalls(g);
  const since = Date.now();
  await new Promise((r) => setTimeout(r, 30 * POLL_MS));
  const heldMs = Date.now() - since;
  const asked = (await activeListCalls(g)) - before - 1; // the backend.call of fake.stats asks once itself
  t.diagnostic(`${asked} session.active_list request(s) in ${heldMs} ms idle at --poll-ms ${POLL_MS} (every period: ${Math.floor(heldMs / POLL_MS)})`);
  assert.ok(asked <= Math.ceil(heldMs / (10 * POLL_MS)) + 2, `at most about one per 10 periods: ${asked} in ${heldMs} ms`);
  assert.ok(asked >= 1, 'but still asked now and then');

  // hermes drops session A by itself a moment after this call's own refresh, its worker left
  // running: nothing changes in the process table, only a later active_list can tell.
  const left = await g.rpc.request<{ pid: number }>('backend.call', { method: 'fake.stale_worker', params: { session_id: a, delay_ms: 300 } });
  assert.equal(left.pid, wa.pid);
  const droppedAt = Date.now() + 300;
  const stale = await g.waitEvent((e) => e.type === 'worker.stale' && e.pid === wa.pid, 'worker.stale', 15_000);
  t.diagnostic(`stale worker found ${Date.now() - droppedAt} ms after hermes dropped its session (at most 10 periods + a confirming one, plus load)`);
  assert.equal(stale.reapAt, null);
  await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === a && e.reason === 'closed-by-backend', 'session A closed-by-backend');
  await stopHostedGateway(g);
});

test('an attach client lists its own hermes sessions and gets their events — hermes\' own backend.event included — never the host\'s', opts, async () => {
  const g = await startHermes({ args: ['--listen'] });
  await running(g);
  const ws = await connectWithToken(attachOf(g));
  const client: JsonRpcPeer = peerOf(ws);
  const saw: { type: string; sessionId?: string | null; event?: { type?: string; session_id?: string } }[] = [];
  client.onNotification((method, params) => {
    if (method === 'event') saw.push(params as (typeof saw)[number]);
  });
  const hostSession = await createSession(g, { label: 'host' });
  const mine = (await client.request<{ sessionId: string }>('session.create', { label: 'mine' })).sessionId;
  await Promise.all([workerOf(g, hostSession), workerOf(g, mine)]);
  // hermes says session.info once each session's agent is built: the host gets both.
  for (const id of [hostSession, mine]) await g.waitEvent((e) => e.type === 'backend.event' && (e.event as { session_id?: string }).session_id === id, `hermes' session.info of ${id} at the host`);
  await waitFor(() => saw.some((e) => e.type === 'backend.event' && e.event?.session_id === mine), 'hermes\' session.info of its own session at the client');
  await waitFor(() => saw.some((e) => e.type === 'worker.started' && e.sessionId === mine), 'its worker.started');
  const listed = await client.request<{ sessions: { sessionId: string }[] }>('session.list');
  assert.deepEqual(listed.sessions.map((x) => x.sessionId), [mine]);
  const all = await g.rpc.request<{ sessions: { sessionId: string }[] }>('session.list');
  assert.deepEqual(all.sessions.map((x) => x.sessionId).sort(), [hostSession, mine].sort());
  assert.match(await exec(g, hostSession, '/help'), /Available Commands/);
  assert.deepEqual(await client.request('session.close', { sessionId: mine }), { closed: true });
  await waitFor(() => saw.some((e) => e.type === 'session.closed' && e.sessionId === mine), 'its session.closed');
  const about = saw.map((e) => e.sessionId ?? e.event?.session_id).filter((id) => typeof id === 'string');
  assert.ok(about.length > 0 && about.every((id) => id === mine), `the client saw events of its own session only: ${JSON.stringify(saw)}`);
  ws.terminate();
  await stopHostedGateway(g);
});

test('with --stale-worker-grace-ms 0 a stale worker is only reported', opts, async () => {
  const g = await startHermes({ args: ['--poll-ms', '200', '--stale-worker-grace-ms', '0'] });
  await running(g);
  // A worker for a key no session has.
  const left = await g.rpc.request<{ pid: number }>('backend.call', { method: 'fake.stale_worker' });
  track(left.pid, true);
  const stale = await g.waitEvent((e) => e.type === 'worker.stale' && e.pid === left.pid, 'worker.stale', 10_000);
  assert.equal(stale.reapAt, null);
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(isAlive(left.pid), 'reported, not killed');
  assert.equal(g.events.some((e) => e.type === 'worker.reaped'), false);
  await stopHostedGateway(g);
  // Its marker goes before it has finished exiting (see waitAllExited): its end is waited for.
  await waitAllExited([left.pid]); // the gateway's teardown takes it down all the same
});

for (const flavor of ['cur', 'leaky'] as const) {
  test(`host SIGKILL with a busy worker and a SIGTERM-ignoring grandchild (${flavor} hermes): everything gone`, opts, async (t) => {
    const g = await startHermes({ flavor });
    const [a, b] = await Promise.all([createSession(g), createSession(g)]);
    const [wa, wb] = await Promise.all([workerOf(g, a), workerOf(g, b)]);
    assert.equal(wa.pgid === wa.pid, flavor === 'cur', 'own group only with current hermes');
    const grandchild = Number(await exec(g, a, '/fake-grandchild 300'));
    track(grandchild);
    assert.equal(readProcStat(grandchild)?.pgid, wa.pgid, 'the grandchild is in its worker\'s group');
    await exec(g, a, '/fake-ignore-term');
    const busyBefore = g.events.filter((x) => x.type === 'worker.state' && x.sessionId === a && x.busy === true).length;
    void exec(g, a, '/fake-hold', 120_000).catch(() => undefined);
    await waitFor(() => g.events.filter((x) => x.type === 'worker.state' && x.sessionId === a && x.busy === true).length > busyBefore, 'the worker busy with /fake-hold');
    const marked = await waitAllMarked(g.hostFp, [g.gatewayPid, g.hermesPid, wa.pid, wb.pid, grandchild]);
    const killedAt = Date.now();
    g.host.kill('SIGKILL');
    await waitNoMarked(g.hostFp, 15_000);
    const ms = Date.now() - killedAt;
    t.diagnostic(`${flavor}: host SIGKILL → all ${marked.length} marked processes gone in ${ms} ms`);
    await waitAllExited([g.hermesPid, wa.pid, wb.pid, grandchild]);
    // hermes alone never reaches a grandchild (its worker watchdog kills only the worker, after a
    // 2 s poll and up to 5 s for a busy one): the grandchild gone is the proof the warden did it.
    // How fast is a benchmark's question (bench/backends.bench.ts), not a timed assertion that a
    // loaded machine fails.
  });
}

test('the hermes gateway dies: its workers are taken down at once, its sessions closed, the gateway stays up and says why', opts, async () => {
  const g = await startHermes();
  const s = await createSession(g);
  const w = await workerOf(g, s);
  void exec(g, s, '/fake-hold', 120_000).catch(() => undefined);
  await g.waitEvent((e) => e.type === 'worker.state' && e.sessionId === s && e.busy === true, 'busy');
  const killedAt = Date.now();
  process.kill(g.hermesPid, 'SIGKILL');
  await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'exited', 'backend.state exited');
  await waitForExit(w.pid, 5000);
  const ms = Date.now() - killedAt;
  assert.ok(ms < 2000, `the orphaned busy worker went in ${ms} ms (hermes' own watchdog: 2 s poll + up to 5 s)`);
  await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === s && e.reason === 'backend-exited', 'session.closed backend-exited');
  const e = await rpcError(createSession(g));
  assert.equal(e.code, -32021);
  assert.match(e.message, /the hermes gateway is not running: `python3 -m tui_gateway\.entry` \(cwd .*\) exited \(killed by SIGKILL\)/);
  assert.ok(isAlive(g.gatewayPid));
  await stopHostedGateway(g);
});

test('/model restarts the worker: worker.exited for the old pid, worker.started for the new one, same session', opts, async () => {
  const g = await startHermes();
  const s = await createSession(g);
  const before = await workerOf(g, s);
  await exec(g, s, '/model other-model');
  const after = await workerOf(g, s, before.pid);
  assert.notEqual(after.pid, before.pid);
  await g.waitEvent((e) => e.type === 'worker.exited' && e.pid === before.pid && e.sessionId === s, 'worker.exited for the old worker');
  const list = await g.rpc.request<{ sessions: ListedSession[] }>('session.list');
  assert.equal(list.sessions[0].worker?.pid, after.pid);
  assert.equal(list.sessions[0].hermes.model, 'other-model');
  await stopHostedGateway(g);
});

test('worker.kill ends the session\'s worker and its group; the session stays', opts, async () => {
  const g = await startHermes();
  const s = await createSession(g);
  const w = await workerOf(g, s);
  const grandchild = Number(await exec(g, s, '/fake-grandchild 300'));
  track(grandchild);
  const r = await g.rpc.request<{ killed: boolean; worker: { pid: number } }>('worker.kill', { sessionId: s });
  assert.equal(r.killed, true);
  assert.equal(r.worker.pid, w.pid);
  assert.equal(isAlive(w.pid), false);
  assert.equal(isAlive(grandchild), false, 'the worker\'s group went with it');
  const list = await g.rpc.request<{ sessions: ListedSession[] }>('session.list');
  assert.deepEqual(list.sessions.map((x) => x.sessionId), [s]);
  // hermes still holds the dead worker and fails the next command once (5030) before it starts a
  // new one: the gateway absorbs that, and the very next command runs in a new worker.
  assert.equal(await exec(g, s, '/fake-pid'), String((await workerOf(g, s, w.pid)).pid));
  assert.match(g.stderr(), /hermes still held the worker worker\.kill ended/, 'the retry happened (and is logged)');
  assert.match(await exec(g, s, '/help'), /Available Commands/);
  await stopHostedGateway(g);
});

test('worker.kill during a command: that command fails (hermes drops the worker then), and a later failing command is sent to hermes once, not run twice', opts, async () => {
  const g = await startHermes();
  try {
    const s = await createSession(g);
    const w = await workerOf(g, s);
    const running = rpcError(exec(g, s, '/fake-sleep 20000', 60_000));
    await g.waitEvent((e) => e.type === 'worker.state' && e.sessionId === s && e.busy === true, 'busy');
    const r = await g.rpc.request<{ killed: boolean }>('worker.kill', { sessionId: s }, { timeoutMs: 15_000 });
    assert.equal(r.killed, true);
    const cut = await running;
    assert.equal((cut.data as { hermesCode?: number }).hermesCode, 5030, `the running command met the kill: ${cut.message}`);
    const execs = async () => (await g.rpc.request<{ requests: Record<string, number> }>('backend.call', { method: 'fake.stats' })).requests['slash.exec'] ?? 0;
    const before = await execs();
    // hermes starts a new worker for it, which fails it (5030): its own failure, not the killed worker's.
    const failed = await rpcError(exec(g, s, '/fake-fail on purpose'));
    assert.equal((failed.data as { hermesCode?: number }).hermesCode, 5030, failed.message);
    assert.equal(await execs(), before + 1, 'sent to hermes once');
    assert.doesNotMatch(g.stderr(), /hermes still held the worker worker\.kill ended/, 'no retry');
    assert.match(await exec(g, s, '/help'), /Available Commands/, 'the session goes on');
    assert.ok(!isAlive(w.pid));
  } finally {
    await stopHostedGateway(g);
  }
});

test('worker.kill naming a worker that is not the session\'s current one (replaced by /model) kills nothing and says why; the current fingerprint kills', opts, async () => {
  const g = await startHermes();
  const s = await createSession(g);
  const before = await workerOf(g, s);
  await exec(g, s, '/model other-model');
  const now = await workerOf(g, s, before.pid);
  await g.waitEvent((e) => e.type === 'worker.exited' && e.pid === before.pid && e.sessionId === s, 'worker.exited for the old worker');
  const cur = { pid: now.pid, startTime: now.startTime, pgid: now.pgid };
  const stale = await g.rpc.request('worker.kill', { sessionId: s, pid: before.pid, startTime: before.startTime });
  assert.deepEqual(stale, { sessionId: s, killed: false, worker: null, reason: 'not-current', current: cur });
  const reused = await g.rpc.request<{ killed: boolean; reason?: string }>('worker.kill', { sessionId: s, pid: now.pid, startTime: now.startTime + 1 });
  assert.deepEqual([reused.killed, reused.reason], [false, 'not-current']);
  assert.equal((await rpcError(g.rpc.request('worker.kill', { sessionId: s, pid: now.pid, startTime: 'x' }))).code, -32602);
  assert.equal(readProcStat(now.pid)?.startTime, now.startTime, 'nothing was signalled: the current worker lives, the same process');
  assert.equal(await exec(g, s, '/fake-pid'), String(now.pid), 'and still runs the session\'s commands');

  const r = await g.rpc.request<{ killed: boolean; worker: unknown }>('worker.kill', { sessionId: s, pid: now.pid, startTime: now.startTime });
  assert.deepEqual([r.killed, r.worker], [true, cur]);
  assert.equal(isAlive(now.pid), false);
  await stopHostedGateway(g);
});

test('session.close while a command runs in it: the close ends the worker, the command fails saying the session was closed; another session is untouched', opts, async () => {
  const g = await startHermes();
  const [a, b] = await Promise.all([createSession(g), createSession(g)]);
  const [wa, wb] = await Promise.all([workerOf(g, a), workerOf(g, b)]);
  const running = rpcError(exec(g, a, '/fake-sleep 20000', 60_000));
  await g.waitEvent((e) => e.type === 'worker.state' && e.sessionId === a && e.busy === true, 'a busy');
  const other = exec(g, b, '/fake-sleep 300');
  assert.deepEqual(await g.rpc.request('session.close', { sessionId: a }), { closed: true });
  assert.equal(isAlive(wa.pid), false, 'the worker is gone when session.close answers');
  const e = await running;
  // hermes answers the cut-off command with its dying worker's words (5030 "slash worker ..."):
  // the client hears why.
  assert.equal(e.code, -32000);
  assert.match(e.message, new RegExp(`session ${a} was closed during the command`));
  assert.equal(await other, 'slept 300 ms');
  assert.ok(isAlive(wb.pid));
  const list = await g.rpc.request<{ sessions: ListedSession[] }>('session.list');
  assert.deepEqual(list.sessions.map((x) => x.sessionId), [b]);
  await stopHostedGateway(g);
});

test('gateway.shutdown with a busy worker answers at once (hermes would wait for it) and leaves nothing', opts, async () => {
  const g = await startHermes();
  const s = await createSession(g);
  const w = await workerOf(g, s);
  void exec(g, s, '/fake-hold', 120_000).catch(() => undefined);
  await g.waitEvent((e) => e.type === 'worker.state' && e.sessionId === s && e.busy === true, 'busy');
  const t0 = Date.now();
  const r = await g.rpc.request<{ closedSessions: number }>('gateway.shutdown', { graceMs: 3000 });
  assert.equal(r.closedSessions, 1);
  assert.ok(Date.now() - t0 < 3500, 'bounded by the grace');
  assert.equal(isAlive(w.pid), false);
  assert.equal(isAlive(g.hermesPid), false);
  await waitNoMarked(g.hostFp);
});

test('a program that is not a hermes gateway: a clear error naming what was run; the gateway stays up; nothing of it is left', opts, async () => {
  const cases: { command: string[]; args?: string[]; expect: RegExp; gone?: boolean }[] = [
    {
      command: ['python3', '-m', 'no_such_hermes_module'],
      expect: /`python3 -m no_such_hermes_module` \(cwd .*\) exited \(exit code 1\) \d+ ms after it started, before hermes-agent's gateway\.ready event \(is hermes-agent installed for that interpreter[^]*No module named no_such_hermes_module/,
    },
    {
      command: ['sh', '-c', 'echo "hermes 0.1 usage: hermes [--tui]"; exec sleep 300'],
      args: ['--backend-start-timeout-ms', '800'],
      expect: /no gateway\.ready within 800 ms from `sh -c .*` \(cwd .*\); is hermes-agent installed for that interpreter[^]*its stdout said: "hermes 0\.1 usage: hermes \[--tui\]"/,
      gone: true,
    },
  ];
  for (const c of cases) {
    const g = await startHermes({ command: c.command, args: c.args });
    const failed = await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'failed', `failed: ${c.command.join(' ')}`, 20_000);
    assert.match(String(failed.error), c.expect);
    const status = await g.rpc.request<{ backend: string; program: { state: string; error: string; pid: number } }>('gateway.status');
    assert.equal(status.program.state, 'failed');
    assert.match(status.program.error, c.expect);
    const e = await rpcError(createSession(g));
    assert.equal(e.code, -32021);
    assert.match(e.message, c.expect);
    if (c.gone) await waitFor(() => !isAlive(status.program.pid), 'the program to be taken down');
    assert.ok(isAlive(g.gatewayPid), 'the gateway is up');
    await stopHostedGateway(g);
  }
});
