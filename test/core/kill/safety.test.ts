// The one check before every signal, reason by reason, against real processes. 'unknown' for a
// process (a fingerprint that cannot be read: EMFILE) is in test/core/liveness.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fingerprintOf } from '../../../src/core/fingerprint';
import { ownProcessGroup } from '../../../src/core/kill';
import { Guard, refusal } from '../../../src/core/kill/safety';
import { isAlive, killTracked, spawnTracked, waitFor } from '../../support/processes';

after(killTracked);
const posix = process.platform !== 'win32';
const isRoot = process.getuid?.() === 0;
const guard: Guard = { protectedPids: new Set([process.ppid]), ownGroup: ownProcessGroup(), uid: process.getuid?.() };

async function sleeper(opts: { uid?: number; gid?: number; detached?: boolean } = {}) {
  const child = spawnTracked('sleep', ['1000'], { stdio: 'ignore', ...opts });
  const fp = await waitFor(() => fingerprintOf(child.pid!), 'the sleeper to start');
  return { child, fp };
}

test('a live process of ours with its recorded fingerprint may be signalled', async () => {
  const { fp } = await sleeper();
  assert.equal(refusal({ kind: 'process', fp }, guard), undefined);
});

test('gone: the recorded process has exited', async () => {
  const { child, fp } = await sleeper();
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.equal(refusal({ kind: 'process', fp }, guard)?.reason, 'gone');
});

test('reused: another start time or another boot while an innocent process holds the pid', async () => {
  const { child, fp } = await sleeper();
  const start = refusal({ kind: 'process', fp: { ...fp, startTime: fp.startTime - 1 } }, guard);
  assert.equal(start?.reason, 'reused');
  assert.match(start!.message, /another process/);
  assert.equal(refusal({ kind: 'process', fp: { ...fp, bootId: 'another-boot' } }, guard)?.reason, 'reused');
  assert.ok(isAlive(child.pid!));
});

test('protected: pid 1, this process and its ancestors (the guard\'s set)', () => {
  const init = fingerprintOf(1) ?? { pid: 1, startTime: 0, bootId: '' };
  assert.equal(refusal({ kind: 'process', fp: init }, guard)?.reason, 'protected');
  assert.equal(refusal({ kind: 'process', fp: fingerprintOf(process.pid)! }, guard)?.reason, 'protected');
  const parent = fingerprintOf(process.ppid);
  if (parent) assert.match(refusal({ kind: 'process', fp: parent }, guard)?.message ?? '', /ancestor/);
});

test('other-user: a process of another uid', { skip: !isRoot && 'needs root to start a process as uid 65534' }, async () => {
  const { child, fp } = await sleeper({ uid: 65534, gid: 65534 });
  const r = refusal({ kind: 'process', fp }, guard);
  assert.equal(r?.reason, 'other-user');
  assert.match(r!.message, /uid 65534/);
  assert.ok(isAlive(child.pid!));
});

test('error: input that is not a fingerprint or a group id is refused, never thrown', () => {
  assert.equal(refusal({ kind: 'process', fp: { pid: -3 } as never }, guard)?.reason, 'error');
  assert.equal(refusal({ kind: 'process', fp: null as never }, guard)?.reason, 'error');
  for (const pgid of [0, -4, NaN, 2.5]) assert.equal(refusal({ kind: 'group', pgid, members: [] }, guard)?.reason, 'error', `pgid ${pgid}`);
});

test('groups: init\'s group, our own group, and a group holding an ancestor are protected', { skip: !posix }, () => {
  assert.equal(refusal({ kind: 'group', pgid: 1, members: [] }, guard)?.reason, 'protected');
  const own = ownProcessGroup()!;
  assert.match(refusal({ kind: 'group', pgid: own, members: [] }, guard)?.message ?? '', /own group/);
  assert.equal(refusal({ kind: 'group', pgid: 99999, members: [process.ppid] }, guard)?.reason, 'protected');
});

test('groups: a reused leader is refused, an exited one is not; unlisted members are unknown', { skip: !posix }, async () => {
  const { child, fp } = await sleeper({ detached: true });
  const pgid = child.pid!;
  assert.equal(refusal({ kind: 'group', pgid, leader: fp, members: [pgid] }, guard), undefined);
  const reused = refusal({ kind: 'group', pgid, leader: { ...fp, startTime: fp.startTime + 1 }, members: [pgid] }, guard);
  assert.equal(reused?.reason, 'reused');
  assert.match(reused!.message, /another process/);
  assert.equal(refusal({ kind: 'group', pgid, leader: { ...fp, pid: pgid + 1 }, members: [] }, guard)?.reason, 'error', 'a leader that is not the group\'s');
  // Members that could not be listed: their owners cannot be checked, so nothing is sent.
  assert.equal(refusal({ kind: 'group', pgid, leader: fp, members: undefined }, guard)?.reason, 'unknown');
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.equal(refusal({ kind: 'group', pgid, leader: fp, members: [] }, guard), undefined, 'a dead leader: its live members may still be signalled');
});

test('groups: a member of another uid makes the whole group refused', { skip: !isRoot && 'needs root to start a process as uid 65534' }, async () => {
  const { child } = await sleeper({ uid: 65534, gid: 65534, detached: true });
  const r = refusal({ kind: 'group', pgid: child.pid!, members: [child.pid!] }, guard);
  assert.equal(r?.reason, 'other-user');
});
