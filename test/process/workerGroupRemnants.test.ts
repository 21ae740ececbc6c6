// A worker that dies without its own exit path running (SIGKILL, the OOM killer) cannot take
// its /run children down; they stay in its process group. The gateway, which notices the death
// first, tears that group down (DESIGN: "whoever notices death first kills the whole group").
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fingerprintOf } from '../../src/core/fingerprint';
import { isAlive, killTracked, track, waitFor } from '../support/processes';
import { createSession, exec, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';

after(killTracked);

test('a SIGKILLed worker\'s background /run child (still in its group) is killed by the gateway', { skip: process.platform === 'win32' }, async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  const out = await exec(g, s, '/run sleep 1000 >/dev/null 2>&1 & echo $!');
  const child = Number(out.trim());
  assert.ok(Number.isSafeInteger(child) && child > 1, `the background child's pid, got ${JSON.stringify(out)}`);
  track(child);
  const [worker] = g.workerPids();
  assert.equal(fingerprintOf(child) !== undefined && isAlive(child), true, 'the background child runs');

  assert.ok(fingerprintOf(worker), 'the worker runs');
  process.kill(worker, 'SIGKILL');
  await g.waitEvent((e) => e.type === 'worker.exited' && e.pid === worker, 'worker.exited');
  await waitFor(() => !isAlive(child), `the worker's background child ${child} to be killed with its group`, 10_000);
  // The session survives and gets a fresh worker.
  assert.equal(await exec(g, s, '/echo again'), 'again');
  await stopHostedGateway(g);
});
