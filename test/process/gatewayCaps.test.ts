// The session and live-worker caps against the real gateway, proven in the process table: at most
// maxWorkers worker processes at any moment under a flood, the least recently used idle worker
// stopped (and gone) before a new one starts, and an immediate LimitReached when all are busy.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RpcError, RpcErrorCode } from '../../src/core/rpc';
import { createSession, exec, GatewayEvent, HostedGateway, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { markedWorkerPids, sampleContinuously } from '../support/marker';
import { isAlive, killTracked, waitFor } from '../support/processes';

after(killTracked);

const ofType = (events: GatewayEvent[], type: string, sessionId?: string) =>
  events.filter((e) => e.type === type && (sessionId === undefined || e.sessionId === sessionId));

/** Settles a request as its result or the RpcError it failed with (never rejects). */
const settle = <T>(p: Promise<T>): Promise<T | RpcError> => p.catch((e: RpcError) => e);

function assertLimitError(e: unknown, limit: 'maxSessions' | 'maxWorkers', value: number): void {
  assert.ok(e instanceof RpcError, `an RpcError, got ${String(e)}`);
  assert.equal(e.code, RpcErrorCode.LimitReached, e.message);
  assert.deepEqual(e.data, { limit, value, setting: `gatewayWarden.limits.${limit}` });
  assert.match(e.message, new RegExp(`${limit} limit reached \\(${value}\\)`));
  assert.match(e.message, new RegExp(`gatewayWarden\\.limits\\.${limit}`), 'the message names the setting');
}

async function status(g: HostedGateway) {
  return g.rpc.request<{ sessions: number; workers: number; busyWorkers: number; limits: { maxSessions: number; maxWorkers: number } }>('gateway.status', {}, { timeoutMs: 10_000 });
}

test('defaults: 1,000 session.create + 40 concurrent /sleep 300 leave at most 16 workers alive, answer every request, and the gateway stays responsive', async () => {
  const g = await startHostedGateway();
  const ready = g.events.find((e) => e.type === 'gateway.ready')!;
  assert.deepEqual(ready.limits, { maxSessions: 256, maxWorkers: 16 }, 'gateway.ready reports the limits');
  const sampler = sampleContinuously(() => markedWorkerPids(g.hostFp).length);
  try {
    const creates = await Promise.all(Array.from({ length: 1000 }, (_, i) => settle(createSession(g, { label: `flood ${i}` }))));
    const ids = creates.filter((r): r is string => typeof r === 'string');
    const refusedCreates = creates.filter((r) => r instanceof RpcError);
    assert.equal(ids.length, 256, 'the session cap');
    assert.equal(refusedCreates.length, 744, 'every other create answered with a refusal');
    for (const e of refusedCreates) assertLimitError(e, 'maxSessions', 256);

    // gateway.status answers promptly while 40 commands compete for 16 workers.
    const latencies: number[] = [];
    let loading = true;
    const prober = (async () => {
      while (loading) {
        const t = Date.now();
        const st = await status(g);
        latencies.push(Date.now() - t);
        assert.ok(st.workers <= 16, `gateway.status counts ${st.workers} workers`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const execs = await Promise.all(ids.slice(0, 40).map((s) => settle(exec(g, s, '/sleep 300', 60_000))));
    loading = false;
    await prober;

    const ok = execs.filter((r) => r === 'slept 300 ms');
    const refused = execs.filter((r) => r instanceof RpcError);
    assert.equal(ok.length + refused.length, 40, `every command answered: ${execs.filter((r) => r !== 'slept 300 ms' && !(r instanceof RpcError)).join(', ')}`);
    assert.ok(ok.length >= 16, `the first 16 commands got workers (${ok.length} did)`);
    for (const e of refused) assertLimitError(e, 'maxWorkers', 16);
    assert.ok(latencies.length >= 1);
    assert.ok(Math.max(...latencies) < 2000, `gateway.status latencies under load: max ${Math.max(...latencies)} ms`);

    const st = await status(g);
    assert.deepEqual(st.limits, { maxSessions: 256, maxWorkers: 16 });
    assert.equal(st.sessions, 256);
    assert.ok(st.workers <= 16 && st.workers >= 1, `${st.workers} workers`);
    assert.equal(st.busyWorkers, 0);
  } finally {
    const { max, samples } = await sampler.stop();
    assert.ok(samples >= 10, `the process table was sampled (${samples} scans)`);
    assert.ok(max <= 16, `at most 16 workers alive at any moment; saw ${max}`);
    assert.ok(max >= 16, `the cap was reached (saw ${max}), so the sampling could have seen more`);
  }
  await stopHostedGateway(g);
});

test('LRU eviction at --max-workers 2: the least recently used idle worker is stopped and gone before the new one starts; its session stays and gets a new worker', async () => {
  const g = await startHostedGateway({ args: ['--max-workers', '2'] });
  const sampler = sampleContinuously(() => markedWorkerPids(g.hostFp).length);
  try {
    const [a, b, c] = [await createSession(g, { label: 'a' }), await createSession(g, { label: 'b' }), await createSession(g, { label: 'c' })];
    assert.equal(await exec(g, a, '/echo a1'), 'a1');
    assert.equal(await exec(g, b, '/echo b1'), 'b1');
    assert.equal(await exec(g, a, '/echo a2'), 'a2'); // a is now more recent than b
    const [pidA] = ofType(g.events, 'worker.started', a).map((e) => e.pid as number);
    const [pidB] = ofType(g.events, 'worker.started', b).map((e) => e.pid as number);

    assert.equal(await exec(g, c, '/echo c1'), 'c1');
    const evicted = ofType(g.events, 'worker.evicted');
    assert.equal(evicted.length, 1);
    assert.equal(evicted[0].sessionId, b, 'the least recently used idle worker (b), not the oldest (a)');
    assert.equal(evicted[0].pid, pidB);
    assert.equal(evicted[0].reason, 'worker-cap');
    assert.equal(evicted[0].limit, 2);
    assert.equal(isAlive(pidB), false, 'the evicted worker is gone from the process table');
    assert.equal(isAlive(pidA), true, 'the other worker is untouched');
    // In order: evicted, the evicted worker exited, only then the new worker started.
    const order = g.events.map((e) => `${e.type}:${e.sessionId ?? ''}`);
    const iEvicted = order.indexOf(`worker.evicted:${b}`);
    const iExited = order.indexOf(`worker.exited:${b}`);
    const iStarted = order.indexOf(`worker.started:${c}`);
    assert.ok(iEvicted >= 0 && iEvicted < iExited && iExited < iStarted, `event order: ${order.slice(-8).join(' ')}`);

    const list = await g.rpc.request<{ sessions: { sessionId: string; worker: { pid: number } | null }[] }>('session.list');
    const rowB = list.sessions.find((s) => s.sessionId === b);
    assert.ok(rowB, 'the evicted worker\'s session is still listed');
    assert.equal(rowB.worker, null);

    // b is usable: it gets a new worker, and a (now the least recently used) makes room.
    assert.equal(await exec(g, b, '/echo b2'), 'b2');
    const startedB = ofType(g.events, 'worker.started', b);
    assert.equal(startedB.length, 2, 'a new worker for b');
    assert.equal(ofType(g.events, 'worker.evicted', a).length, 1, 'a was evicted for it');
    await waitFor(() => !isAlive(pidA), `evicted worker ${pidA} gone`);
    assert.equal(ofType(g.events, 'session.closed').length, 0, 'no session closed');
  } finally {
    const { max } = await sampler.stop();
    assert.ok(max <= 2, `at most 2 workers alive at any moment; saw ${max}`);
  }
  await stopHostedGateway(g);
});

test('all workers busy: a command needing a worker is refused at once, the busy ones keep running; the session cap refuses at once too', async () => {
  const g = await startHostedGateway({ args: ['--max-workers', '2', '--max-sessions', '3'] });
  const [a, b, c] = [await createSession(g), await createSession(g), await createSession(g)];
  const t0 = Date.now();
  const refusedCreate = await settle(createSession(g));
  assertLimitError(refusedCreate, 'maxSessions', 3);
  assert.ok(Date.now() - t0 < 1000, `session.create refused in ${Date.now() - t0} ms`);

  const slow = [exec(g, a, '/sleep 4000'), exec(g, b, '/sleep 4000')];
  await waitFor(() => ofType(g.events, 'worker.state').filter((e) => e.busy === true && e.state === 'ready').length >= 2, 'both workers busy and ready', 15_000);
  const t1 = Date.now();
  const refused = await settle(exec(g, c, '/echo c'));
  const refusedMs = Date.now() - t1;
  assertLimitError(refused, 'maxWorkers', 2);
  assert.ok(refusedMs < 1000, `refused in ${refusedMs} ms, not after a wait`);
  assert.match((refused as RpcError).message, /all 2 workers are busy/);
  assert.equal(ofType(g.events, 'worker.evicted').length, 0, 'a busy worker is never evicted');
  assert.equal(ofType(g.events, 'worker.started', c).length, 0);
  const st = await status(g);
  assert.deepEqual([st.workers, st.busyWorkers, st.sessions], [2, 2, 3]);

  assert.deepEqual(await Promise.all(slow), ['slept 4000 ms', 'slept 4000 ms'], 'the busy commands completed');
  // Once a worker is idle again, c's command gets one (by evicting the least recently used).
  assert.equal(await exec(g, c, '/echo c'), 'c');
  // Closing a session frees its slot in the session cap.
  assert.deepEqual(await g.rpc.request('session.close', { sessionId: a }), { closed: true });
  assert.equal(typeof (await createSession(g)), 'string');
  await stopHostedGateway(g);
});

test('at the cap, concurrent commands on one session still share exactly one new worker; a closing worker\'s slot is waited for instead of evicting', async () => {
  const g = await startHostedGateway({ args: ['--max-workers', '2'] });
  const sampler = sampleContinuously(() => markedWorkerPids(g.hostFp).length);
  try {
    const [a, b, c, d] = [await createSession(g), await createSession(g), await createSession(g), await createSession(g)];
    await exec(g, a, '/echo a');
    await exec(g, b, '/echo b');
    const outs = await Promise.all(Array.from({ length: 6 }, (_, i) => exec(g, c, `/echo ${i}`)));
    assert.deepEqual(outs, ['0', '1', '2', '3', '4', '5']);
    assert.equal(ofType(g.events, 'worker.started', c).length, 1, 'exactly one worker for c');
    assert.equal(ofType(g.events, 'worker.evicted').length, 1, 'one eviction made its room');
    const evictedFor = ofType(g.events, 'worker.evicted')[0].sessionId;
    assert.equal(evictedFor, a, 'a was the least recently used');

    // b's worker is idle, c's too; closing c frees a slot: d waits for it and evicts nobody.
    const closing = g.rpc.request('session.close', { sessionId: c });
    assert.equal(await exec(g, d, '/echo d'), 'd');
    assert.deepEqual(await closing, { closed: true });
    assert.equal(ofType(g.events, 'worker.evicted').length, 1, 'no second eviction: the closing worker\'s slot was used');
    assert.equal(ofType(g.events, 'worker.exited', b).length, 0, 'b keeps its worker');
  } finally {
    const { max } = await sampler.stop();
    assert.ok(max <= 2, `at most 2 workers alive at any moment; saw ${max}`);
  }
  await stopHostedGateway(g);
});
