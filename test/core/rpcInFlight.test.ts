// JsonRpcPeer's maxRequestsInFlight: requests of the other side beyond the bound are answered at
// once with -32010 and never reach the handler; a finished request (result or error) frees its slot.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { JsonRpcPeer, RpcError, RpcErrorCode } from '../../src/core/rpc';

interface Reply {
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** A peer whose handler waits until the test settles each call; the replies it wrote. */
function harness(maxRequestsInFlight?: number) {
  const replies: Reply[] = [];
  const peer = new JsonRpcPeer((text) => replies.push(JSON.parse(text) as Reply), { log: () => undefined, maxRequestsInFlight });
  const calls: { id: unknown; method: string; finish(outcome: unknown): void }[] = [];
  peer.onRequest((method, _params, id) => new Promise((resolve, reject) => {
    calls.push({ id, method, finish: (o) => (o instanceof Error ? reject(o) : resolve(o)) });
  }));
  const request = (id: number, method = 'work') => peer.receive(JSON.stringify({ jsonrpc: '2.0', id, method }));
  return { peer, replies, calls, request };
}

const settled = () => new Promise((r) => setImmediate(r));

test('maxRequestsInFlight: requests over the bound get -32010 at once and are never run; a finished one frees its slot', async () => {
  const h = harness(3);
  for (let id = 1; id <= 5; id++) h.request(id);
  assert.deepEqual(h.calls.map((c) => c.id), [1, 2, 3], 'only the first 3 reached the handler');
  assert.equal(h.peer.requestsInFlight, 3);
  assert.deepEqual(h.replies.map((r) => r.id), [4, 5], 'the other 2 were answered at once');
  for (const r of h.replies) {
    assert.equal(r.error?.code, RpcErrorCode.LimitReached);
    assert.deepEqual(r.error?.data, { limit: 'maxRequestsInFlight', value: 3 });
    assert.match(r.error!.message, /^maxRequestsInFlight limit reached \(3\): 3 requests of this connection are still running, so "work" was not run/);
  }

  // A notification is not a request in flight: it is delivered, nothing is answered.
  let notified = 0;
  h.peer.onNotification(() => notified++);
  h.peer.receive(JSON.stringify({ jsonrpc: '2.0', method: 'note' }));
  assert.equal(notified, 1);

  h.calls[0].finish('done');
  h.calls[1].finish(new RpcError(RpcErrorCode.InvalidParams, 'bad'));
  await settled();
  assert.deepEqual(h.replies.slice(2), [
    { jsonrpc: '2.0', id: 1, result: 'done' },
    { jsonrpc: '2.0', id: 2, error: { code: RpcErrorCode.InvalidParams, message: 'bad' } },
  ]);
  assert.equal(h.peer.requestsInFlight, 1, 'a result and an error both free their slot');

  h.request(6);
  h.request(7);
  h.request(8);
  assert.deepEqual(h.calls.map((c) => c.id), [1, 2, 3, 6, 7], 'two freed slots, two more run');
  assert.equal(h.replies.at(-1)?.id, 8);
  assert.equal(h.replies.at(-1)?.error?.code, RpcErrorCode.LimitReached);

  // A handler that throws something else (an internal error) frees its slot too.
  h.calls[2].finish(new Error('boom'));
  await settled();
  assert.equal(h.peer.requestsInFlight, 2);
  h.request(9);
  assert.equal(h.calls.at(-1)?.id, 9);
});

test('maxRequestsInFlight: without the option every request runs', () => {
  const h = harness();
  for (let id = 1; id <= 1000; id++) h.request(id);
  assert.equal(h.calls.length, 1000);
  assert.equal(h.replies.length, 0);
});
