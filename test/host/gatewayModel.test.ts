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
