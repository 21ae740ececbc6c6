// The gateway and its workers under fault: host or gateway SIGKILLed, workers starting or
// blocked, children that ignore SIGTERM. Everything is observed in the real process table.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { isAlive, killTracked, track, waitAllExited, waitFor, waitForExit } from '../support/processes';
import { waitAllMarked } from '../support/marker';
import { readProcStat } from '../../src/core/procfs';
import { backgroundGrandchild, createSession, exec, startHostedGateway, stopHostedGateway, waitNoMarked } from '../support/gatewayHost';

after(killTracked);

test('host SIGKILL: the gateway, every worker and a /run background grandchild are gone', async (t) => {
  const g = await startHostedGateway();
  const sessions = await Promise.all([1, 2, 3].map(() => createSession(g)));
  const grandchildren = await Promise.all(sessions.map((s) => backgroundGrandchild(g, s)));
  const workers = g.workerPids();
  assert.equal(workers.length, 3);
  const marked = await waitAllMarked(g.hostFp, [g.gatewayPid, ...workers, ...grandchildren]);
  const killedAt = Date.now();
  g.host.kill('SIGKILL');
  await waitNoMarked(g.hostFp);
  t.diagnostic(`host SIGKILL → all ${marked.length} marked processes gone in ${Date.now() - killedAt} ms`);
  await waitAllExited([g.gatewayPid, ...workers, ...grandchildren]);
});

test('gateway SIGKILL: every worker and grandchild are gone (their own lifelines)', async () => {
  const g = await startHostedGateway();
  const sessions = await Promise.all([1, 2].map(() => createSession(g)));
  const grandchildren = await Promise.all(sessions.map((s) => backgroundGrandchild(g, s)));
  process.kill(g.gatewayPid, 'SIGKILL');
  await waitNoMarked(g.hostFp);
  await waitAllExited([...g.workerPids(), ...grandchildren]);
  g.host.kill('SIGKILL');
});

test('gateway SIGKILL while a worker is still starting: the worker exits', async () => {
  const g = await startHostedGateway({ env: { GATEWAY_WARDEN_TEST_WORKER_START_DELAY_MS: '60000' } });
  const s = await createSession(g);
  const pending = exec(g, s, '/echo never').catch((e: Error) => e);
  const started = await g.waitEvent((e) => e.type === 'worker.started', 'worker.started');
  const worker = started.pid as number;
  assert.equal(readProcStat(worker)?.pgid, worker, 'the worker leads its own group');
  process.kill(g.gatewayPid, 'SIGKILL');
  await waitForExit(worker, 10_000);
  await waitNoMarked(g.hostFp);
  assert.ok((await pending) instanceof Error);
  g.host.kill('SIGKILL');
});

test('host SIGKILL while a worker is still starting: the worker exits', async () => {
  const g = await startHostedGateway({ env: { GATEWAY_WARDEN_TEST_WORKER_START_DELAY_MS: '60000' } });
  const s = await createSession(g);
  void exec(g, s, '/echo never').catch(() => undefined);
  const worker = (await g.waitEvent((e) => e.type === 'worker.started', 'worker.started')).pid as number;
  g.host.kill('SIGKILL');
  await waitForExit(worker, 10_000);
  await waitNoMarked(g.hostFp);
});

test('a worker\'s child that ignores SIGTERM and SIGHUP is gone after session.close', async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  const out = await exec(g, s, `/run sh -c 'trap "" TERM HUP; echo stubborn=$$; while :; do sleep 1; done' > /dev/null 2>&1 & sleep 0.2; echo bg=$!`);
  const stubborn = Number(/bg=(\d+)/.exec(out)?.[1]);
  assert.ok(stubborn > 0, out);
  track(stubborn);
  await waitFor(() => isAlive(stubborn), 'stubborn child alive');
  const r = await g.rpc.request<{ closed: boolean }>('session.close', { sessionId: s });
  assert.equal(r.closed, true);
  // session.close answers once the worker's whole group is empty.
  assert.equal(isAlive(stubborn), false, 'the SIGTERM-ignoring child is gone when close returns');
  assert.equal(isAlive(g.workerPids()[0]), false);
  await stopHostedGateway(g);
});

test('a worker whose event loop is blocked is killed by its guard thread after the gateway dies', async () => {
  // The guard thread runs only without the parent-death signal (workerGuards.test.ts has both).
  const g = await startHostedGateway({ env: { GATEWAY_WARDEN_TEST_COMMANDS: '1', GATEWAY_WARDEN_PDEATHSIG: 'off' }, args: ['--poll-ms', '200'] });
  const s = await createSession(g);
  assert.match(await exec(g, s, '/pid'), /^pid \d+/);
  const worker = g.workerPids()[0];
  const grandchild = await backgroundGrandchild(g, s);
  void exec(g, s, '/busy').catch(() => undefined);
  // The worker spins (state R) once /busy runs.
  await waitFor(() => readProcStat(worker)?.state === 'R', 'worker busy');
  process.kill(g.gatewayPid, 'SIGKILL');
  await waitForExit(worker, 10_000);
  await waitNoMarked(g.hostFp);
  await waitAllExited([grandchild]); // the guard took the worker's group down
  g.host.kill('SIGKILL');
});

test('host SIGKILL with the gateway\'s stdin held open elsewhere: the owner fingerprint poll still tears everything down', async () => {
  const g = await startHostedGateway({ holdStdinOpen: true, args: ['--poll-ms', '200'] });
  const s = await createSession(g);
  const grandchild = await backgroundGrandchild(g, s);
  g.host.kill('SIGKILL');
  await waitNoMarked(g.hostFp);
  await waitAllExited([grandchild]);
  assert.ok(g.holderPid && isAlive(g.holderPid), 'the pipe was still held open: the poll did it');
  process.kill(g.holderPid!, 'SIGKILL');
});

/** A background grandchild of `/run` that ignores SIGTERM and SIGHUP; returns its pid. */
async function stubbornGrandchild(g: Awaited<ReturnType<typeof startHostedGateway>>, sessionId: string): Promise<number> {
  const out = await exec(g, sessionId, `/run sh -c 'trap "" TERM HUP; while :; do sleep 1; done' > /dev/null 2>&1 & sleep 0.2; echo bg=$!`);
  const pid = Number(/bg=(\d+)/.exec(out)?.[1]);
  assert.ok(pid > 0, out);
  track(pid);
  await waitFor(() => isAlive(pid), 'stubborn grandchild alive');
  return pid;
}

test('host SIGKILL with a SIGTERM-ignoring grandchild among several workers: all gone (the lifeline grace ends in SIGKILL)', async () => {
  const g = await startHostedGateway();
  const sessions = await Promise.all([1, 2, 3].map(() => createSession(g)));
  const stubborn = await stubbornGrandchild(g, sessions[0]);
  const plain = await Promise.all(sessions.slice(1).map((s) => backgroundGrandchild(g, s)));
  const workers = g.workerPids();
  g.host.kill('SIGKILL');
  await waitNoMarked(g.hostFp);
  await waitAllExited([g.gatewayPid, ...workers, stubborn, ...plain]);
});

test('gateway.shutdown answers once every worker group is empty, a SIGTERM-ignoring grandchild included', async () => {
  const g = await startHostedGateway();
  const sessions = await Promise.all([1, 2, 3].map(() => createSession(g)));
  const stubborn = await stubbornGrandchild(g, sessions[0]);
  const plain = await Promise.all(sessions.slice(1).map((s) => backgroundGrandchild(g, s)));
  const workers = g.workerPids();
  const r = await g.rpc.request<{ closedSessions: number }>('gateway.shutdown', { graceMs: 2000 });
  assert.equal(r.closedSessions, 3);
  await waitAllExited([...workers, stubborn, ...plain]);
  await stopHostedGateway(g);
  assert.equal(g.events.filter((e) => e.type === 'session.closed').length, 3, 'session.closed for every session');
});
