// "Never signal a reused pid", with the reuse real: the kernel is made to hand a recorded
// leader's pid to a stranger that leads a group of its own (ns_last_pid; skipped without the
// privilege). Every kill path that takes a recorded leader must refuse and leave it running.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Fingerprint, fingerprintOf, isSameProcess } from '../../src/core/fingerprint';
import { killGroup, killGroupSync, killTree, safeKill } from '../../src/core/kill';
import { sweepGroups, sweepGroupsSync } from '../../src/core/groupSweep';
import { killTracked, spawnTracked, waitFor, waitForExit } from '../support/processes';
import { pidReuseUnavailable, spawnOnPid } from '../support/pidReuse';

after(killTracked);
const noReuse = pidReuseUnavailable();

/**
 * A recorded group leader that has exited, its pid now leading a stranger's group. On a machine
 * busy starting processes another one may take the pid first: then it starts over with a new
 * leader (bounded).
 */
async function reusedLeader(): Promise<{ recorded: Fingerprint; stranger: Fingerprint }> {
  const taken: number[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    const old = spawnTracked('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    const recorded = await waitFor(() => fingerprintOf(old.pid!), 'the recorded leader to start');
    old.kill('SIGKILL');
    await waitForExit(recorded.pid);
    const s = await spawnOnPid(recorded.pid, 'sleep', ['1000'], { detached: true, stdio: 'ignore' });
    if (!s) {
      taken.push(recorded.pid);
      continue;
    }
    const stranger = await waitFor(() => fingerprintOf(recorded.pid), 'the stranger to start');
    if (stranger.startTime !== recorded.startTime) return { recorded, stranger };
    s.kill('SIGKILL'); // same clock tick: indistinguishable, which real reuse never is; again
    await waitForExit(recorded.pid);
  }
  assert.fail(`could not hand a recorded leader's pid to a stranger (taken by others first: ${taken.join(', ') || 'none'}; same clock tick every other time)`);
}

test('a reused leader pid: killGroup, killGroupSync, sweepGroups, sweepGroupsSync, killTree and safeKill all refuse', { skip: noReuse }, async () => {
  const { recorded, stranger } = await reusedLeader();
  const pgid = recorded.pid;
  const opts = { graceMs: 50, timeoutMs: 500, leader: recorded };

  const a = await killGroup(pgid, opts);
  assert.match(a.refused ?? '', /another process/);
  assert.deepEqual(a.signals, []);
  const b = killGroupSync(pgid, opts);
  assert.match(b.refused ?? '', /another process/);
  const c = await sweepGroups([{ pgid, leader: recorded }], opts);
  assert.match(c.refused.join('\n'), /another process/);
  const d = sweepGroupsSync([{ pgid, leader: recorded }], { ...opts, firstSignal: 'SIGKILL' });
  assert.match(d.refused.join('\n'), /another process/);
  const e = await killTree(recorded, opts);
  assert.equal(e.processes[0].outcome, 'already-gone');
  assert.deepEqual(e.processes[0].signals, []);
  assert.equal(safeKill(recorded, 'SIGKILL').reason, 'reused');

  assert.ok(isSameProcess(stranger), 'the stranger holding the pid was never signalled');
});
