// The attach endpoint: WebSocket on 127.0.0.1 with a token from a 0600 file in a private
// directory; browser origins refused; a connection that does not authenticate in time is closed,
// silent ones included; connections capped; closeOnDisconnect sessions close with their
// connection, others survive a re-attach within the grace.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type WebSocket from 'ws';
import { isAlive, killTracked, waitFor } from '../support/processes';
import { GatewayEvent, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { attachOf, removeTokenDirs, closedWithin, connect, connectWithToken, peerOf, rawSocket, tokenOf } from '../support/attachClient';
import { MAX_ATTACH_CONNECTIONS } from '../../src/gateway/attachServer';
import { tokenDirOwner } from '../../src/gateway/tokenDirLeftovers';

after(killTracked);
after(removeTokenDirs);

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(mode = 0o700): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-attach-test-'));
  fs.chmodSync(d, mode);
  tempDirs.push(d);
  return d;
}

interface AttachStatus {
  url?: string;
  error?: string;
  pending?: number;
  open?: number;
  refused?: Record<string, number>;
}
const attachStatus = async (g: Awaited<ReturnType<typeof startHostedGateway>>) =>
  (await g.rpc.request<{ attach: AttachStatus | null }>('gateway.status')).attach;

test('attach endpoint: token required; closeOnDisconnect closes with the connection; others survive a re-attach, then time out', async () => {
  const g = await startHostedGateway({ args: ['--listen', '--reattach-grace-ms', '1500', '--ping-ms', '300'] });
  const a = attachOf(g);
  assert.match(a.url, /^ws:\/\/127\.0\.0\.1:\d+\/$/);
  const token = tokenOf(a);

  await assert.rejects(connect(a.url), /HTTP 401/);
  await assert.rejects(connect(a.url, { Authorization: 'Bearer wrong' }), /HTTP 401/);
  await assert.rejects(connect(`${a.url}?token=${'0'.repeat(token.length)}`), /HTTP 401/);

  const wsA = await connect(a.url, { Authorization: `Bearer ${token}` });
  const pa = peerOf(wsA);
  const onDisconnect = (await pa.request<{ sessionId: string }>('session.create', { label: 'tui', closeOnDisconnect: true })).sessionId;
  const kept = (await pa.request<{ sessionId: string }>('session.create', { label: 'dashboard' })).sessionId;
  await pa.request('slash.exec', { sessionId: onDisconnect, command: '/echo a' });
  await pa.request('slash.exec', { sessionId: kept, command: '/echo b' });
  const workerOf = (sessionId: string) => g.events.find((e) => e.type === 'worker.started' && e.sessionId === sessionId)!.pid as number;
  const w1 = workerOf(onDisconnect);
  const w2 = workerOf(kept);

  wsA.close();
  const closed = await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === onDisconnect, 'closeOnDisconnect session closed');
  assert.equal(closed.reason, 'client-disconnected');
  assert.equal(isAlive(w1), false, 'its worker is gone');
  assert.ok(isAlive(w2), 'the other session keeps its worker');

  // Re-attach within the grace (query-string token this time).
  const wsB = await connect(`${a.url}?token=${token}`);
  const pb = peerOf(wsB);
  assert.deepEqual(await pb.request('session.attach', { sessionId: kept }), { sessionId: kept, attached: true });
  assert.deepEqual(await pb.request('slash.exec', { sessionId: kept, command: '/echo still' }), { output: 'still' });
  const list = await pb.request<{ sessions: { sessionId: string; attached: boolean }[] }>('session.list');
  assert.deepEqual(list.sessions.map((s) => [s.sessionId, s.attached]), [[kept, true]]);

  // Drop again and do not come back: closed after the grace.
  const droppedAt = Date.now();
  wsB.terminate();
  const timedOut = await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === kept, 'kept session closed after the grace', 15_000);
  assert.equal(timedOut.reason, 'reattach-timeout');
  assert.ok(Date.now() - droppedAt >= 1400, 'not before the grace');
  assert.equal(isAlive(w2), false);
  await stopHostedGateway(g);
});

test('attach endpoint: a half-open connection (no pongs) is detected by ping and counts as a disconnect', async () => {
  const g = await startHostedGateway({ args: ['--listen', '--ping-ms', '200'] });
  const a = attachOf(g);
  const ws = await connect(a.url, { 'X-Gateway-Warden-Token': tokenOf(a) });
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

test('attach endpoint: the token file is 0600 in a new 0700 directory with an unpredictable name, both removed at shutdown', async () => {
  const g = await startHostedGateway({ args: ['--listen'], env: { XDG_RUNTIME_DIR: '' } });
  const a = attachOf(g);
  const dir = path.dirname(a.tokenFile);
  assert.equal(path.dirname(dir), os.tmpdir(), 'without XDG_RUNTIME_DIR: under the temp directory');
  // The name records its gateway (so a later gateway can remove it once that one is provably
  // dead) and ends in six random characters: it cannot be predicted and pre-created.
  assert.match(path.basename(dir), /^gateway-warden-\d+\.\d+\.[A-Za-z0-9-]+-[A-Za-z0-9]{6}$/);
  assert.equal(tokenDirOwner(path.basename(dir))?.pid, g.gatewayPid, 'the name records the gateway');
  const dirStat = fs.lstatSync(dir);
  assert.ok(dirStat.isDirectory());
  assert.equal(dirStat.mode & 0o777, 0o700);
  assert.equal(dirStat.uid, process.getuid!());
  const fileStat = fs.lstatSync(a.tokenFile);
  assert.ok(fileStat.isFile());
  assert.equal(fileStat.mode & 0o777, 0o600);
  assert.match(tokenOf(a), /^[0-9a-f]{64}$/);
  await stopHostedGateway(g);
  assert.equal(fs.existsSync(a.tokenFile), false, 'token file removed at shutdown');
  assert.equal(fs.existsSync(dir), false, 'its directory removed at shutdown');
});

test('attach endpoint: under XDG_RUNTIME_DIR when it is private, not when others may write there', async () => {
  const runtime = tempDir(0o700);
  const g = await startHostedGateway({ args: ['--listen'], env: { XDG_RUNTIME_DIR: runtime } });
  const a = attachOf(g);
  assert.equal(path.dirname(path.dirname(a.tokenFile)), runtime);
  await stopHostedGateway(g);
  assert.deepEqual(fs.readdirSync(runtime), [], 'nothing left in XDG_RUNTIME_DIR');

  const open = tempDir(0o777);
  const g2 = await startHostedGateway({ args: ['--listen'], env: { XDG_RUNTIME_DIR: open } });
  const a2 = attachOf(g2);
  assert.equal(path.dirname(path.dirname(a2.tokenFile)), os.tmpdir());
  assert.match(g2.stderr(), /not using XDG_RUNTIME_DIR .*writable by others/);
  assert.deepEqual(fs.readdirSync(open), []);
  await stopHostedGateway(g2);
});

test('attach endpoint: a pre-created --token-file (link or file) is refused, never followed or replaced; the gateway runs on and says why', async () => {
  const dir = tempDir(0o700);
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'do not touch\n', { mode: 0o644 });
  const link = path.join(dir, 'token-link');
  fs.symlinkSync(victim, link);
  const plain = path.join(dir, 'token-file');
  fs.writeFileSync(plain, 'someone else\n', { mode: 0o644 });

  for (const [tokenFile, kind] of [[link, 'a symbolic link'], [plain, 'a file']] as const) {
    const g = await startHostedGateway({ args: ['--listen', '--token-file', tokenFile] });
    const ready = g.events.find((e) => e.type === 'gateway.ready') as GatewayEvent & { attach: AttachStatus };
    assert.ok(ready.attach.error, `gateway.ready reports the failure: ${JSON.stringify(ready.attach)}`);
    assert.ok(ready.attach.error.includes(tokenFile) && ready.attach.error.includes(kind), ready.attach.error);
    assert.equal(ready.attach.url, undefined, 'no endpoint');
    const status = await attachStatus(g);
    assert.equal(status?.error, ready.attach.error, 'gateway.status says so too');
    assert.match(g.stderr(), /cannot open the attach endpoint: .*already exists.*never followed or replaced/);
    assert.ok((await g.rpc.request<{ sessionId: string }>('session.create')).sessionId, 'the gateway works without the endpoint');
    await stopHostedGateway(g);
  }
  assert.equal(fs.readFileSync(victim, 'utf8'), 'do not touch\n', 'the link target is untouched');
  assert.equal(fs.statSync(victim).mode & 0o777, 0o644);
  assert.equal(fs.readlinkSync(link), victim, 'the link is left alone');
  assert.equal(fs.readFileSync(plain, 'utf8'), 'someone else\n', 'the file is left alone');

  // A fresh explicit path is created 0600 and removed at shutdown.
  const fresh = path.join(dir, 'fresh.token');
  const g = await startHostedGateway({ args: ['--listen', '--token-file', fresh] });
  assert.equal(attachOf(g).tokenFile, fresh);
  assert.equal(fs.lstatSync(fresh).mode & 0o777, 0o600);
  await stopHostedGateway(g);
  assert.equal(fs.existsSync(fresh), false);
});

test('attach endpoint: a browser Origin is refused (403) even with the token; a plain HTTP request gets 426', async () => {
  const g = await startHostedGateway({ args: ['--listen'] });
  const a = attachOf(g);
  const token = tokenOf(a);
  await assert.rejects(connect(a.url, { Authorization: `Bearer ${token}`, Origin: 'http://127.0.0.1:8080' }), /HTTP 403/);
  await assert.rejects(connect(`${a.url}?token=${token}`, { Origin: 'https://evil.example' }), /HTTP 403/);
  const res = await fetch(`http://127.0.0.1:${a.port}/?token=${token}`);
  assert.equal(res.status, 426);
  await res.text();
  const ws = await connectWithToken(a);
  assert.ok(await peerOf(ws).request('session.list'), 'without an Origin the same token works');
  ws.terminate();
  const status = await attachStatus(g);
  assert.equal(status?.refused?.['with a browser Origin'], 2);
  await stopHostedGateway(g);
});

test('attach endpoint: the handshake deadline closes a silent socket and a half-sent request; an authenticated one stays', async () => {
  const g = await startHostedGateway({ args: ['--listen', '--attach-handshake-timeout-ms', '700'] });
  const a = attachOf(g);
  // Each clock starts as its socket connects, as the gateway's deadline does when it admits it:
  // started after the other socket and the WebSocket handshake, a slow one shortened the measure.
  const silentClosed = closedWithin(await rawSocket(a.port));
  const halfSent = await rawSocket(a.port);
  const halfClosed = closedWithin(halfSent);
  halfSent.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
  const ws = await connectWithToken(a);
  const [silentMs, halfMs] = await Promise.all([silentClosed, halfClosed]);
  for (const ms of [silentMs, halfMs]) {
    assert.ok(ms >= 500 && ms < 5000, `closed by the deadline, not before it and not much after (${ms} ms)`);
  }
  const status = await attachStatus(g);
  assert.equal(status?.refused?.['past the handshake deadline'], 2);
  assert.equal(status?.pending, 0);
  // Well past the deadline, the authenticated connection still works.
  assert.equal(ws.readyState, ws.OPEN);
  const p = peerOf(ws);
  const sessionId = (await p.request<{ sessionId: string }>('session.create')).sessionId;
  assert.deepEqual(await p.request('slash.exec', { sessionId, command: '/echo alive' }), { output: 'alive' });
  ws.terminate();
  await stopHostedGateway(g);
});

test(`attach endpoint: at most ${MAX_ATTACH_CONNECTIONS} connections; the next is dropped at once, and a slot frees when one closes`, async () => {
  const g = await startHostedGateway({ args: ['--listen'] });
  const a = attachOf(g);
  const clients: WebSocket[] = [];
  for (let i = 0; i < MAX_ATTACH_CONNECTIONS; i++) clients.push(await connectWithToken(a));
  const t0 = Date.now();
  await assert.rejects(connectWithToken(a), /socket hang up|ECONNRESET|closed/);
  assert.ok(Date.now() - t0 < 2000, 'refused at once, not left to time out');
  const status = await attachStatus(g);
  assert.equal(status?.open, MAX_ATTACH_CONNECTIONS);
  assert.ok((status?.refused?.['over the connection cap'] ?? 0) >= 1);
  const first = clients.shift()!;
  const gone = new Promise((r) => first.once('close', r));
  first.close();
  await gone;
  await waitFor(async () => (await attachStatus(g))!.open! < MAX_ATTACH_CONNECTIONS, 'a slot frees');
  const again = await connectWithToken(a);
  assert.ok(await peerOf(again).request('session.list'));
  for (const ws of [...clients, again]) ws.terminate();
  await stopHostedGateway(g);
});
