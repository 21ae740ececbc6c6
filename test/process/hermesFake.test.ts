// The fake hermes gateway (test/fixtures/hermes) that the hermes backend's tests will run against:
// its contract, checked on real processes. Replies are matched by id; workers are found in the
// process table by parent pid and argv, exactly as the backend will find real hermes' workers.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readProcCmdline, readProcEnvVar, readProcStat } from '../../src/core/procfs';
import { isAlive, killTracked, testMarker, track, waitFor, waitForExit } from '../support/processes';
import { FakeHermes, fakeHermesUnavailable, startFakeHermes, waitForWorker, workersOf } from '../support/fakeHermes';

after(killTracked);

const unavailable = process.platform !== 'linux' ? 'needs Linux /proc' : fakeHermesUnavailable();
const opts = { skip: unavailable ?? false, timeout: 90_000 };

interface Created {
  session_id: string;
  stored_session_id: string;
  info: { model: string };
}

async function create(g: FakeHermes, params: Record<string, unknown> = {}): Promise<Created> {
  return g.rpc.request<Created>('session.create', params);
}

async function closeAndExit(g: FakeHermes): Promise<void> {
  g.proc.stdin!.end();
  await waitForExit(g.pid, 20_000);
}

test('gateway.ready is the first frame; session.create starts a worker exactly as hermes starts one', opts, async () => {
  const marker = testMarker('hermesFakeCreate');
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-hermes-cwd-'));
  try {
    const g = startFakeHermes({ cwd, env: { GATEWAY_WARDEN_OWNER: marker } });
    const ready = await g.waitEvent((e) => e.type === 'gateway.ready', 'gateway.ready');
    assert.deepEqual(g.frames[0], { jsonrpc: '2.0', method: 'event', params: ready }, 'gateway.ready comes first');
    assert.deepEqual(Object.keys(ready.payload ?? {}), ['skin'], 'payload {skin}, no pid');

    const s = await create(g, { title: 'one', close_on_disconnect: true });
    assert.match(s.session_id, /^[0-9a-f]{8}$/);
    assert.match(s.stored_session_id, /^\d{8}_\d{6}_[0-9a-f]{6}$/);
    // Started after the agent build that follows session.create, before any slash.exec.
    const w = await waitForWorker(g.pid, s.stored_session_id);
    assert.deepEqual(w.argv.slice(1), ['-m', 'tui_gateway.slash_worker', '--session-key', s.stored_session_id, '--model', s.info.model]);
    assert.equal(fs.readlinkSync(`/proc/${w.pid}/exe`), fs.readlinkSync(`/proc/${g.pid}/exe`), 'same interpreter as the gateway');
    assert.equal(w.sid, w.pid, 'the worker leads its own session (start_new_session=True)');
    assert.equal(w.pgid, w.pid, 'and its own process group');
    assert.equal(fs.readlinkSync(`/proc/${w.pid}/cwd`), fs.realpathSync(cwd), "the worker's cwd is the gateway's");
    assert.equal(readProcEnvVar(w.pid, 'GATEWAY_WARDEN_OWNER'), marker, 'the owner marker survives into the worker');
    const info = await g.waitEvent((e) => e.type === 'session.info' && e.session_id === s.session_id, 'session.info');
    assert.equal(info.payload?.model, s.info.model);

    const active = await g.rpc.request<{ sessions: { id: string; session_key: string; status: string }[] }>('session.active_list');
    assert.deepEqual(active.sessions.map((r) => [r.id, r.session_key]), [[s.session_id, s.stored_session_id]]);
    await closeAndExit(g);
    assert.equal(isAlive(w.pid), false, 'stdin EOF took the worker down');
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});

test('the leaky flavor starts workers in the gateway\'s own process group', opts, async () => {
  const g = startFakeHermes({ env: { FAKE_HERMES_FLAVOR: 'leaky' } });
  const s = await create(g);
  const w = await waitForWorker(g.pid, s.stored_session_id);
  assert.equal(w.pgid, readProcStat(g.pid)!.pgid, 'same group as the gateway');
  assert.notEqual(w.sid, w.pid);
  await closeAndExit(g);
});

test('slash.exec runs on a pool: a later inline request is answered first, each reply matched by id', opts, async () => {
  const g = startFakeHermes();
  const s = await create(g);
  await waitForWorker(g.pid, s.stored_session_id);
  const settled: string[] = [];
  const slow = g.rpc.request<{ output: string }>('slash.exec', { session_id: s.session_id, command: '/fake-sleep 1500' })
    .then((r) => { settled.push('slash.exec'); return r; });
  const fast = g.rpc.request<{ sessions: unknown[] }>('session.active_list')
    .then((r) => { settled.push('session.active_list'); return r; });
  const [slowR, fastR] = await Promise.all([slow, fast]);
  assert.deepEqual(settled, ['session.active_list', 'slash.exec'], 'the inline reply overtakes the pooled one');
  assert.equal(slowR.output, 'slept 1500 ms');
  assert.equal(fastR.sessions.length, 1);
  const replyIds = g.frames.filter((f) => 'id' in f).map((f) => f.id);
  const i = replyIds.length;
  assert.ok(i >= 3 && (replyIds[i - 2] as number) > (replyIds[i - 1] as number), `reply ids out of order on the wire: ${JSON.stringify(replyIds)}`);

  // hermes' error codes, each answered without harming the gateway.
  await assert.rejects(g.rpc.request('slash.exec', { session_id: 'nope', command: '/help' }), { code: 4001 });
  await assert.rejects(g.rpc.request('slash.exec', { session_id: s.session_id, command: '  ' }), { code: 4004 });
  await assert.rejects(g.rpc.request('slash.exec', { session_id: s.session_id, command: '/fake-skill' }), { code: 4018 });
  await assert.rejects(g.rpc.request('no.such.method', {}), { code: -32601 });
  await assert.rejects(g.rpc.request('session.close', [1]), { code: -32602 });
  assert.deepEqual(await g.rpc.request('session.close', { session_id: 'nope' }), { closed: false });
  assert.match((await g.rpc.request<{ output: string }>('slash.exec', { session_id: s.session_id, command: '/help' })).output, /\/model/);
  await closeAndExit(g);
});

test('/model restarts the worker (new pid, same key); session.close ends it; a second close is false', opts, async () => {
  const g = startFakeHermes();
  const s = await create(g);
  const w1 = await waitForWorker(g.pid, s.stored_session_id);
  const r = await g.rpc.request<{ output: string }>('slash.exec', { session_id: s.session_id, command: '/model other-model' });
  assert.match(r.output, /Model switched: other-model/);
  const w2 = await waitForWorker(g.pid, s.stored_session_id);
  assert.notEqual(w2.pid, w1.pid);
  assert.equal(isAlive(w1.pid), false, 'the old worker was stopped before the reply');
  assert.deepEqual(w2.argv.slice(-2), ['--model', 'other-model']);
  assert.deepEqual(await g.rpc.request('session.close', { session_id: s.session_id }), { closed: true });
  await waitForExit(w2.pid, 5_000);
  assert.deepEqual(await g.rpc.request('session.close', { session_id: s.session_id }), { closed: false });
  assert.deepEqual(workersOf(g.pid), []);
  await closeAndExit(g);
});

test('stale workers: the fake.stale_worker hook and the leaky tree\'s close-vs-/model race', opts, async () => {
  for (const flavor of ['cur', 'leaky'] as const) {
    const g = startFakeHermes({ env: { FAKE_HERMES_FLAVOR: flavor, FAKE_HERMES_MODEL_SWITCH_MS: '2000' } });
    const a = await create(g);
    const b = await create(g);
    await waitForWorker(g.pid, a.stored_session_id);
    const wb = await waitForWorker(g.pid, b.stored_session_id);

    // Hook: session b is closed but its worker left running.
    const hook = await g.rpc.request<{ pid: number; session_key: string }>('fake.stale_worker', { session_id: b.session_id });
    assert.deepEqual(hook, { pid: wb.pid, session_key: b.stored_session_id });
    // The race: close a while the gateway is mid-switch, i.e. after the worker has answered.
    const model = g.rpc.request('slash.exec', { session_id: a.session_id, command: '/model other-model' });
    await waitFor(() => g.stderr().includes(`model switch for session ${a.session_id} under way`), 'the model switch', 20_000);
    assert.deepEqual(await g.rpc.request('session.close', { session_id: a.session_id }), { closed: true });
    await model;

    const keys: string[] = (await g.rpc.request<{ sessions: { session_key: string }[] }>('session.active_list')).sessions.map((r) => r.session_key);
    assert.equal(keys.length, 0, 'no live session is left');
    const expected = flavor === 'leaky' ? [a.stored_session_id, b.stored_session_id] : [b.stored_session_id];
    let seen: string[] = [];
    const stale = await waitFor(() => {
      seen = workersOf(g.pid).filter((w) => !keys.includes(w.sessionKey)).map((w) => w.sessionKey).sort();
      return seen.length === expected.length && seen;
    }, `${expected.length} stale worker(s) in the ${flavor} flavor`, 10_000).catch((e: Error) => {
      throw new Error(`${e.message}; saw ${JSON.stringify(seen)}; gateway stderr: ${g.stderr()}`);
    });
    assert.deepEqual(stale, expected.sort(), `${flavor}: stale workers by --session-key`);
    assert.ok(isAlive(g.pid), 'the gateway lives on beside them');
    await closeAndExit(g);
  }
});

test('stdin EOF waits for an in-flight slash.exec, then everything is gone; a SIGTERM-ignoring grandchild survives hermes\' per-pid close', opts, async () => {
  const g = startFakeHermes();
  const s = await create(g);
  const w = await waitForWorker(g.pid, s.stored_session_id);
  const grandchild = Number((await g.rpc.request<{ output: string }>('slash.exec', { session_id: s.session_id, command: '/fake-grandchild 60' })).output);
  assert.ok(Number.isSafeInteger(grandchild) && grandchild > 1);
  track(grandchild);
  assert.equal(readProcStat(grandchild)?.pgid, w.pid, "the grandchild is in the worker's group");
  // Popen returns once the child's exec closed its error pipe, which the kernel does before it
  // sets the new program's argument area: for a moment the command line reads empty.
  await waitFor(() => readProcCmdline(grandchild).length > 0, 'the grandchild\'s command line');
  assert.deepEqual(readProcCmdline(grandchild).slice(1, 2), ['-c']);

  // Timed from the send, not from the EOF: a late timer shortened an EOF-based measure. The worker
  // answers no sooner than 3000 ms after the send, so a gateway that waits for it exits no sooner
  // (3 s, not less: the EOF must surely come while the command is in flight, 300 ms after the send).
  const sentAt = Date.now();
  let answered = false;
  const busy = g.rpc.request<{ output: string }>('slash.exec', { session_id: s.session_id, command: '/fake-sleep 3000' });
  void busy.then(() => (answered = true), () => undefined);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(answered, false, 'stdin ends while the slash.exec is in flight');
  g.proc.stdin!.end();
  assert.equal((await busy).output, 'slept 3000 ms', 'the in-flight slash.exec is still answered after stdin EOF');
  await waitForExit(g.pid, 20_000);
  assert.ok(Date.now() - sentAt >= 3000, 'the gateway waited for the busy worker');
  assert.equal(isAlive(w.pid), false, 'the worker was terminated');
  assert.equal(isAlive(grandchild), true, 'hermes closes workers per pid: the grandchild outlives them (a warden must sweep groups)');
  process.kill(grandchild, 'SIGKILL');
  await waitForExit(grandchild);
});

test('gateway SIGKILLed with a busy worker: the cur watchdog ends the worker, the leaky worker runs on', opts, async (t) => {
  const watchdog = { HERMES_SLASH_WATCHDOG_POLL_S: '0.1', HERMES_SLASH_WATCHDOG_GRACE_S: '0.5' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-hermes-hold-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const flavor of ['cur', 'leaky'] as const) {
    const mark = path.join(dir, flavor);
    const g = startFakeHermes({ env: { FAKE_HERMES_FLAVOR: flavor, FAKE_HERMES_HOLD_MARK: mark, ...watchdog } });
    const s = await create(g);
    const w = await waitForWorker(g.pid, s.stored_session_id);
    void g.rpc.request('slash.exec', { session_id: s.session_id, command: '/fake-hold' }).catch(() => undefined);
    // The worker makes the mark once /fake-hold is in flight there: only then is it a busy worker.
    await waitFor(() => fs.existsSync(mark), `the ${flavor} worker to start /fake-hold`);
    process.kill(g.pid, 'SIGKILL');
    await waitForExit(g.pid);
    if (flavor === 'cur') {
      await waitForExit(w.pid, 10_000); // 0.1 s poll + 0.5 s grace, with room for a loaded machine
    } else {
      await new Promise((res) => setTimeout(res, 2_000));
      assert.equal(isAlive(w.pid), true, 'no watchdog: the busy leaky worker outlives its gateway');
      process.kill(w.pid, 'SIGKILL');
      await waitForExit(w.pid);
    }
  }
});
