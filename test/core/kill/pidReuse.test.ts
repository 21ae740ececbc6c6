// "Never signal a reused pid", with the reuse real: the kernel is made to hand a recorded
// leader's pid to a stranger that leads a group of its own (ns_last_pid; skipped without the
// privilege). The engine, given the recorded leader as a group or as a tree root, async or
// blocking, must refuse and leave the stranger running.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Fingerprint, fingerprintOf, isSameProcess } from '../../../src/core/fingerprint';
import { describeProblems, groupMembers, processGroup, processTree, teardown, teardownSync } from '../../../src/core/kill';
import { refusal } from '../../../src/core/kill/safety';
import { isAlive, killTracked, readLineMatching, spawnTracked, track, waitFor, waitForExit } from '../../support/processes';
import { pidReuseUnavailable, spawnOnPid } from '../../support/pidReuse';

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

test('a reused leader pid: teardown and teardownSync refuse it as a group leader and as a tree root; so does the safety check', { skip: noReuse }, async () => {
  const { recorded, stranger } = await reusedLeader();
  const pgid = recorded.pid;
  const opts = { graceMs: 50, timeoutMs: 500 };

  const a = await teardown([processGroup(pgid, recorded)], opts);
  assert.match(a.refusals.map((x) => x.message).join('\n'), /another process/);
  assert.deepEqual(a.signals, []);
  const b = teardownSync([processGroup(pgid, recorded)], { ...opts, firstSignal: 'SIGKILL' });
  assert.match(b.refusals.map((x) => x.message).join('\n'), /another process/);
  assert.deepEqual(b.signals, []);
  const e = await teardown([processTree(recorded)], opts);
  assert.equal(e.processes[0].outcome, 'already-gone');
  assert.deepEqual(e.processes[0].signals, []);
  assert.equal(refusal({ kind: 'process', fp: recorded }, { protectedPids: new Set(), uid: process.getuid?.() })?.reason, 'reused');

  assert.ok(isSameProcess(stranger), 'the stranger holding the pid was never signalled');
});

test('a recorded leader\'s pgid taken by a stranger\'s group whose own leader then exited: the stranger\'s member is never signalled (it carries no owner marker of ours)', { skip: noReuse }, async () => {
  const marker = 'gw-test-pid-reuse-owner';
  let found: { recorded: Fingerprint; member: number } | undefined;
  for (let attempt = 0; attempt < 20 && !found; attempt++) {
    const old = spawnTracked('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    const recorded = await waitFor(() => fingerprintOf(old.pid!), 'the recorded leader to start');
    old.kill('SIGKILL');
    await waitForExit(recorded.pid);
    // The stranger: a shell on that pid leading its own group, leaving a sleeper in it as it exits.
    const s = await spawnOnPid(recorded.pid, 'sh', ['-c', 'sleep 1000 & echo $!'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    if (!s) continue;
    const member = await readLineMatching(s.stdout!, (l) => Number(l) || undefined);
    track(member);
    await waitForExit(recorded.pid);
    found = { recorded, member };
  }
  assert.ok(found, 'could not hand a recorded leader\'s pid to a stranger');
  const { recorded, member } = found;
  assert.ok(groupMembers(recorded.pid)?.includes(member), 'the stranger\'s member is in the group the recorded leader once led');
  const a = await teardown([processGroup(recorded.pid, recorded)], { graceMs: 50, timeoutMs: 500, ownerMarker: marker });
  assert.deepEqual(a.signals, []);
  assert.match(describeProblems(a) ?? '', /may be another's/);
  const b = teardownSync([processGroup(recorded.pid, recorded)], { firstSignal: 'SIGKILL', timeoutMs: 500, ownerMarker: marker });
  assert.deepEqual(b.signals, []);
  assert.ok(isAlive(member), 'the stranger\'s member was never signalled');
});
