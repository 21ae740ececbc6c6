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
