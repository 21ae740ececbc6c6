// An attached client cannot monopolise the gateway: at most MAX_ATTACH_REQUESTS_IN_FLIGHT of its
// requests run at once (the rest are refused with -32010 and never run), concurrent process.tree
// calls share one /proc scan, and a client that never reads its replies is closed once its unsent
// output passes MAX_UNSENT_LINES × --max-line-bytes — the gateway's memory stays bounded.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type WebSocket from 'ws';
import { RpcErrorCode } from '../../src/core/rpc';
import { MAX_ATTACH_REQUESTS_IN_FLIGHT, MAX_UNSENT_LINES } from '../../src/gateway/attachServer';
import { attachOf, connectWithToken, removeTokenDirs } from '../support/attachClient';
import { HostedGateway, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { killTracked, waitFor } from '../support/processes';

after(killTracked);
after(removeTokenDirs);

interface Reply {
  id: number;
  result?: { processes?: { pid: number }[]; takenAt?: number };
  error?: { code: number; message: string; data?: unknown };
}

/** One frame of `n` requests of `method`, newline-separated, ids 1..n. */
function frameOf(method: string, n: number, firstId = 1): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ jsonrpc: '2.0', id: firstId + i, method })).join('\n');
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** Asks the gateway over stdio (the host) until `done`; every answer's latency, Infinity for none within 2 s. */
async function probeStatus(g: HostedGateway, done: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  while (!done()) {
    const t0 = Date.now();
    try {
      await g.rpc.request('gateway.status', {}, { timeoutMs: 2000 });
      latencies.push(Date.now() - t0);
    } catch {
      latencies.push(Infinity);
      return latencies;
    }
  }
  return latencies;
}

test('5,000 process.tree in one attach frame: the host\'s gateway.status is answered within 2 s throughout; at most 64 run, sharing one scan, the rest get -32010', async (t) => {
  const g = await startHostedGateway({ args: ['--listen'] });
  const ws: WebSocket = await connectWithToken(attachOf(g));
  const N = 5000;
  const replies = new Map<number, Reply>();
  ws.on('message', (d) => {
    const r = JSON.parse(d.toString()) as Reply;
    replies.set(r.id, r);
  });

  const t0 = Date.now();
  ws.send(frameOf('process.tree', N));
  let allIn = false;
  const prober = probeStatus(g, () => allIn);
  await waitFor(() => replies.size === N || undefined, `all ${N} replies`, 60_000).finally(() => (allIn = true));
  const elapsedMs = Date.now() - t0;
  const latencies = await prober;

  const ran = [...replies.values()].filter((r) => r.result);
  const refused = [...replies.values()].filter((r) => r.error);
  t.diagnostic(`${N} replies in ${elapsedMs} ms: ${ran.length} ran, ${refused.length} refused; gateway.status latencies (${latencies.length}): max ${Math.max(...latencies)} ms`);
  assert.ok(latencies.length >= 1 && latencies.every((ms) => ms < 2000), `gateway.status answered within 2 s each time: ${latencies.join(', ')}`);
  assert.equal(ran.length + refused.length, N, 'every request answered once');
  assert.ok(ran.length >= 1 && ran.length <= MAX_ATTACH_REQUESTS_IN_FLIGHT, `${ran.length} ran; at most ${MAX_ATTACH_REQUESTS_IN_FLIGHT}`);
  for (const r of ran) assert.ok(r.result!.processes!.some((p) => p.pid === g.gatewayPid), 'a real tree, with the gateway in it');
  const scans = new Set(ran.map((r) => r.result!.takenAt));
  assert.equal(scans.size, 1, `the concurrent process.tree calls shared one snapshot (takenAt: ${[...scans].join(', ')})`);
  for (const r of refused) {
    assert.equal(r.error!.code, RpcErrorCode.LimitReached, r.error!.message);
    assert.deepEqual(r.error!.data, { limit: 'maxRequestsInFlight', value: MAX_ATTACH_REQUESTS_IN_FLIGHT });
  }
  assert.match(refused[0].error!.message, /maxRequestsInFlight limit reached \(64\).*"process\.tree" was not run/);

  // Nothing is left running: the connection takes a new request at once.
  const next = new Promise<Reply>((resolve) => ws.on('message', (d) => {
    const r = JSON.parse(d.toString()) as Reply;
    if (r.id === N + 1) resolve(r);
  }));
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: N + 1, method: 'process.tree' }));
  assert.ok((await next).result?.processes, 'the next request runs');
  ws.close();
  await stopHostedGateway(g);
});

test('a client that never reads is closed once its unsent output passes the bound; the gateway\'s memory stays bounded', async (t) => {
  const g = await startHostedGateway({ args: ['--listen'] });
  const status = await g.rpc.request<{ options: { maxLineBytes: number } }>('gateway.status');
  const boundBytes = MAX_UNSENT_LINES * status.options.maxLineBytes;
  const ws: WebSocket = await connectWithToken(attachOf(g));
  let closed = false;
  ws.on('close', () => (closed = true));
  ws.on('error', () => undefined);
  ws.pause(); // reads nothing from here on: the gateway's replies back up

  const baseline = rssBytes(g.gatewayPid);
  let peak = baseline;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(g.gatewayPid));
    } catch {
      // gone: the assertions below say so
    }
  }, 20);
  // 40 frames just under the line limit, each ~18,000 gateway.status: unbounded, the replies to
  // them would take hundreds of MB (a status reply is ~1 KB, an over-limit error ~250 bytes).
  const FRAMES = 40;
  const PER_FRAME = 18_000;
  for (let f = 0; f < FRAMES; f++) ws.send(frameOf('gateway.status', PER_FRAME, f * PER_FRAME + 1));
  try {
    const line = await waitFor(() => /attach: closing client ws-1: (\d+) bytes sent to it are still unread, over the bound of (\d+)/.exec(g.stderr()) ?? undefined, 'the gateway closing the client that does not read', 60_000);
    assert.equal(Number(line[2]), boundBytes, 'the log names the bound');
    assert.ok(Number(line[1]) > boundBytes);
    const attach = await waitFor(async () => {
      const a = (await g.rpc.request<{ attach: { open: number } }>('gateway.status', {}, { timeoutMs: 2000 })).attach;
      return a.open === 0 ? a : undefined;
    }, 'the connection gone from gateway.status', 10_000);
    assert.equal(attach.open, 0);
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, rssBytes(g.gatewayPid));
  const growthMb = (peak - baseline) / 2 ** 20;
  t.diagnostic(`gateway RSS: ${(baseline / 2 ** 20).toFixed(1)} MB before, ${(peak / 2 ** 20).toFixed(1)} MB at peak (+${growthMb.toFixed(1)} MB); bound ${boundBytes} bytes`);
  assert.ok(growthMb < 100, `the gateway's RSS grew by ${growthMb.toFixed(1)} MB (< 100 MB)`);

  // The client sees the close once it reads again.
  ws.resume();
  await waitFor(() => closed || undefined, 'the client to see its connection closed', 10_000);
  // And the gateway serves others as before.
  const ws2: WebSocket = await connectWithToken(attachOf(g));
  const reply = new Promise<Reply>((resolve) => ws2.once('message', (d) => resolve(JSON.parse(d.toString()) as Reply)));
  ws2.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'session.list' }));
  assert.ok((await reply).result, 'a new client is answered');
  ws2.close();
  await stopHostedGateway(g);
});
