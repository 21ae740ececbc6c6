// What the extension host hands the diagnostics report: effective settings by setting id, the
// caps in force, and the live model (sessions, workers, evictions, the backend, stale workers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayModel } from '../../src/host/gatewayModel';
import { reportCaps, reportLive, reportSettings } from '../../src/host/reportInput';
import { DEFAULT_SETTINGS } from '../../src/host/settings';

test('settings by their ids, arguments as one command line; caps from the running gateway, else the settings', () => {
  const s = { ...DEFAULT_SETTINGS, backend: 'command' as const, gatewayCommand: '/usr/bin/agent', gatewayArgs: ['serve', '--api-key=x y'], maxWorkers: 8 };
  const r = reportSettings(s, ['a problem']);
  assert.equal(r.backend, 'command');
  assert.deepEqual(r.problems, ['a problem']);
  const byKey = new Map(r.entries.map((e) => [e.key, e.value]));
  assert.equal(byKey.get('gatewayWarden.gateway.args'), 'serve "--api-key=x y"');
  assert.equal(byKey.get('gatewayWarden.limits.maxWorkers'), '8');
  assert.equal(byKey.get('gatewayWarden.limits.workerMemoryMB'), '0 (off)');
  assert.equal(byKey.get('gatewayWarden.worker.idleTimeoutMinutes'), '30');
  assert.deepEqual(reportCaps(s, { state: 'stopped' }), { maxSessions: 256, maxWorkers: 8, source: 'settings gatewayWarden.limits.*, applied when the gateway starts' });
  assert.deepEqual(reportCaps(s, { state: 'running', limits: { maxSessions: 10, maxWorkers: 2 } }), { maxSessions: 10, maxWorkers: 2, source: 'as the running gateway reported them at start-up' });
});

test('the live model: sessions with their worker (state, busy, idle), an eviction, an agent error, stale workers, the backend', () => {
  const m = new GatewayModel();
  const t0 = 1_000_000;
  m.applyEvent({ type: 'gateway.ready', backend: 'hermes', program: { state: 'running', pid: 50, display: 'python -m tui_gateway.entry' } }, t0);
  m.applyEvent({ type: 'session.created', sessionId: 'a', label: 'alpha', createdAt: t0 }, t0);
  m.applyEvent({ type: 'session.created', sessionId: 'b', createdAt: t0 + 10 }, t0);
  m.applyEvent({ type: 'worker.started', sessionId: 'a', pid: 101, startTime: 1, state: 'ready' }, t0 + 100);
  m.applyEvent({ type: 'worker.started', sessionId: 'b', pid: 102, startTime: 2 }, t0 + 100);
  m.applyEvent({ type: 'worker.evicted', sessionId: 'b', pid: 102, reason: 'worker-cap', limit: 1 }, t0 + 500);
  m.applyEvent({ type: 'worker.exited', sessionId: 'b', pid: 102 }, t0 + 600);
  m.applyEvent({ type: 'worker.stale', pid: 77, startTime: 7, sessionKey: 'k', command: 'python -m tui_gateway.slash_worker', staleSince: t0 + 700 }, t0 + 700);
  const live = reportLive({ state: 'running', pid: 40 }, m, t0 + 1000);
  assert.deepEqual(live.gateway, { state: 'running', pid: 40, message: null });
  assert.deepEqual(live.backend, { name: 'hermes', state: 'running', pid: 50, program: 'python -m tui_gateway.entry', error: null });
  assert.deepEqual(live.sessions.map((s) => s.sessionId), ['a', 'b']);
  assert.deepEqual(live.sessions[0].worker, { pid: 101, state: 'ready', busy: false, ageMs: 900, idleMs: 900 });
  assert.equal(live.sessions[0].label, 'alpha');
  assert.equal(live.sessions[1].worker, null);
  assert.deepEqual(live.sessions[1].evicted, { pid: 102, reason: 'worker-cap', agoMs: 500 });
  assert.deepEqual(live.staleWorkers, [{ pid: 77, sessionKey: 'k', command: 'python -m tui_gateway.slash_worker', staleForMs: 300 }]);
  m.dispose();
});
