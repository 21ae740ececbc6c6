// The one ownership rule every backend's sessions follow (docs/protocol.md, "Who may act on a
// session"); the process tests drive it through the attach endpoint for the embedded backend.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RpcError } from '../../src/core/rpc';
import { assertMayAct, HOST_CLIENT } from '../../src/gateway/sessionOwnership';

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
