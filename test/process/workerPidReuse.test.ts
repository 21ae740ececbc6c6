// A worker's exit takes down the /run children it recorded — but only while each still is the
// process it started: a child that exited long ago may have lent its pid to a stranger.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fingerprintOf, isSameProcess } from '../../src/core/fingerprint';
import { isAlive, killTracked, waitFor, waitForExit } from '../support/processes';
import { pidReuseUnavailable, spawnOnPid } from '../support/pidReuse';
import { createSession, exec, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';

after(killTracked);

const noReuse = pidReuseUnavailable();

test('closing a session spares an innocent process that reused the pid of an old /run child', { skip: noReuse }, async () => {
  const g = await startHostedGateway();
  try {
    const s = await createSession(g);
    // Each attempt: a /run shell that exits, then a stranger (not in the worker's tree or group)
    // on its pid. It must start in a later clock tick: within one tick (10 ms) the two are
    // indistinguishable, which real pid reuse (a full trip round the pid space) never achieves.
    // On a busy machine another process may take the pid first: then another /run.
    const { oldChild, innocent, fp } = await waitFor(async () => {
      // The shell prints its pid and its start time (stat field 22; comm "(sh)" has no spaces).
      const out = await exec(g, s, '/run echo $$ $(cut -d" " -f22 /proc/$$/stat)');
      const [oldChild, oldStart] = out.trim().split(' ').map(Number);
      assert.ok(Number.isSafeInteger(oldChild) && oldChild > 1 && oldStart > 0, `the /run shell's pid and start, got ${JSON.stringify(out)}`);
      await waitForExit(oldChild);
      const innocent = await spawnOnPid(oldChild, 'sleep', ['1000'], { stdio: 'ignore' });
      if (!innocent) return undefined;
      const now = fingerprintOf(oldChild);
      if (now && now.startTime !== oldStart) return { oldChild, innocent, fp: now };
      innocent.kill('SIGKILL');
      await waitForExit(oldChild);
      return undefined;
    }, 'an innocent process on the pid of an old /run shell, started in a later tick');

    const [worker] = g.workerPids();
    assert.deepEqual(await g.rpc.request('session.close', { sessionId: s }), { closed: true });
    await waitForExit(worker);
    if (!isSameProcess(fp)) {
      await waitFor(() => innocent.exitCode !== null || innocent.signalCode !== null, 'the exit status');
      assert.fail(`pid ${oldChild} (the innocent process) was ended by ${innocent.signalCode ?? `exit ${innocent.exitCode}`} during the worker's teardown`);
    }
    assert.ok(isAlive(oldChild));
  } finally {
    await stopHostedGateway(g);
  }
});
