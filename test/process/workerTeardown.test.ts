// A worker's own exit path: it escalates until its group and everything carrying its marker is
// empty. Observed in the real process table.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { groupMembers } from '../../src/core/kill';
import { isAlive, killTracked, track, waitAllExited, waitFor } from '../support/processes';
import { pidsWithMarker } from '../support/marker';
import { createSession, exec, startHostedGateway, waitNoMarked } from '../support/gatewayHost';

after(killTracked);
const posix = process.platform !== 'win32';

// In the background: a shell that ignores SIGTERM and SIGHUP (as everything below it does, by
// inheritance) and starts a fork loop of its own every 100 ms, each starting a `sleep` every
// 50 ms. Members keep appearing while the teardown runs — also after its first SIGKILL, from
// forkers it had not seen yet — so a teardown that stops after a fixed number of passes
// leaves some behind; one that loops until the group is empty does not.
const FORK_LOOP = `/run sh -c 'trap "" TERM HUP; while :; do sh -c "while :; do sleep 1000 & sleep 0.05; done" & sleep 0.1; done' >/dev/null 2>&1 & echo loop=$!`;

test('a worker whose /run child is a SIGTERM-ignoring fork loop leaves nothing behind when its gateway is SIGKILLed', { skip: !posix }, async (t) => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  const loop = Number(/loop=(\d+)/.exec(await exec(g, s, FORK_LOOP))?.[1]);
  assert.ok(loop > 1 && isAlive(loop), 'the fork loop runs');
  track(loop);
  const [worker] = g.workerPids();
  // The loop and a few of its sleepers are in the worker's group.
  const before = await waitFor(() => {
    const m = groupMembers(worker);
    return m && m.length >= 5 && m;
  }, 'the loop to have forked a few sleepers');
  for (const pid of before) track(pid);
  assert.ok(before.includes(loop));

  const killedAt = Date.now();
  process.kill(g.gatewayPid, 'SIGKILL');
  await waitNoMarked(g.hostFp, 20_000);
  t.diagnostic(`gateway SIGKILL → worker, fork loops and sleepers (${before.length} in the group when it was killed) gone in ${Date.now() - killedAt} ms`);
  await waitAllExited([worker, loop, ...before]);
  assert.deepEqual(groupMembers(worker), [], 'the worker\'s group is empty');
  // Nothing forked late survived either (the loop's children carry the host's marker).
  assert.deepEqual(pidsWithMarker(g.hostFp), []);
  g.host.kill('SIGKILL');
});

test('a /run double fork that left the worker\'s group and tree (setsid) still goes when its session closes: it carries the worker\'s marker', { skip: process.platform !== 'linux' && 'markers are read from /proc' }, async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  const escapee = Number(/bg=(\d+)/.exec(await exec(g, s, '/run setsid sleep 1000 >/dev/null 2>&1 & echo bg=$!'))?.[1]);
  assert.ok(escapee > 1, 'the escapee\'s pid');
  track(escapee, true);
  const [worker] = g.workerPids();
  await waitFor(() => isAlive(escapee) && !groupMembers(worker)?.includes(escapee), 'the escapee to run outside the worker\'s group');
  const closed = await g.rpc.request<{ closed: boolean }>('session.close', { sessionId: s });
  assert.equal(closed.closed, true);
  await waitFor(() => !isAlive(escapee), `the escapee ${escapee} to be gone`, 10_000);
  assert.equal(isAlive(worker), false);
  g.host.kill('SIGKILL');
  await waitNoMarked(g.hostFp);
});
