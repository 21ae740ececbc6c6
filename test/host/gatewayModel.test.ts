import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayModel } from '../../src/host/gatewayModel';

test('a created session shows as attached (to its creator) at once, not only after a refresh; session.list can detach it', () => {
  const m = new GatewayModel();
  m.applyEvent({ type: 'session.created', sessionId: 's1', label: 'a', closeOnDisconnect: true, createdAt: 5 });
  assert.equal(m.get('s1')?.client, 'attached');
  m.applyList({ sessions: [{ sessionId: 's1', label: 'a', closeOnDisconnect: true, createdAt: 5, attached: true, worker: null }] });
  assert.equal(m.get('s1')?.client, 'attached', 'same before and after a resync');
  m.applyList({ sessions: [{ sessionId: 's1', label: 'a', closeOnDisconnect: false, createdAt: 5, attached: false, worker: null }] });
  assert.equal(m.get('s1')?.client, undefined, 'detached per session.list');
  m.applyList({ sessions: [{ sessionId: 's1', createdAt: 5 }] });
  assert.equal(m.get('s1')?.client, undefined, 'no attach info: the last known state stays');
});

test('a session.list answer asked before an event does not undo it: a session created, given a worker or closed meanwhile stays as the events left it', () => {
  const m = new GatewayModel();
  m.applyEvent({ type: 'session.created', sessionId: 'old', createdAt: 1 });
  m.applyEvent({ type: 'session.created', sessionId: 'gone', createdAt: 2 });
  const asOf = m.mark();
  // In flight: beta is created (its event may share the answer's chunk), old gets a worker, gone closes.
  m.applyEvent({ type: 'session.created', sessionId: 'beta', label: 'beta', createdAt: 3 });
  m.applyEvent({ type: 'worker.started', sessionId: 'old', pid: 42, startTime: 9 });
  m.applyEvent({ type: 'session.closed', sessionId: 'gone' });
  m.applyList({ sessions: [{ sessionId: 'old', createdAt: 1, worker: null }, { sessionId: 'gone', createdAt: 2, worker: null }] }, 10, asOf);
  assert.deepEqual(m.list().map((s) => s.sessionId), ['old', 'beta'], 'beta kept, gone not brought back');
  assert.equal(m.get('old')?.worker?.pid, 42, 'the newer worker.started stands');
  // A list asked after those events is the newest word again: it may drop beta.
  m.applyList({ sessions: [{ sessionId: 'old', createdAt: 1, worker: null }] }, 11, m.mark());
  assert.deepEqual(m.list().map((s) => [s.sessionId, s.worker?.pid]), [['old', undefined]]);
});

test('worker state is live: starting at spawn, then the gateway\'s worker.state (busy, last activity); another pid\'s state is ignored', () => {
  const m = new GatewayModel();
  m.applyEvent({ type: 'session.created', sessionId: 's1', createdAt: 5 });
  m.applyEvent({ type: 'worker.started', sessionId: 's1', pid: 42, startTime: 9, pgid: 42 });
  assert.equal(m.get('s1')?.worker?.state, 'starting');
  assert.equal(m.applyEvent({ type: 'worker.state', sessionId: 's1', pid: 42, state: 'ready', busy: true, lastActivityAt: 1000 }), true);
  assert.deepEqual([m.get('s1')?.worker?.state, m.get('s1')?.worker?.busy, m.get('s1')?.worker?.lastUsedAt], ['ready', true, 1000]);
  m.applyEvent({ type: 'worker.state', sessionId: 's1', pid: 42, state: 'ready', busy: false, lastActivityAt: 2000 });
  assert.deepEqual([m.get('s1')?.worker?.busy, m.get('s1')?.worker?.lastUsedAt], [false, 2000]);
  assert.equal(m.applyEvent({ type: 'worker.state', sessionId: 's1', pid: 43, state: 'closing', busy: false }), false, 'a stale worker\'s event');
  assert.equal(m.get('s1')?.worker?.state, 'ready');
});

test('worker.evicted: the worker shows as stopping until worker.exited, the session stays with the eviction noted (also across a resync) until a new worker starts', () => {
  const m = new GatewayModel();
  m.applyEvent({ type: 'session.created', sessionId: 's1', createdAt: 5 });
  m.applyEvent({ type: 'worker.started', sessionId: 's1', pid: 42, startTime: 9, pgid: 42 });
  assert.equal(m.applyEvent({ type: 'worker.evicted', sessionId: 's1', pid: 42, startTime: 9, reason: 'worker-cap', limit: 16 }, 1234), true);
  assert.equal(m.get('s1')?.worker?.state, 'stopping');
  assert.deepEqual(m.get('s1')?.evicted, { pid: 42, at: 1234, reason: 'worker-cap', limit: 16 });
  m.applyEvent({ type: 'worker.exited', sessionId: 's1', pid: 42, code: 0, signal: null });
  assert.equal(m.get('s1')?.worker, undefined);
  assert.equal(m.workers().length, 0, 'no longer counted');
  assert.equal(m.list().length, 1, 'the session stays');
  m.applyList({ sessions: [{ sessionId: 's1', createdAt: 5, worker: null }] });
  assert.equal(m.get('s1')?.evicted?.pid, 42, 'kept across a resync while it has no worker');
  m.applyEvent({ type: 'worker.started', sessionId: 's1', pid: 43, startTime: 10, pgid: 43 });
  assert.equal(m.get('s1')?.evicted, undefined);
  assert.equal(m.applyEvent({ type: 'worker.evicted', sessionId: 'nope', pid: 1 }), false, 'unknown session');
  assert.equal(m.applyEvent({ type: 'worker.evicted', sessionId: 's1' }), false, 'no pid');
});

test('worker.restarted (memory ceiling): stopping until worker.exited, the session stays with the figures noted; Recently exited says why', () => {
  const m = new GatewayModel();
  m.applyEvent({ type: 'session.created', sessionId: 's1', createdAt: 5 });
  m.applyEvent({ type: 'worker.started', sessionId: 's1', pid: 42, startTime: 9, pgid: 42 });
  const ev = { type: 'worker.restarted', sessionId: 's1', pid: 42, startTime: 9, reason: 'memory-limit', memoryBytes: 300, limitBytes: 200, setting: 'gatewayWarden.limits.workerMemoryMB' };
  assert.equal(m.applyEvent(ev, 1234), true);
  assert.equal(m.get('s1')?.worker?.state, 'stopping');
  assert.deepEqual(m.get('s1')?.evicted, { pid: 42, at: 1234, reason: 'memory-limit', memoryBytes: 300, limitBytes: 200, setting: 'gatewayWarden.limits.workerMemoryMB' });
  m.applyEvent({ type: 'worker.exited', sessionId: 's1', pid: 42, code: null, signal: 'SIGTERM' }, 1300);
  assert.equal(m.list().length, 1, 'the session stays');
  assert.equal(m.recentlyExited(1300)[0].reason, 'restarted: above the memory limit');
  assert.equal(m.applyEvent({ type: 'worker.restarted', sessionId: 'nope', pid: 1 }), false, 'unknown session');
  assert.equal(m.applyEvent({ type: 'worker.restarted', sessionId: 's1' }), false, 'no pid');
});

// ---- hermes and command backends (issue 11) ---------------------------------------------------

const hermesReady = {
  type: 'gateway.ready', pid: 10, backend: 'hermes',
  program: { pid: null, startTime: null, command: ['python3', '-m', 'tui_gateway.entry'], display: 'python3 -m tui_gateway.entry', cwd: '/srv/hermes', state: 'starting', error: null, exit: null },
  staleWorkers: [],
};

test('backend: gateway.ready names it (starting), backend.state brings the pid and state, failure and exit keep the why; the embedded gateway has none', () => {
  const m = new GatewayModel();
  assert.equal(m.applyEvent({ type: 'gateway.ready', pid: 10, limits: {} }), true);
  assert.equal(m.backend(), undefined);
  m.applyEvent(hermesReady);
  assert.deepEqual(m.backend(), { name: 'hermes', state: 'starting', pid: undefined, startTime: undefined, display: 'python3 -m tui_gateway.entry', cwd: '/srv/hermes', error: undefined, exit: undefined });
  m.applyEvent({ type: 'backend.state', backend: 'hermes', state: 'running', pid: 11, startTime: 99, error: null, exit: null });
  assert.deepEqual([m.backend()?.state, m.backend()?.pid, m.backend()?.startTime, m.backend()?.display], ['running', 11, 99, 'python3 -m tui_gateway.entry']);
  m.applyEvent({ type: 'backend.state', backend: 'hermes', state: 'exited', pid: 11, startTime: 99, error: '`python3 -m tui_gateway.entry` (cwd /srv/hermes) exited (exit code 1)', exit: { code: 1, signal: null } });
  assert.deepEqual([m.backend()?.state, m.backend()?.exit, m.backend()?.error], ['exited', { code: 1, signal: null }, '`python3 -m tui_gateway.entry` (cwd /srv/hermes) exited (exit code 1)']);
  assert.equal(m.applyEvent({ type: 'backend.state', state: 'running' }), false, 'no backend name');
  const long = 'x'.repeat(10_000);
  m.applyEvent({ type: 'backend.state', backend: 'hermes', state: 'failed', error: long });
  assert.ok(m.backend()!.error!.length <= 4001, 'a message is bounded');
  m.clear();
  assert.equal(m.backend(), undefined);
});

test('hermes events: an error names its session (agent.error) and is the backend\'s last error; session.info gives the model; others change nothing', () => {
  const m = new GatewayModel();
  let changes = 0;
  m.onDidChange(() => changes++);
  m.applyEvent(hermesReady);
  m.applyEvent({ type: 'session.created', sessionId: 'ab12', label: 'x', createdAt: 5 });
  changes = 0;
  assert.equal(m.applyEvent({ type: 'backend.event', backend: 'hermes', event: { type: 'session.info', session_id: 'ab12', payload: { model: 'test-model' } } }), true);
  assert.equal(m.get('ab12')?.agent?.model, 'test-model');
  assert.equal(m.applyEvent({ type: 'backend.event', backend: 'hermes', event: { type: 'error', session_id: 'ab12', payload: { message: "agent init failed: No module named 'httpx'" } } }, 777), true);
  assert.equal(m.get('ab12')?.agent?.error, "agent init failed: No module named 'httpx'");
  assert.deepEqual(m.backend()?.lastError, { message: "agent init failed: No module named 'httpx'", sessionId: 'ab12', at: 777 });
  assert.equal(changes, 2, 'the tree and the notifications hear of both');
  assert.equal(m.applyEvent({ type: 'backend.event', backend: 'hermes', event: { type: 'status.update', payload: {} } }), false);
  assert.equal(m.applyEvent({ type: 'backend.event', backend: 'hermes', event: 'junk' }), false);
  // A resync keeps the error (session.list does not carry it) and takes hermes' status and model.
  m.applyList({ sessions: [{ sessionId: 'ab12', createdAt: 5, worker: null, hermes: { sessionKey: 'k1', status: 'idle', model: 'other' } }], staleWorkers: [] });
  assert.deepEqual(m.get('ab12')?.agent, { model: 'other', status: 'idle', error: "agent init failed: No module named 'httpx'" });
});

test('stale workers: worker.stale adds one, worker.reaped or its worker.exited (no session) removes it; session.list replaces the set; bounded', () => {
  const m = new GatewayModel();
  m.applyEvent(hermesReady);
  assert.equal(m.applyEvent({ type: 'worker.stale', sessionId: null, pid: 50, startTime: 5, pgid: 50, sessionKey: 'k-gone', staleSince: 1000, reapAt: 31_000 }), true);
  assert.deepEqual(m.staleWorkers(), [{ pid: 50, startTime: 5, pgid: 50, sessionKey: 'k-gone', command: undefined, staleSince: 1000, reapAt: 31_000 }]);
  assert.equal(m.workers().length, 0, 'a stale worker is no session\'s worker');
  assert.equal(m.applyEvent({ type: 'worker.reaped', sessionId: null, pid: 50, startTime: 6, reason: 'stale' }), false, 'another process with that pid');
  assert.equal(m.applyEvent({ type: 'worker.reaped', sessionId: null, pid: 50, startTime: 5, reason: 'stale' }), true);
  assert.deepEqual(m.staleWorkers(), []);
  m.applyEvent({ type: 'worker.stale', pid: 51, startTime: 7, sessionKey: 'k2', staleSince: 2000, reapAt: null });
  assert.equal(m.staleWorkers()[0].reapAt, undefined, 'only reported');
  assert.equal(m.applyEvent({ type: 'worker.exited', pid: 51, startTime: 7, code: null, signal: null }), true);
  assert.deepEqual(m.staleWorkers(), []);
  m.applyList({ sessions: [], staleWorkers: [{ pid: 60, startTime: 1, sessionKey: 'k3', staleSince: 3, reapAt: 4, command: 'python3 -m tui_gateway.slash_worker --session-key k3' }, { pid: 'x' }] });
  assert.deepEqual(m.staleWorkers().map((w) => w.pid), [60]);
  m.applyList({ sessions: [] });
  assert.deepEqual(m.staleWorkers(), [], 'a gateway that lists none has none');
  for (let i = 0; i < 300; i++) m.applyEvent({ type: 'worker.stale', pid: 1000 + i, startTime: 1, staleSince: i });
  assert.equal(m.staleWorkers().length, 256);
});

// ---- Recently exited (issue 14) ---------------------------------------------------------------

test('recently exited: a worker\'s exit keeps its code or signal, session, command and how long it ran; the cap\'s eviction is the reason; kept across a gateway restart', () => {
  const m = new GatewayModel();
  const t0 = 1_700_000_000_000;
  m.applyEvent({ type: 'session.created', sessionId: 's1', label: 'refactor', createdAt: 5 }, t0);
  m.applyEvent({ type: 'worker.started', sessionId: 's1', pid: 42, startTime: 9, pgid: 42, command: 'node worker.js' }, t0);
  m.applyEvent({ type: 'worker.exited', sessionId: 's1', pid: 42, startTime: 9, code: null, signal: 'SIGKILL' }, t0 + 90_000);
  m.applyEvent({ type: 'worker.started', sessionId: 's1', pid: 43, startTime: 10, pgid: 43 }, t0 + 100_000);
  m.applyEvent({ type: 'worker.evicted', sessionId: 's1', pid: 43, startTime: 10, reason: 'worker-cap', limit: 1 }, t0 + 110_000);
  m.applyEvent({ type: 'worker.exited', sessionId: 's1', pid: 43, startTime: 10, code: 0, signal: null }, t0 + 111_000);
  assert.deepEqual(m.recentlyExited(t0 + 120_000), [
    { kind: 'worker', pid: 43, startTime: 10, sessionId: 's1', label: 'refactor', command: undefined, startedAt: t0 + 100_000, exitedAt: t0 + 111_000, code: 0, signal: null, reason: 'stopped at the worker limit' },
    { kind: 'worker', pid: 42, startTime: 9, sessionId: 's1', label: 'refactor', command: 'node worker.js', startedAt: t0, exitedAt: t0 + 90_000, code: null, signal: 'SIGKILL', reason: undefined },
  ]);
  assert.equal(m.applyEvent({ type: 'worker.exited', sessionId: 's1', pid: 43, code: 0 }, t0 + 112_000), false, 'no worker: nothing recorded twice');
  m.clear();
  assert.equal(m.recentlyExited(t0 + 120_000).length, 2, 'a gateway exit (crash, restart) keeps them');
  assert.equal(m.nextExitExpiry(t0 + 120_000), t0 + 90_000 + 10 * 60_000);
  assert.deepEqual(m.recentlyExited(t0 + 90_000 + 10 * 60_000).map((e) => e.pid), [43], '10 minutes on, the first is gone');
});

test('recently exited: a worker whose session closed before its worker.exited (hermes) is still recorded; stale workers reaped or exited; the backend\'s program exiting or failing', () => {
  const m = new GatewayModel();
  m.applyEvent(hermesReady, 1000);
  m.applyEvent({ type: 'backend.state', backend: 'hermes', state: 'running', pid: 11, startTime: 99 }, 2000);
  m.applyEvent({ type: 'session.created', sessionId: 'h1', label: 'x', createdAt: 5 }, 2000);
  m.applyEvent({ type: 'worker.started', sessionId: 'h1', pid: 50, startTime: 1 }, 3000);
  m.applyEvent({ type: 'session.closed', sessionId: 'h1', reason: 'closed-by-backend' }, 4000);
  assert.equal(m.applyEvent({ type: 'worker.exited', sessionId: 'h1', pid: 50, startTime: 1, code: null, signal: null }, 5000), true);
  m.applyEvent({ type: 'worker.stale', sessionId: null, pid: 60, startTime: 2, sessionKey: 'k-gone', staleSince: 5000, reapAt: 6000 }, 5000);
  m.applyEvent({ type: 'worker.reaped', sessionId: null, pid: 60, startTime: 2, reason: 'stale' }, 6000);
  assert.equal(m.applyEvent({ type: 'worker.exited', sessionId: null, pid: 60, startTime: 2, code: null, signal: null }, 6001), false, 'reaped already recorded it');
  m.applyEvent({ type: 'backend.state', backend: 'hermes', state: 'exited', pid: 11, startTime: 99, exit: { code: 1, signal: null } }, 7000);
  m.applyEvent({ type: 'backend.state', backend: 'hermes', state: 'exited', pid: 11, startTime: 99, exit: { code: 1, signal: null } }, 7001);
  const l = m.recentlyExited(8000);
  assert.deepEqual(l.map((e) => [e.kind, e.pid, e.code, e.signal, e.reason]), [
    ['program', 11, 1, null, undefined],
    ['staleWorker', 60, null, null, 'taken down: its session was gone'],
    ['worker', 50, null, null, 'its session was closed'],
  ]);
  assert.deepEqual([l[0].label, l[0].command, l[0].startedAt, l[0].exitedAt], ['hermes', 'python3 -m tui_gateway.entry', 2000, 7000], 'the program ran from running to exited');
  assert.equal(l[1].label, 'k-gone');
  // A command that never came up (failed, no pid) has no process to list; one that failed with a pid does.
  const c = new GatewayModel();
  c.applyEvent({ type: 'gateway.ready', pid: 10, backend: 'command', program: { pid: null, state: 'starting', display: 'npx srv' } }, 1);
  c.applyEvent({ type: 'backend.state', backend: 'command', state: 'failed', pid: null, error: 'not found' }, 2);
  assert.deepEqual(c.recentlyExited(3), []);
  const d = new GatewayModel();
  d.applyEvent({ type: 'gateway.ready', pid: 10, backend: 'command', program: { pid: null, state: 'starting', display: 'npx srv', startedAt: 1 } }, 1);
  d.applyEvent({ type: 'backend.state', backend: 'command', state: 'failed', pid: 12, startTime: 3, exit: { code: null, signal: 'SIGSEGV' } }, 400);
  assert.deepEqual(d.recentlyExited(500).map((e) => [e.kind, e.pid, e.signal, e.reason, e.startedAt]), [['program', 12, 'SIGSEGV', 'failed at start', 1]]);
});
