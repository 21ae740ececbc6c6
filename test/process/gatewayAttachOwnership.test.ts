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

test('ownership: session.list and events show an attach client its own sessions (and detached ones to list), never another connection\'s; the host sees all', async () => {
  const g = await startHostedGateway({ args: ['--listen', '--reattach-grace-ms', '30000'] });
  const a = attachOf(g);
  type Ev = { type: string; sessionId?: string | null };
  const eventsOf = (p: JsonRpcPeer) => {
    const seen: Ev[] = [];
    p.onNotification((method, params) => {
      if (method === 'event') seen.push(params as Ev);
    });
    return seen;
  };
  const wsA = await connectWithToken(a);
  const first = peerOf(wsA);
  const firstSaw = eventsOf(first);
  const wsB = await connectWithToken(a);
  const second = peerOf(wsB);
  const secondSaw = eventsOf(second);
  const listOf = async (p: Pick<JsonRpcPeer, 'request'>) =>
    (await p.request<{ sessions: { sessionId: string; attached: boolean }[] }>('session.list')).sessions.map((s) => s.sessionId).sort();

  const hostSession = await createSession(g, { label: 'host' });
  const sa = (await first.request<{ sessionId: string }>('session.create', { label: 'A' })).sessionId;
  const sb = (await second.request<{ sessionId: string }>('session.create', { label: 'B' })).sessionId;
  assert.equal(await exec(g, hostSession, '/echo h'), 'h');
  assert.deepEqual(await first.request('slash.exec', { sessionId: sa, command: '/echo a' }), { output: 'a' });
  assert.deepEqual(await second.request('slash.exec', { sessionId: sb, command: '/echo b' }), { output: 'b' });

  assert.deepEqual(await listOf(first), [sa]);
  assert.deepEqual(await listOf(second), [sb]);
  assert.deepEqual(await listOf(g.rpc), [hostSession, sa, sb].sort(), 'the host lists every session');

  // B closes its session: its session.closed reaches B and the host, not A.
  assert.deepEqual(await second.request('session.close', { sessionId: sb }), { closed: true });
  await waitFor(() => secondSaw.some((e) => e.type === 'session.closed' && e.sessionId === sb), 'B to get its session.closed');
  await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === sb, 'the host to get B\'s session.closed');
  const sessionsIn = (evs: Ev[]) => [...new Set(evs.map((e) => e.sessionId).filter((id) => typeof id === 'string'))].sort();
  const typesFor = (evs: Ev[], id: string) => evs.filter((e) => e.sessionId === id).map((e) => e.type);
  for (const t of ['session.created', 'worker.started', 'worker.state', 'session.closed']) {
    assert.ok(typesFor(secondSaw, sb).includes(t), `B got ${t} of its own session: ${typesFor(secondSaw, sb).join(', ')}`);
    assert.ok(g.events.some((e) => e.type === t && e.sessionId === sb), `the host got B's ${t}`);
  }
  assert.deepEqual(sessionsIn(firstSaw), [sa], `A saw events of its own session only: ${JSON.stringify(firstSaw)}`);
  assert.deepEqual(sessionsIn(secondSaw), [sb], `B saw events of its own session only: ${JSON.stringify(secondSaw)}`);
  assert.deepEqual(sessionsIn(g.events as Ev[]), [hostSession, sa, sb].sort(), 'the host saw every session\'s events');

  // A goes away: its session waits detached — listed to B (who may session.attach it), its events to the host only until then.
  wsA.close();
  await waitFor(async () => (await g.rpc.request<{ sessions: { sessionId: string; attached: boolean }[] }>('session.list')).sessions.some((s) => s.sessionId === sa && !s.attached), 'A\'s session to be detached');
  assert.deepEqual(await listOf(second), [sa]);
  const before = secondSaw.length;
  assert.equal(await exec(g, sa, '/echo host drives it'), 'host drives it');
  assert.deepEqual(secondSaw.slice(before).filter((e) => e.sessionId === sa), [], 'a detached session\'s events reach the host only');
  assert.deepEqual(await second.request('session.attach', { sessionId: sa }), { sessionId: sa, attached: true });
  assert.deepEqual(await second.request('slash.exec', { sessionId: sa, command: '/echo mine now' }), { output: 'mine now' });
  await waitFor(() => secondSaw.some((e) => e.type === 'worker.state' && e.sessionId === sa), 'B to get the events of the session it attached');
  wsB.terminate();
  await stopHostedGateway(g);
});
