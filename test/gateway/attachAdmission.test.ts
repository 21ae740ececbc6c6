// Admission of the attach endpoint's sockets, on real loopback connections with a stand-in for
// "who opened this socket" (the real /proc/net/tcp read is tested in gatewayAttachStranger).
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { AttachAdmission } from '../../src/gateway/attachAdmission';
import type { PeerUid } from '../../src/gateway/attachPeerUid';
import { waitFor } from '../support/processes';

const OWN = 1000;
const STRANGER = 65534;
const clients: net.Socket[] = [];
after(() => clients.forEach((c) => c.destroy()));

/** A listening server whose accepted sockets go through `admission`; `admitted` lists who got a slot (by client port). */
async function endpoint(limits: { maxPending: number }, uidOfPort: Map<number, number>) {
  const lookups: number[] = [];
  const admission = new AttachAdmission(
    { handshakeTimeoutMs: 10_000, maxPending: limits.maxPending, maxConnections: 16 },
    () => undefined,
    10_000,
    (sockets): PeerUid[] => {
      lookups.push(sockets.length);
      return sockets.map((s) => {
        const uid = uidOfPort.get(s.remotePort ?? -1);
        return uid === undefined ? { state: 'unknown', why: 'not in the stand-in table' } : { state: 'found', uid };
      });
    },
    OWN,
  );
  const admitted = new Set<number>();
  const server = net.createServer((s) => admission.admit(s, () => admitted.add(s.remotePort!)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => {
    admission.closeAll();
    server.close();
  });
  const port = (server.address() as net.AddressInfo).port;
  const connect = async (uid: number | undefined, send?: string) => {
    const c = net.connect(port, '127.0.0.1');
    clients.push(c);
    c.on('error', () => undefined);
    await new Promise((r) => c.once('connect', r));
    if (uid !== undefined) uidOfPort.set(c.localPort!, uid);
    if (send) c.write(send);
    return c;
  };
  return { admission, admitted, lookups, connect };
}

test("a newcomer that finds every slot taken by talking sockets waits for one triage: another user's are closed and ours gets a slot", async () => {
  const e = await endpoint({ maxPending: 2 }, new Map());
  const strangers = [await e.connect(STRANGER, 'GET / HTTP/1.1\r\n'), await e.connect(STRANGER, 'GET / HTTP/1.1\r\n')];
  await waitFor(() => strangers.every((s) => e.admitted.has(s.localPort!)), 'the two strangers admitted while slots were free');
  assert.equal(e.lookups.length, 0, 'no read of the socket table without contention');
  const ours = await e.connect(OWN, 'GET / HTTP/1.1\r\n');
  await waitFor(() => e.admitted.has(ours.localPort!), 'our client admitted after the triage');
  assert.deepEqual(e.lookups, [3], 'one read for the newcomer and both pending sockets');
  assert.equal(e.admission.refusals()['from another user'], 2);
  assert.equal(e.admission.pendingCount, 1);
  assert.equal(e.admission.waitingCount, 0);
});

test('a pending socket nothing was read from yet is not dropped as silent at once; after 250 ms of silence it is', async () => {
  const e = await endpoint({ maxPending: 1 }, new Map());
  const quiet = await e.connect(undefined);
  await waitFor(() => e.admitted.has(quiet.localPort!), 'the quiet socket admitted');
  const admittedAt = performance.now();
  // A newcomer right away: the quiet socket is young, the uid unknown, no slot: the newcomer is refused.
  await e.connect(undefined);
  await waitFor(() => e.admission.refusals()['over the pending cap'] === 1, 'the early newcomer refused over the pending cap');
  assert.equal(e.admission.refusals()['silent while the pending slots were full'], undefined, 'the young socket kept its slot');
  // Newcomers keep coming; the quiet socket is dropped only once it has been silent long enough.
  let droppedAt = 0;
  await waitFor(async () => {
    await e.connect(undefined);
    if (e.admission.refusals()['silent while the pending slots were full'] !== 1) return false;
    droppedAt = performance.now();
    return true;
  }, 'the silent socket dropped for a newcomer');
  assert.ok(droppedAt - admittedAt >= 250, `dropped after ${Math.round(droppedAt - admittedAt)} ms of silence`);
});

test('a socket that sent its request is never dropped as silent, however long the wait', async () => {
  const e = await endpoint({ maxPending: 1 }, new Map());
  const talking = await e.connect(undefined, 'GET / HTTP/1.1\r\n');
  await waitFor(() => e.admitted.has(talking.localPort!) && e.admission.pendingCount === 1, 'the talking socket admitted');
  const t0 = performance.now();
  let newcomers = 0;
  await waitFor(async () => {
    await e.connect(undefined);
    newcomers++;
    return performance.now() - t0 > 400 && newcomers >= 5;
  }, 'newcomers for 400 ms');
  await waitFor(() => e.admission.refusals()['over the pending cap'] === newcomers, `all ${newcomers} newcomers refused over the pending cap`);
  assert.equal(e.admission.refusals()['silent while the pending slots were full'], undefined);
  assert.ok(e.admitted.has(talking.localPort!) && e.admission.pendingCount === 1, 'the talking socket still holds its slot');
});
