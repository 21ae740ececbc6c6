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
