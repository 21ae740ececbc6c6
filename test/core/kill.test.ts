import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fingerprintOf } from '../../src/core/fingerprint';
import { groupSnapshot, killGroup, killGroupSync, ownProcessGroup, safeKill } from '../../src/core/kill';
import { isAlive, killTracked, spawnTracked, waitFor } from '../support/processes';
import { orphanedStubbornGroup, politeGroup } from '../support/groups';

after(killTracked);
const posix = process.platform !== 'win32';
const isRoot = process.getuid?.() === 0;

async function sleeper(opts: { uid?: number; gid?: number } = {}) {
  const child = spawnTracked('sleep', ['1000'], { stdio: 'ignore', ...opts });
  const fp = await waitFor(() => fingerprintOf(child.pid!), 'the sleeper to start');
  return { child, fp };
}

// ---- safeKill -------------------------------------------------------------------------------

test('safeKill refuses a stale fingerprint while an innocent process holds the pid', async () => {
  const { child, fp } = await sleeper();
  // The recorded process started one tick earlier: the kernel has since given its pid away.
  const r = safeKill({ ...fp, startTime: fp.startTime - 1 }, 'SIGKILL');
  assert.equal(r.sent, false);
  assert.equal(r.reason, 'reused');
  assert.match(r.message, /another process/);
  const otherBoot = safeKill({ ...fp, bootId: 'another-boot' }, 'SIGKILL');
  assert.equal(otherBoot.reason, 'reused');
  assert.ok(isAlive(child.pid!), 'the innocent process is alive');
});

test('safeKill refuses pid 1 and this process', () => {
  const init = safeKill({ pid: 1, startTime: fingerprintOf(1)?.startTime ?? 0, bootId: fingerprintOf(1)?.bootId ?? '' }, 0);
  assert.equal(init.reason, 'protected');
  const self = safeKill(fingerprintOf(process.pid)!, 'SIGTERM');
  assert.equal(self.sent, false);
  assert.equal(self.reason, 'protected');
});

test('safeKill refuses another user\'s process', { skip: !isRoot && 'needs root to start a process as uid 65534' }, async () => {
  const { child, fp } = await sleeper({ uid: 65534, gid: 65534 });
  const r = safeKill(fp, 'SIGKILL');
  assert.equal(r.sent, false);
  assert.equal(r.reason, 'other-user');
  assert.match(r.message, /uid 65534/);
  assert.ok(isAlive(child.pid!));
});

test('safeKill reports a process that has exited as gone', async () => {
  const { child, fp } = await sleeper();
  child.kill('SIGKILL');
  await once(child, 'exit');
  const r = safeKill(fp, 'SIGTERM');
  assert.deepEqual([r.sent, r.reason], [false, 'gone']);
});

test('safeKill sends when the fingerprint matches', async () => {
  const { child, fp } = await sleeper();
  const exited = once(child, 'exit');
  const r = safeKill(fp, 'SIGTERM');
  assert.equal(r.sent, true, r.message);
  const [, signal] = await exited;
  assert.equal(signal, 'SIGTERM');
});

test('safeKill turns bad input into a refusal instead of throwing', async () => {
  const { child, fp } = await sleeper();
  assert.equal(safeKill({ pid: -3 } as never, 'SIGTERM').reason, 'error');
  assert.equal(safeKill(null as never, 'SIGTERM').reason, 'error');
  const badSignal = safeKill(fp, 'SIGNOPE' as NodeJS.Signals);
  assert.equal(badSignal.reason, 'error');
  assert.match(badSignal.message, /SIGNOPE/);
  assert.ok(isAlive(child.pid!));
});

// ---- killGroup -------------------------------------------------------------------------------

test('killGroup escalates on the group after its leader exited: SIGTERM- and SIGHUP-ignoring member dies', { skip: !posix }, async () => {
  const g = await orphanedStubbornGroup();
  const r = await killGroup(g.pgid, { graceMs: 200 });
  assert.equal(r.refused, undefined);
  assert.equal(r.signals[0].signal, 'SIGTERM');
  assert.ok(r.signals[0].members.includes(g.members[0]), 'SIGTERM step lists the member');
  assert.ok(r.signals.slice(1).some((s) => s.signal === 'SIGKILL'), `escalated to SIGKILL: ${JSON.stringify(r.signals)}`);
  assert.deepEqual(r.survivors, []);
  assert.equal(isAlive(g.members[0]), false);
  assert.equal(groupSnapshot(g.pgid).alive, false);
});

test('killGroupSync does the same without yielding to the event loop', { skip: !posix }, async () => {
  const g = await orphanedStubbornGroup();
  const r = killGroupSync(g.pgid, { graceMs: 200 });
  assert.deepEqual(r.signals.map((s) => s.signal).slice(0, 2), ['SIGTERM', 'SIGKILL']);
  assert.deepEqual(r.survivors, []);
  assert.equal(groupSnapshot(g.pgid).alive, false);
});

test('killGroup empties a group whose SIGTERM-ignoring member keeps forking', { skip: !posix }, async () => {
  const leader = spawnTracked('sh', ['-c', 'trap "" TERM HUP; while :; do sleep 1000 & sleep 0.02; done'], { detached: true, stdio: 'ignore' });
  const pgid = leader.pid!;
  await waitFor(() => groupSnapshot(pgid).members.length >= 5, 'a few forked sleepers');
  const r = await killGroup(pgid, { graceMs: 200 });
  assert.equal(r.refused, undefined);
  assert.ok(r.signals.some((s) => s.signal === 'SIGKILL'));
  assert.deepEqual(r.survivors, []);
  assert.equal(groupSnapshot(pgid).alive, false);
});

test('killGroupSync with firstSignal SIGKILL and no grace (the exit path) empties a stubborn group', { skip: !posix }, async () => {
  const g = await orphanedStubbornGroup();
  const r = killGroupSync(g.pgid, { firstSignal: 'SIGKILL', graceMs: 0, timeoutMs: 1000 });
  assert.equal(r.signals[0].signal, 'SIGKILL');
  assert.ok(r.signals.every((s) => s.signal === 'SIGKILL'));
  assert.deepEqual(r.survivors, []);
  assert.equal(isAlive(g.members[0]), false);
});

test('killGroup takes a well-behaved group down with SIGTERM alone', { skip: !posix }, async () => {
  const g = await politeGroup(2);
  const r = await killGroup(g.pgid, { graceMs: 5000 });
  assert.deepEqual(r.signals.map((s) => s.signal), ['SIGTERM']);
  assert.deepEqual([...r.signals[0].members].sort(), [...g.members].sort());
  assert.deepEqual(r.survivors, []);
  for (const pid of g.members) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
});

test('killGroupSync takes a well-behaved group down with SIGTERM alone', { skip: !posix }, async () => {
  const g = await politeGroup(2);
  const r = killGroupSync(g.pgid, { graceMs: 5000 });
  assert.deepEqual(r.signals.map((s) => s.signal), ['SIGTERM']);
  assert.deepEqual(r.survivors, []);
});

test('killGroup refuses when the leader pid now has another fingerprint, and sends nothing', { skip: !posix }, async () => {
  const g = await politeGroup(1);
  const real = fingerprintOf(g.pgid)!;
  const r = await killGroup(g.pgid, { leader: { ...real, startTime: real.startTime + 1 } });
  assert.match(r.refused ?? '', /another process/);
  assert.deepEqual(r.signals, []);
  for (const pid of g.members) assert.ok(isAlive(pid), `pid ${pid} untouched`);
  const rs = killGroupSync(g.pgid, { leader: { ...real, startTime: real.startTime + 1 } });
  assert.match(rs.refused ?? '', /another process/);
  for (const pid of g.members) assert.ok(isAlive(pid), `pid ${pid} untouched by the sync variant`);
  // The true leader fingerprint is accepted.
  const ok = await killGroup(g.pgid, { leader: real });
  assert.equal(ok.refused, undefined);
  assert.deepEqual(ok.survivors, []);
});

test('killGroup refuses a group with another user\'s members', { skip: !isRoot && 'needs root to start a process as uid 65534' }, async () => {
  const g = await orphanedStubbornGroup({ uid: 65534, gid: 65534 });
  const r = await killGroup(g.pgid, { graceMs: 100 });
  assert.match(r.refused ?? '', /another user/);
  assert.deepEqual(r.signals, []);
  assert.ok(isAlive(g.members[0]));
});

test('killGroup refuses pgid <= 1, garbage and our own group', { skip: !posix }, async () => {
  for (const bad of [1, 0, -4, NaN, 2.5]) {
    const r = await killGroup(bad);
    assert.ok(r.refused, `pgid ${bad} refused`);
    assert.deepEqual(r.signals, []);
  }
  const own = ownProcessGroup();
  assert.ok(own && own > 1, 'own group is known');
  const r = killGroupSync(own, { graceMs: 0 });
  assert.match(r.refused ?? '', /own group/);
  assert.deepEqual(r.signals, []);
  assert.match((await killGroup(12345, { graceMs: -1 })).refused ?? '', /graceMs/);
});

test('killGroup on an empty group sends nothing and reports no survivors', { skip: !posix }, async () => {
  const g = await politeGroup(1);
  process.kill(-g.pgid, 'SIGKILL');
  await waitFor(() => !groupSnapshot(g.pgid).alive, 'the group to empty');
  const r = await killGroup(g.pgid);
  assert.deepEqual(r.signals, []);
  assert.deepEqual(r.survivors, []);
});
