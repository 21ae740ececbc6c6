// The one ownership rule every backend's sessions follow (docs/protocol.md, "Who may act on a
// session"); the process tests drive it through the attach endpoint for the embedded backend.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RpcError } from '../../src/core/rpc';
import { assertMayAct, eventReaches, eventSessionId, HOST_CLIENT, listedFor } from '../../src/gateway/sessionOwnership';

function refusal(fn: () => void): RpcError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RpcError);
    return e;
  }
  assert.fail('expected a -32012 refusal');
}

test('the host acts on every session; a connection on its own; unknown sessions pass to the method', () => {
  for (const method of ['slash.exec', 'session.close', 'session.attach', 'worker.kill']) {
    assertMayAct({ attachedTo: 'ws-1' }, 's', HOST_CLIENT, method);
    assertMayAct({ attachedTo: null }, 's', HOST_CLIENT, method);
    assertMayAct({ attachedTo: 'ws-1' }, 's', 'ws-1', method);
    assertMayAct(undefined, 's', 'ws-2', method);
  }
});

test('another connection is refused with -32012 and told whose the session is; a detached one only by session.attach', () => {
  const other = refusal(() => assertMayAct({ attachedTo: 'ws-1' }, 'abc', 'ws-2', 'slash.exec'));
  assert.equal(other.code, -32012);
  assert.match(other.message, /^slash\.exec: session abc belongs to another connection$/);
  assert.deepEqual(other.data, { sessionId: 'abc' });
  assert.match(refusal(() => assertMayAct({ attachedTo: HOST_CLIENT }, 'abc', 'ws-2', 'session.close')).message, /belongs to the host/);
  assert.match(refusal(() => assertMayAct({ attachedTo: null }, 'abc', 'ws-2', 'worker.kill')).message, /detached\): session\.attach it first/);
  assertMayAct({ attachedTo: null }, 'abc', 'ws-2', 'session.attach');
  refusal(() => assertMayAct({ attachedTo: 'ws-1' }, 'abc', 'ws-2', 'session.attach'));
});

test('session.list shows a connection its own and detached sessions; the host every one', () => {
  assert.equal(listedFor('ws-1', 'ws-1'), true);
  assert.equal(listedFor(null, 'ws-1'), true, 'detached: it may session.attach it');
  assert.equal(listedFor('ws-2', 'ws-1'), false, 'another connection\'s');
  assert.equal(listedFor(HOST_CLIENT, 'ws-1'), false, 'the host\'s');
  for (const owner of ['ws-1', null, HOST_CLIENT]) assert.equal(listedFor(owner, HOST_CLIENT), true);
});

test('an event about a session reaches the host and its connection only; the session it is about, hermes\' included', () => {
  assert.equal(eventSessionId({ sessionId: 's1', pid: 1 }), 's1');
  assert.equal(eventSessionId({ backend: 'hermes', event: { type: 'approval.request', session_id: 's2' } }), 's2');
  assert.equal(eventSessionId({ sessionId: null, pid: 1 }), undefined, 'a stale worker: about no session');
  assert.equal(eventSessionId({ backend: 'hermes', event: { type: 'gateway.ready' } }), undefined);
  assert.equal(eventSessionId({ backend: 'hermes', event: 'junk' }), undefined);
  assert.equal(eventReaches('ws-1', 'ws-1'), true);
  assert.equal(eventReaches('ws-2', 'ws-1'), false);
  assert.equal(eventReaches(null, 'ws-1'), false, 'detached: the host only');
  assert.equal(eventReaches(undefined, 'ws-1'), false, 'unknown or gone: the host only');
  for (const owner of ['ws-1', null, undefined, HOST_CLIENT]) assert.equal(eventReaches(owner, HOST_CLIENT), true);
});
