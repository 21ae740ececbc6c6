// Bad input never kills the gateway: every bad line gets a JSON-RPC error, and afterwards the
// gateway still answers and has started no worker.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { killTracked, waitFor } from '../support/processes';
import { pidsWithMarker } from '../support/marker';
import { RpcError, RpcErrorCode } from '../../src/core/rpc';
import { createSession, exec, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';

after(killTracked);

interface Reply {
  id: unknown;
  error?: { code: number; message: string };
  result?: unknown;
}

test('garbage: random bytes, invalid JSON, unknown methods, wrong types, a 10 MB line, a 10,000-line burst', async () => {
  const g = await startHostedGateway({ env: { GATEWAY_WARDEN_SLASH_TIMEOUT_MS: 'banana' }, args: ['--poll-ms', '-5', '--no-such-flag'] });
  // Raw replies, read beside the test's own connection (which ignores ids it did not send).
  const replies: Reply[] = [];
  let buf = '';
  g.host.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = JSON.parse(line) as Reply & { method?: string };
      if (m.method === undefined) replies.push(m);
    }
  });
  const stdin = g.host.stdin!;
  const errorsWith = (code: number) => replies.filter((r) => r.error?.code === code);

  // Random bytes: whatever lines they form are parse errors (or invalid requests), never a crash.
  for (let i = 0; i < 4; i++) stdin.write(Buffer.concat([randomBytes(16 * 1024), Buffer.from('\n')]));
  stdin.write('{"jsonrpc":"2.0","id":"after-random","method":"gateway.status"}\n');
  await waitFor(() => replies.find((r) => r.id === 'after-random'), 'status after random bytes');
  assert.ok(errorsWith(RpcErrorCode.ParseError).length + errorsWith(RpcErrorCode.InvalidRequest).length >= 4);

  stdin.write('{"jsonrpc":"2.0","id":"bad-json",\n');
  stdin.write('{"jsonrpc":"2.0","id":"unknown","method":"no.such.method"}\n');
  const wrongTypes: [string, unknown][] = [
    ['session.create', { label: 5 }],
    ['session.create', { closeOnDisconnect: 'yes' }],
    ['session.close', {}],
    ['session.close', ['x']],
    ['slash.exec', { sessionId: 7, command: '/echo' }],
    ['slash.exec', { sessionId: 'no-such-session', command: '/echo' }],
    ['gateway.shutdown', { graceMs: 'soon' }],
  ];
  wrongTypes.forEach(([method, params], i) => stdin.write(JSON.stringify({ jsonrpc: '2.0', id: `wrong-${i}`, method, params }) + '\n'));
  await waitFor(() => replies.filter((r) => String(r.id).startsWith('wrong-')).length === wrongTypes.length, 'wrong-type replies');
  assert.equal(replies.find((r) => r.id === 'unknown')?.error?.code, RpcErrorCode.MethodNotFound);
  for (const r of replies.filter((x) => String(x.id).startsWith('wrong-'))) assert.equal(r.error?.code, RpcErrorCode.InvalidParams, JSON.stringify(r));
  assert.ok(replies.some((r) => r.id === null && r.error?.code === RpcErrorCode.ParseError && /parse error/.test(r.error.message)));

  // 10 MB on one line: one error, the rest of the line discarded, the connection survives.
  const before = errorsWith(RpcErrorCode.InvalidRequest).length;
  const big = Buffer.alloc(10 * 1024 * 1024, 'x'.charCodeAt(0));
  stdin.write(big);
  stdin.write('\n{"jsonrpc":"2.0","id":"after-big","method":"gateway.status"}\n');
  await waitFor(() => replies.find((r) => r.id === 'after-big'), 'status after the 10 MB line', 30_000);
  const tooLarge = errorsWith(RpcErrorCode.InvalidRequest).slice(before);
  assert.equal(tooLarge.length, 1);
  assert.match(tooLarge[0].error!.message, /too large/);

  // 10,000 lines in one burst, each answered.
  const burst: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    burst.push(i % 2 ? `{"jsonrpc":"2.0","id":"b${i}","method":"nope"}` : `{"jsonrpc":"2.0","id":"b${i}","method":"session.list"}`);
  }
  stdin.write(burst.join('\n') + '\n');
  await waitFor(() => replies.filter((r) => String(r.id).startsWith('b')).length === 10_000, '10,000 replies', 60_000);

  // Still alive and useful; no worker was started by any of it.
  const st = await g.rpc.request<{ workers: number; sessions: number; options: { slashTimeoutMs: number; pollMs: number } }>('gateway.status');
  assert.equal(st.workers, 0);
  assert.equal(st.sessions, 0);
  assert.equal(st.options.slashTimeoutMs, 45_000, 'malformed env value fell back to the default');
  assert.equal(st.options.pollMs, 1000, 'malformed flag fell back to the default');
  assert.match(g.stderr(), /GATEWAY_WARDEN_SLASH_TIMEOUT_MS="banana"/);
  assert.match(g.stderr(), /--no-such-flag/);
  assert.deepEqual(pidsWithMarker(g.hostFp), [g.gatewayPid]);
  const s = await createSession(g);
  assert.equal(await exec(g, s, '/echo still here'), 'still here');
  await assert.rejects(exec(g, s, ''), (e: RpcError) => e.code === RpcErrorCode.InvalidParams);
  await stopHostedGateway(g);
});
