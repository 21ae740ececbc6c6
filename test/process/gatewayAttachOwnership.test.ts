// Session ownership across connections: a session is driven, closed or re-attached only by the
// connection it is attached to, or — once detached — by whoever re-attaches it with the token;
// the host (stdio) may act on every session; only the host may shut the gateway down.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { JsonRpcPeer, RpcErrorCode } from '../../src/core/rpc';
import { isAlive, killTracked, waitFor } from '../support/processes';
import { createSession, exec, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { attachOf, removeTokenDirs, connectWithToken, peerOf } from '../support/attachClient';

after(killTracked);
after(removeTokenDirs);

/** Rejects with the gateway's "not yours" error (-32012) naming the method and the session. */
async function refusedAsNotOwner(p: Promise<unknown>, method: string, sessionId: string): Promise<void> {
  await assert.rejects(p, (e: { code?: number; message?: string; data?: { sessionId?: string } }) => {
    assert.equal(e.code, RpcErrorCode.NotOwner, `code of ${JSON.stringify(e)}`);
    assert.ok(e.message?.startsWith(`${method}: session ${sessionId} belongs to`), e.message);
    assert.equal(e.data?.sessionId, sessionId);
    return true;
  });
}

test('ownership: an attach client cannot drive, close or attach the host\'s session, nor shut the gateway down', async () => {
  const g = await startHostedGateway({ args: ['--listen'] });
  const hostSession = await createSession(g, { label: 'host' });
  assert.equal(await exec(g, hostSession, '/echo mine'), 'mine');
  const worker = g.workerPids()[0];

  const ws = await connectWithToken(attachOf(g));
  const stranger: JsonRpcPeer = peerOf(ws);
  await refusedAsNotOwner(stranger.request('slash.exec', { sessionId: hostSession, command: '/run touch /nonexistent-dir/x' }), 'slash.exec', hostSession);
  await refusedAsNotOwner(stranger.request('session.close', { sessionId: hostSession }), 'session.close', hostSession);
  await refusedAsNotOwner(stranger.request('session.attach', { sessionId: hostSession }), 'session.attach', hostSession);
  await assert.rejects(stranger.request('gateway.shutdown', { graceMs: 100 }), (e: { code?: number; message?: string }) => {
    assert.equal(e.code, RpcErrorCode.NotOwner);
    assert.match(e.message ?? '', /only the host/);
    return true;
  });
  // Nothing happened to the host's session.
  assert.ok(isAlive(worker), 'its worker still runs');
  assert.ok(!g.events.some((e) => e.type === 'session.closed'), 'not closed');
  assert.equal(await exec(g, hostSession, '/echo still mine'), 'still mine');
  const listed = await g.rpc.request<{ sessions: { sessionId: string; attached: boolean }[] }>('session.list');
  assert.deepEqual(listed.sessions.map((s) => s.sessionId), [hostSession]);
  // Unknown sessions are answered as before, not as "not yours".
  await assert.rejects(stranger.request('slash.exec', { sessionId: 'nope', command: '/echo x' }), (e: { code?: number }) => e.code === RpcErrorCode.InvalidParams);
  assert.deepEqual(await stranger.request('session.close', { sessionId: 'nope' }), { closed: false });
  ws.terminate();
  await stopHostedGateway(g);
});

test('ownership: another connection cannot touch a live connection\'s session; after it detaches, a re-attach with the token takes it; the host acts on all', async () => {
  const g = await startHostedGateway({ args: ['--listen', '--reattach-grace-ms', '30000'] });
  const a = attachOf(g);
  const wsA = await connectWithToken(a);
  const first = peerOf(wsA);
  const wsB = await connectWithToken(a);
  const second = peerOf(wsB);
  const sessionId = (await first.request<{ sessionId: string }>('session.create', { label: 'A' })).sessionId;
  assert.deepEqual(await first.request('slash.exec', { sessionId, command: '/echo a' }), { output: 'a' });

  await refusedAsNotOwner(second.request('slash.exec', { sessionId, command: '/echo b' }), 'slash.exec', sessionId);
  await refusedAsNotOwner(second.request('session.attach', { sessionId }), 'session.attach', sessionId);
  await refusedAsNotOwner(second.request('session.close', { sessionId }), 'session.close', sessionId);

  // The host may drive a connection's session.
  assert.equal(await exec(g, sessionId, '/echo host'), 'host');

  // A detaches: the session waits; B may re-attach it (not drive or close it before that).
  const gone = new Promise((r) => wsA.once('close', r));
  wsA.close();
  await gone;
  // Refused until the gateway has seen A go (then the refusal says "detached").
  const detached = await waitFor(async () => {
    const e = await second.request('slash.exec', { sessionId, command: '/echo before attach' }).then(() => assert.fail('B drove A\'s session'), (err: { code?: number; message?: string }) => err);
    assert.equal(e.code, RpcErrorCode.NotOwner);
    return /detached/.test(e.message ?? '') && e;
  }, 'the refusal to say the session is detached');
  assert.match(detached.message ?? '', /session\.attach it first/);
  assert.deepEqual(await second.request('session.attach', { sessionId }), { sessionId, attached: true });
  assert.deepEqual(await second.request('slash.exec', { sessionId, command: '/echo b' }), { output: 'b' });

  // A comes back with the token: the session is B's now.
  const wsA2 = await connectWithToken(a);
  const firstAgain = peerOf(wsA2);
  await refusedAsNotOwner(firstAgain.request('session.attach', { sessionId }), 'session.attach', sessionId);

  // The host may re-attach and close any session.
  assert.deepEqual(await g.rpc.request('session.attach', { sessionId }), { sessionId, attached: true });
  await refusedAsNotOwner(second.request('slash.exec', { sessionId, command: '/echo b' }), 'slash.exec', sessionId);
  const bSession = (await second.request<{ sessionId: string }>('session.create', { label: 'B' })).sessionId;
  assert.deepEqual(await g.rpc.request('session.close', { sessionId: bSession }), { closed: true });
  assert.deepEqual(await g.rpc.request('session.close', { sessionId }), { closed: true });
  wsA2.terminate();
  wsB.terminate();
  await stopHostedGateway(g);
});
