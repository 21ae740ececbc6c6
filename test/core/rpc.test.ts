import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { JsonRpcConnection, JsonRpcPeer, RpcError, RpcErrorCode } from '../../src/core/rpc';
import { LineDecoder, OVERSIZE_HEAD_BYTES } from '../../src/core/lineDecoder';
import { readMessageHead } from '../../src/core/rpcHead';
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

test('a reply with an unknown, enormous id is logged with its id cut short', async () => {
  const toClient = new PassThrough();
  const logs: string[] = [];
  const client = new JsonRpcConnection(toClient, new PassThrough(), { log: (m) => logs.push(m) });
  // An attach client can send this in every frame at no cost to itself: the log must not grow with it.
  const id = 'x'.repeat(512 * 1024);
  toClient.write(JSON.stringify({ jsonrpc: '2.0', id, result: 'stray' }) + '\n');
  const line = await waitFor(() => logs.find((l) => /unknown id/.test(l)), 'a log line about the unknown id');
  assert.ok(line.length < 200, `the log line is bounded, got ${line.length} chars`);
  assert.match(line, /unknown id "xxxx+…$/, 'it shows the id\'s beginning and says it was cut');
  client.dispose();
});

test('request timeout rejects; pending requests reject when the connection closes', async (t) => {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const client = new JsonRpcConnection(fromServer, toServer, { log: () => undefined });
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let settled = false;
  const silent = client.request('silent', {}, { timeoutMs: 50 }).then(() => undefined, (e: RpcError) => e).finally(() => (settled = true));
  t.mock.timers.tick(49);
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'not before its timeout');
  t.mock.timers.tick(1);
  assert.equal((await silent)?.code, RpcErrorCode.RequestTimeout);
  t.mock.timers.reset();
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

test('line decoder: an oversize line is reported with its first bytes, however it was chunked', () => {
  const heads: string[] = [];
  const lines: string[] = [];
  const d = new LineDecoder(1000, { line: (l) => lines.push(l), oversize: (limit, head) => heads.push(`${limit}:${head}`) });
  const line = '{"jsonrpc":"2.0","id":42,"result":"' + 'y'.repeat(5000) + '"}';
  for (let at = 0; at < line.length; at += 7) d.push(line.slice(at, at + 7));
  d.push('\n{"ok":1}\n');
  assert.equal(heads.length, 1);
  assert.equal(heads[0], `1000:${line.slice(0, OVERSIZE_HEAD_BYTES)}`);
  assert.deepEqual(lines, ['{"ok":1}']);
});

test('readMessageHead: the id and the kind from a message\'s first bytes, never from a nested or cut-off value', () => {
  const cases: [string, ReturnType<typeof readMessageHead>][] = [
    ['{"jsonrpc":"2.0","id":7,"result":{"output":"xxxx', { id: 7, kind: 'response' }],
    ['{"jsonrpc":"2.0","id":"a\\"b","error":{"code":1', { id: 'a"b', kind: 'response' }],
    [' { "id" : null , "error" : {', { id: null, kind: 'response' }],
    ['{"jsonrpc":"2.0","id":3,"method":"slash.exec","params":{"command":"/echo', { id: 3, kind: 'request' }],
    ['{"method":"x","params":{"id":99,"big":"', { kind: 'request' }],
    ['{"jsonrpc":"2.0","result":{"id":5},"id":6}', { kind: 'response' }],
    ['{"jsonrpc":"2.0","id":12', {}],
    ['{"jsonrpc":"2.0","id":{"x":1},"result":1', {}],
    ['{"jsonrpc":"2.0","id":"unterminated', {}],
    ['xxxxxxxxxxxxxxxx', {}],
    ['[{"id":1,"result":2}]', {}],
    ['', {}],
  ];
  for (const [head, expected] of cases) assert.deepEqual(readMessageHead(head), expected, head);
});

/** A client and a server connected by two pipes, each with its own line limit. */
function pair(clientMax: number, serverMax: number) {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const clientLogs: string[] = [];
  const serverLogs: string[] = [];
  const client = new JsonRpcConnection(toClient, toServer, { maxLineBytes: clientMax, log: (m) => clientLogs.push(m) });
  const server = new JsonRpcConnection(toServer, toClient, { maxLineBytes: serverMax, log: (m) => serverLogs.push(m) });
  server.onRequest(async (_method, params) => {
    const p = params as { bytes?: number; delayMs?: number };
    if (p?.delayMs) await new Promise((r) => setTimeout(r, p.delayMs));
    return { text: 'z'.repeat(p?.bytes ?? 0) };
  });
  return { toServer, toClient, client, server, clientLogs, serverLogs };
}

test('sending: a reply over the line limit becomes a -32011 error for its id, and the connection goes on', async () => {
  const p = pair(1024 * 1024, 1024);
  const sent: string[] = [];
  p.toClient.on('data', (c: Buffer) => sent.push(...c.toString().split('\n').filter(Boolean)));
  await assert.rejects(p.client.request('big', { bytes: 5000 }), (e: RpcError) => {
    assert.equal(e.code, RpcErrorCode.MessageTooLarge);
    assert.match(e.message, /reply to big is 50\d\d bytes, over the connection's limit of 1024 bytes/);
    return true;
  });
  assert.ok(sent.every((l) => Buffer.byteLength(l) <= 1024), 'nothing over the limit was written');
  assert.ok(p.serverLogs.some((l) => /exceeds the limit/.test(l)));
  assert.deepEqual(await p.client.request('small', { bytes: 10 }), { text: 'z'.repeat(10) });
  // Exactly at the limit is allowed: the envelope {"jsonrpc":"2.0","id":N,"result":{"text":"…"}}.
  const envelope = JSON.stringify({ jsonrpc: '2.0', id: 3, result: { text: '' } }).length;
  assert.deepEqual(await p.client.request('edge', { bytes: 1024 - envelope }), { text: 'z'.repeat(1024 - envelope) });
  await assert.rejects(p.client.request('edge+1', { bytes: 1025 - envelope }), (e: RpcError) => e.code === RpcErrorCode.MessageTooLarge);
});

test('sending: a request over the line limit rejects at once and is not written', async () => {
  const p = pair(1024, 1024 * 1024);
  let written = 0;
  p.toServer.on('data', (c: Buffer) => (written += c.length));
  await assert.rejects(p.client.request('x', { pad: 'p'.repeat(2000) }), (e: RpcError) => e.code === RpcErrorCode.MessageTooLarge && /x not sent/.test(e.message));
  assert.equal(written, 0);
  assert.equal(p.client.pendingCount, 0);
  assert.deepEqual(await p.client.request('y', { bytes: 1 }), { text: 'z' });
});

test('receiving: an oversize reply fails its own request at once; the others still get theirs', async () => {
  // The server may send 1 MiB; the client reads 1,024 bytes (as a host reading a gateway, or a
  // gateway reading a worker, whose limits disagree).
  const p = pair(1024, 1024 * 1024);
  const slow = p.client.request('slow', { bytes: 10, delayMs: 300 });
  const started = Date.now();
  await assert.rejects(p.client.request('big', { bytes: 100_000 }), (e: RpcError) => {
    assert.equal(e.code, RpcErrorCode.MessageTooLarge);
    assert.match(e.message, /reply to big was larger than 1024 bytes/);
    return true;
  });
  assert.ok(Date.now() - started < 1000, `failed after ${Date.now() - started} ms`);
  assert.deepEqual(await slow, { text: 'z'.repeat(10) });
  assert.equal(p.client.isClosed, false);
});

test('receiving: an oversize message whose head does not show its id fails every request in flight at once', async () => {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const logs: string[] = [];
  const client = new JsonRpcConnection(toClient, toServer, { maxLineBytes: 1024, log: (m) => logs.push(m) });
  const a = client.request('a', {});
  const b = client.request('b', {});
  const started = Date.now();
  toClient.write(`{"jsonrpc":"2.0","result":{"text":"${'q'.repeat(5000)}"},"id":1}\n`);
  for (const r of [a, b]) {
    await assert.rejects(r, (e: RpcError) => e.code === RpcErrorCode.MessageTooLarge && /in place of a reply/.test(e.message) && /\(a, b\)/.test(e.message));
  }
  assert.ok(Date.now() - started < 1000);
  assert.equal(client.pendingCount, 0);
  assert.ok(logs.some((l) => /failing 2 request/.test(l)));
  // The line's rest was discarded; the connection reads on.
  const c = client.request('c', {});
  toClient.write(JSON.stringify({ jsonrpc: '2.0', id: 3, result: 'fine' }) + '\n');
  assert.equal(await c, 'fine');
});

test('receiving: an oversize request is answered under its own id', async () => {
  const h = harness({ maxLineBytes: 1024 });
  echoServer(h.conn);
  h.input.write(JSON.stringify({ jsonrpc: '2.0', id: 'big-one', method: 'echo', params: { pad: 'p'.repeat(4000) } }) + '\n');
  h.input.write(JSON.stringify({ jsonrpc: '2.0', method: 'note', params: { pad: 'p'.repeat(4000) } }) + '\n');
  await waitFor(() => h.replies.length === 2, 'two errors');
  assert.equal(h.replies[0].id, 'big-one');
  assert.equal((h.replies[0].error as { code: number }).code, RpcErrorCode.InvalidRequest);
  assert.equal(h.replies[1].id, null, 'a notification has no id to answer under');
});

test('a request or notification whose params cannot be serialised is not sent: the request rejects with InvalidParams, no error reply goes out under an id the other side never issued', async () => {
  const written: string[] = [];
  const logs: string[] = [];
  const peer = new JsonRpcPeer((text) => written.push(text), { log: (m) => logs.push(m) });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  let deep: unknown = 0;
  for (let i = 0; i < 100_000; i++) deep = [deep]; // JSON.parse takes it; JSON.stringify overflows the stack
  for (const params of [cyclic, { deep }]) {
    await assert.rejects(peer.request('backend.call', params, { timeoutMs: 60_000 }), (e: RpcError) => e.code === RpcErrorCode.InvalidParams && /backend\.call not sent: its params cannot be serialised/.test(e.message));
  }
  peer.notify('event', cyclic);
  assert.deepEqual(written, [], 'nothing was written');
  assert.equal(peer.pendingCount, 0, 'nothing waits for a reply');
  assert.ok(logs.some((l) => /dropped the notification event: its params cannot be serialised/.test(l)), logs.join('\n'));
  // Replies keep their rule: what cannot be serialised is an InternalError under the request's id.
  peer.onRequest(() => cyclic);
  peer.receive(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'x' }));
  await waitFor(() => written.length === 1, 'the reply');
  const reply = JSON.parse(written[0]) as { id: number; error: { code: number; message: string } };
  assert.equal(reply.id, 7);
  assert.equal(reply.error.code, RpcErrorCode.InternalError);
  assert.match(reply.error.message, /cannot serialise reply/);
});
