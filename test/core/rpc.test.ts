import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { JsonRpcConnection, RpcError, RpcErrorCode } from '../../src/core/rpc';
import { LineDecoder } from '../../src/core/lineDecoder';
import { waitFor } from '../support/processes';

/** A server connection plus the raw streams a test writes to and reads from. */
function harness(opts: { maxLineBytes?: number; log?: (m: string) => void } = {}) {
  const input = new PassThrough();
  const output = new PassThrough();
  const conn = new JsonRpcConnection(input, output, { log: opts.log ?? (() => undefined), maxLineBytes: opts.maxLineBytes });
  const replies: Record<string, unknown>[] = [];
  let buf = '';
  output.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      replies.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  return { input, output, conn, replies };
}

function echoServer(conn: JsonRpcConnection): void {
  conn.onRequest((method, params) => {
    if (method === 'echo') return params;
    if (method === 'typed') {
      if (typeof (params as { n?: unknown })?.n !== 'number') throw RpcError.invalidParams('n must be a number');
      return (params as { n: number }).n * 2;
    }
    throw RpcError.methodNotFound(method);
  });
}

test('line decoder: split and merged chunks, \\r\\n, empty lines', () => {
  const lines: string[] = [];
  const d = new LineDecoder(100, { line: (l) => lines.push(l), oversize: () => assert.fail('no oversize') });
  d.push('{"a"');
  d.push(':1}\r\n\n\r\n{"b":2}\n{"c"');
  d.push(':3}\n');
  d.push('tail');
  d.end();
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}', 'tail']);
});

test('line decoder: a multi-byte character split across chunks survives', () => {
  const lines: string[] = [];
  const d = new LineDecoder(100, { line: (l) => lines.push(l), oversize: () => undefined });
  const bytes = Buffer.from('"é€"\n');
  d.push(bytes.subarray(0, 2));
  d.push(bytes.subarray(2));
  assert.deepEqual(lines, ['"é€"']);
});

test('requests split across chunks and merged into one chunk are all answered', async () => {
  const h = harness();
  echoServer(h.conn);
  const a = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: { x: 1 } });
  const b = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'echo', params: { x: 2 } });
  const c = JSON.stringify({ jsonrpc: '2.0', id: 'three', method: 'echo', params: [3] });
  h.input.write(a.slice(0, 5));
  h.input.write(a.slice(5) + '\r\n' + b + '\n\n' + c.slice(0, 10));
  h.input.write(c.slice(10) + '\n');
  await waitFor(() => h.replies.length === 3, '3 replies');
  assert.deepEqual(h.replies.map((r) => r.id).sort(), [1, 2, 'three'].sort());
  assert.deepEqual(h.replies.find((r) => r.id === 'three')?.result, [3]);
});

test('invalid JSON → -32700 with id null; invalid request → -32600; unknown method → -32601; bad params → -32602', async () => {
  const h = harness();
  echoServer(h.conn);
  h.input.write('{not json\n');
  h.input.write('42\n');
  h.input.write(JSON.stringify({ jsonrpc: '1.0', id: 5, method: 'echo' }) + '\n');
  h.input.write(JSON.stringify({ jsonrpc: '2.0', id: 6, method: 7 }) + '\n');
  h.input.write(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'nope' }) + '\n');
  h.input.write(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'typed', params: { n: 'x' } }) + '\n');
  h.input.write(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'typed', params: { n: 4 } }) + '\n');
  await waitFor(() => h.replies.length === 7, '7 replies');
  const err = (i: number) => (h.replies[i].error as { code: number }).code;
  assert.equal(h.replies[0].id, null);
  assert.equal(err(0), RpcErrorCode.ParseError);
  assert.equal(err(1), RpcErrorCode.InvalidRequest);
  assert.equal(h.replies[2].id, 5);
  assert.equal(err(2), RpcErrorCode.InvalidRequest);
  assert.equal(err(3), RpcErrorCode.InvalidRequest);
  assert.equal(err(4), RpcErrorCode.MethodNotFound);
  assert.equal(err(5), RpcErrorCode.InvalidParams);
  assert.deepEqual(h.replies[6], { jsonrpc: '2.0', id: 9, result: 8 });
});

test('a 10 MB line gets one error, is discarded, and the next request is still answered', async () => {
  const h = harness();
  echoServer(h.conn);
  const big = Buffer.alloc(10 * 1024 * 1024, 'a'.charCodeAt(0));
  // Written in pieces like a pipe would deliver it.
  for (let at = 0; at < big.length; at += 64 * 1024) h.input.write(big.subarray(at, at + 64 * 1024));
  h.input.write('\n' + JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: { ok: true } }) + '\n');
  await waitFor(() => h.replies.length === 2, 'oversize error and the echo');
  const e = h.replies[0].error as { code: number; message: string };
  assert.equal(e.code, RpcErrorCode.InvalidRequest);
  assert.match(e.message, /too large/);
  assert.deepEqual(h.replies[1].result, { ok: true });
  assert.equal(h.conn.isClosed, false);
});

test('request/response between two connections; a reply with an unknown id is ignored with a log', async () => {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const logs: string[] = [];
  const client = new JsonRpcConnection(bToA, aToB, { log: (m) => logs.push(m) });
  const server = new JsonRpcConnection(aToB, bToA, { log: () => undefined });
  echoServer(server);
  assert.deepEqual(await client.request('echo', { hi: 1 }), { hi: 1 });
  await assert.rejects(client.request('typed', { n: 'no' }), (e: RpcError) => e.code === RpcErrorCode.InvalidParams);
  bToA.write(JSON.stringify({ jsonrpc: '2.0', id: 999, result: 'stray' }) + '\n');
  await waitFor(() => logs.some((l) => /unknown id 999/.test(l)), 'a log line about id 999');
  assert.equal(await client.request('typed', { n: 21 }), 42);
});

test('request timeout rejects; pending requests reject when the connection closes', async () => {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const client = new JsonRpcConnection(fromServer, toServer, { log: () => undefined });
  await assert.rejects(client.request('silent', {}, { timeoutMs: 50 }), (e: RpcError) => e.code === RpcErrorCode.RequestTimeout);
  const pending = client.request('never', {});
  let closedWith = '';
  client.onClose((r) => (closedWith = r));
  fromServer.end();
  await assert.rejects(pending, (e: RpcError) => e.code === RpcErrorCode.ConnectionClosed);
  assert.match(closedWith, /end of input/);
  await assert.rejects(client.request('after', {}), (e: RpcError) => e.code === RpcErrorCode.ConnectionClosed);
});

test('notifications reach onNotification and get no reply; handler errors become -32603', async () => {
  const h = harness();
  const seen: [string, unknown][] = [];
  h.conn.onNotification((m, p) => seen.push([m, p]));
  h.conn.onRequest(() => {
    throw new Error('boom');
  });
  h.input.write(JSON.stringify({ jsonrpc: '2.0', method: 'note', params: { a: 1 } }) + '\n');
  h.input.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'x' }) + '\n');
  await waitFor(() => h.replies.length === 1, 'one reply');
  assert.deepEqual(seen, [['note', { a: 1 }]]);
  assert.equal((h.replies[0].error as { code: number }).code, RpcErrorCode.InternalError);
});
