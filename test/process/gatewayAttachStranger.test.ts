// Another local user floods the attach endpoint with sockets that reconnect the moment they are
// closed (a sustained flood, not a burst). Without telling users apart, such a flood keeps the
// pending slots full and our own client never gets in (measured before: 0 of 10). The gateway
// holds newcomers for a triage that reads who opened them (/proc/net/tcp) and closes the
// stranger's sockets: our client gets in, during the flood. Needs root (to be the stranger, via
// setpriv) on Linux.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { killTracked, spawnTracked, waitFor } from '../support/processes';
import { startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { attachOf, connectWithToken, peerOf, removeTokenDirs } from '../support/attachClient';
import { loopbackPeerUid } from '../../src/gateway/attachPeerUid';

after(killTracked);
after(removeTokenDirs);

const STRANGER = 65534; // nobody
const SOCKETS = 100;
const linux = process.platform === 'linux';
const canBecomeStranger = linux && process.getuid?.() === 0 && spawnSync('setpriv', ['--reuid', String(STRANGER), '--regid', String(STRANGER), '--clear-groups', 'true']).status === 0;

// Reopens every socket the gateway closes; prints how many it opened so far. Talking: each
// socket starts an HTTP request it never finishes (so it is not silent).
const FLOODER = (port: number, talk: boolean) => `
const net = require('net');
let opened = 0;
const one = () => {
  opened++;
  const s = net.connect(${port}, '127.0.0.1');
  s.on('error', () => {});
  s.on('close', () => setImmediate(one));
  if (${talk}) s.on('connect', () => s.write('GET / HTTP/1.1\\r\\nHost: x\\r\\n'));
};
for (let i = 0; i < ${SOCKETS}; i++) one();
setInterval(() => process.stdout.write(opened + '\\n'), 100);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

test('the peer uid of a real loopback connection is read from /proc/net/tcp', { skip: !linux }, async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const socket = await accepted;
  try {
    assert.deepEqual(loopbackPeerUid(socket), { state: 'found', uid: process.getuid!() });
    // From the client's side, its far end is the listening socket's accepted twin: ours too.
    assert.deepEqual(loopbackPeerUid(client), { state: 'found', uid: process.getuid!() });
    client.destroy();
    await waitFor(() => loopbackPeerUid(socket).state === 'unknown', 'the closed client to leave the table');
    assert.match((loopbackPeerUid(socket) as { why: string }).why, /no such socket|no addresses/);
  } finally {
    client.destroy();
    socket.destroy();
    server.close();
  }
});

async function strangerFlood(talk: boolean, tries: number) {
  const g = await startHostedGateway({ args: ['--listen', '--attach-handshake-timeout-ms', '2000'] });
  const a = attachOf(g);
  const flooder = spawnTracked('setpriv', ['--reuid', String(STRANGER), '--regid', String(STRANGER), '--clear-groups', process.execPath, '-e', FLOODER(a.port, talk)], { cwd: '/' });
  let opened = 0;
  flooder.stdout!.on('data', (c: Buffer) => {
    const last = c.toString().trim().split('\n').pop();
    if (last && /^\d+$/.test(last)) opened = Number(last);
  });
  // The flood is on: many more sockets opened than it holds at once.
  await waitFor(() => opened > 3 * SOCKETS, `the flood to reconnect (opened ${opened})`, 20_000);
  const attempts: number[] = [];
  for (let i = 0; i < 10; i++) {
    for (let n = 1; ; n++) {
      const ws = await connectWithToken(a).catch(async (e: Error) => {
        if (n < tries) return undefined;
        const st = (await g.rpc.request<{ attach: unknown }>('gateway.status')).attach;
        throw new Error(`our client was refused ${n} times on connection ${i + 1} (${e.message}); attach: ${JSON.stringify(st)}`);
      });
      if (!ws) continue;
      assert.ok(await peerOf(ws).request('session.list', undefined, { timeoutMs: 5000 }));
      ws.terminate();
      attempts.push(n);
      break;
    }
  }
  const during = opened;
  assert.ok(during > 3 * SOCKETS, 'the flood went on while our client connected');
  const status = (await g.rpc.request<{ attach: { refused: Record<string, number>; peerLookups: { count: number; ms: number; overBudget: number } } }>('gateway.status')).attach;
  flooder.stdin!.end();
  await stopHostedGateway(g);
  return { attempts, opened: during, status };
}

test(`a stranger's sustained reconnect flood of silent sockets (${SOCKETS} as uid ${STRANGER}) never keeps our client out`, { skip: !canBecomeStranger && 'needs root and setpriv on Linux' }, async () => {
  const r = await strangerFlood(false, 20);
  assert.equal(r.attempts.length, 10, 'all 10 connections made');
  // Closed as another user's at a triage, or as silent once they had sent nothing for a while.
  const closed = (r.status.refused['from another user'] ?? 0) + (r.status.refused['silent while the pending slots were full'] ?? 0);
  assert.ok(closed >= SOCKETS, JSON.stringify(r.status));
  process.stdout.write(`# silent stranger flood: our client's tries per connection ${r.attempts.join(',')}; stranger sockets opened: ${r.opened}; ${JSON.stringify(r.status.refused)} lookups ${JSON.stringify(r.status.peerLookups)}\n`);
});

test(`a stranger's flood of sockets that start a request and never finish it: closed as another user's, our client gets in`, { skip: !canBecomeStranger && 'needs root and setpriv on Linux' }, async () => {
  const r = await strangerFlood(true, 20);
  assert.equal(r.attempts.length, 10, 'all 10 connections made');
  // Closed as silent (their request not read yet when the slots were full) or as another user's.
  const closed = (r.status.refused['from another user'] ?? 0) + (r.status.refused['silent while the pending slots were full'] ?? 0);
  assert.ok(closed >= SOCKETS, JSON.stringify(r.status));
  process.stdout.write(`# talking stranger flood: our client's tries per connection ${r.attempts.join(',')}; stranger sockets opened: ${r.opened}; ${JSON.stringify(r.status.refused)} lookups ${JSON.stringify(r.status.peerLookups)}\n`);
});
