// The attach endpoint: WebSocket on 127.0.0.1 with a token from a 0600 file; closeOnDisconnect
// sessions close with their connection, others survive a re-attach within the grace.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import WebSocket from 'ws';
import { isAlive, killTracked, waitFor } from '../support/processes';
import { JsonRpcPeer } from '../../src/core/rpc';
import { GatewayEvent, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';

after(killTracked);

interface Attach {
  url: string;
  tokenFile: string;
}

/** Connects; resolves with the socket or rejects with the HTTP status of a refusal. */
function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`refused with HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

function peerOf(ws: WebSocket): JsonRpcPeer {
  const peer = new JsonRpcPeer((text) => ws.send(text), { log: () => undefined });
  ws.on('message', (d) => peer.receive(d.toString()));
  ws.on('close', () => peer.dispose('closed'));
  return peer;
}

test('attach endpoint: token required; closeOnDisconnect closes with the connection; others survive a re-attach, then time out', async () => {
  const g = await startHostedGateway({ args: ['--listen', '--reattach-grace-ms', '1500', '--ping-ms', '300'] });
  const ready = g.events.find((e) => e.type === 'gateway.ready') as GatewayEvent & { attach: Attach };
  assert.match(ready.attach.url, /^ws:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal(fs.statSync(ready.attach.tokenFile).mode & 0o777, 0o600);
  const token = fs.readFileSync(ready.attach.tokenFile, 'utf8').trim();

  await assert.rejects(connect(ready.attach.url), /HTTP 401/);
  await assert.rejects(connect(ready.attach.url, { Authorization: 'Bearer wrong' }), /HTTP 401/);
  await assert.rejects(connect(`${ready.attach.url}?token=${'0'.repeat(token.length)}`), /HTTP 401/);

  const wsA = await connect(ready.attach.url, { Authorization: `Bearer ${token}` });
  const a = peerOf(wsA);
  const onDisconnect = (await a.request<{ sessionId: string }>('session.create', { label: 'tui', closeOnDisconnect: true })).sessionId;
  const kept = (await a.request<{ sessionId: string }>('session.create', { label: 'dashboard' })).sessionId;
  await a.request('slash.exec', { sessionId: onDisconnect, command: '/echo a' });
  await a.request('slash.exec', { sessionId: kept, command: '/echo b' });
  const workerOf = (sessionId: string) => g.events.find((e) => e.type === 'worker.started' && e.sessionId === sessionId)!.pid as number;
  const w1 = workerOf(onDisconnect);
  const w2 = workerOf(kept);

  wsA.close();
  const closed = await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === onDisconnect, 'closeOnDisconnect session closed');
  assert.equal(closed.reason, 'client-disconnected');
  assert.equal(isAlive(w1), false, 'its worker is gone');
  assert.ok(isAlive(w2), 'the other session keeps its worker');

  // Re-attach within the grace (query-string token this time).
  const wsB = await connect(`${ready.attach.url}?token=${token}`);
  const b = peerOf(wsB);
  assert.deepEqual(await b.request('session.attach', { sessionId: kept }), { sessionId: kept, attached: true });
  assert.deepEqual(await b.request('slash.exec', { sessionId: kept, command: '/echo still' }), { output: 'still' });
  const list = await b.request<{ sessions: { sessionId: string; attached: boolean }[] }>('session.list');
  assert.deepEqual(list.sessions.map((s) => [s.sessionId, s.attached]), [[kept, true]]);

  // Drop again and do not come back: closed after the grace.
  const droppedAt = Date.now();
  wsB.terminate();
  const timedOut = await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === kept, 'kept session closed after the grace', 15_000);
  assert.equal(timedOut.reason, 'reattach-timeout');
  assert.ok(Date.now() - droppedAt >= 1400, 'not before the grace');
  assert.equal(isAlive(w2), false);
  await stopHostedGateway(g);
  assert.equal(fs.existsSync(ready.attach.tokenFile), false, 'token file removed at shutdown');
});

test('attach endpoint: a half-open connection (no pongs) is detected by ping and counts as a disconnect', async () => {
  const g = await startHostedGateway({ args: ['--listen', '--ping-ms', '200'] });
  const ready = g.events.find((e) => e.type === 'gateway.ready') as GatewayEvent & { attach: Attach };
  const token = fs.readFileSync(ready.attach.tokenFile, 'utf8').trim();
  const ws = await connect(ready.attach.url, { 'X-Gateway-Warden-Token': token });
  const p = peerOf(ws);
  const sessionId = (await p.request<{ sessionId: string }>('session.create', { closeOnDisconnect: true })).sessionId;
  // Stop reading: pings go unanswered, as with a peer whose network vanished.
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const closed = await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === sessionId, 'session closed by ping timeout', 10_000);
  assert.equal(closed.reason, 'client-disconnected');
  ws.terminate();
  await waitFor(() => /did not answer ping/.test(g.stderr()), 'ping log');
  await stopHostedGateway(g);
});
