// session.close right after a command timed out: the timed-out worker is retired and closes in
// the background (a blocked loop: the polite request's 1 s, then SIGTERM, 500 ms, SIGKILL). The
// close answers true only once that worker is gone too, and its worker.exited reaches the
// connection that owns the session before session.closed.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { JsonRpcPeer, RpcError, RpcErrorCode } from '../../src/core/rpc';
import { isAlive, killTracked } from '../support/processes';
import { GatewayEvent, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { attachOf, connectWithToken, peerOf, removeTokenDirs } from '../support/attachClient';

after(killTracked);
after(removeTokenDirs);

test('session.close after a slash.exec timeout answers once the retired worker is gone; its worker.exited reaches the owner before session.closed', async () => {
  const g = await startHostedGateway({
    args: ['--listen', '--slash-timeout-ms', '300'],
    env: { GATEWAY_WARDEN_CGROUPS: 'off', GATEWAY_WARDEN_TEST_COMMANDS: '1' },
  });
  const ws = await connectWithToken(attachOf(g));
  try {
    const client: JsonRpcPeer = peerOf(ws);
    const clientSaw: GatewayEvent[] = [];
    client.onNotification((method, params) => {
      if (method === 'event') clientSaw.push(params as GatewayEvent);
    });
    const sessionId = (await client.request<{ sessionId: string }>('session.create', { label: 'owned' })).sessionId;
    await assert.rejects(client.request('slash.exec', { sessionId, command: '/busy 5000' }), (e: RpcError) => {
      assert.equal(e.code, RpcErrorCode.RequestTimeout, e.message);
      return true;
    });
    const worker = g.workerPids()[0];
    assert.ok(worker > 0 && isAlive(worker), 'the retired worker still runs (its loop is blocked) when session.close is sent');

    assert.deepEqual(await client.request('session.close', { sessionId }), { closed: true });
    assert.equal(isAlive(worker), false, `worker ${worker} is gone when session.close answers true`);

    const order = (events: GatewayEvent[]) => events
      .filter((e) => e.sessionId === sessionId && ((e.type === 'worker.exited' && e.pid === worker) || e.type === 'session.closed'))
      .map((e) => e.type);
    assert.deepEqual(order(clientSaw), ['worker.exited', 'session.closed'], 'the owning attach client sees the exit, then the close');
    // The host's events come through its relay process: they may trail the client's reply.
    await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === sessionId, 'session.closed at the host');
    assert.deepEqual(order(g.events), ['worker.exited', 'session.closed'], 'so does the host');
  } finally {
    ws.terminate();
    await stopHostedGateway(g);
  }
});
