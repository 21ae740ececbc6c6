// The Recently exited list on plain data with an explicit clock: bounded, expiring, newest first,
// one row per process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitedView, RECENTLY_EXITED_KEEP_MS, RECENTLY_EXITED_MAX, RecentlyExited } from '../../src/host/recentlyExited';

const exit = (pid: number, exitedAt: number, over: Partial<ExitedView> = {}): ExitedView => ({ kind: 'worker', pid, startTime: pid * 10, exitedAt, code: 0, signal: null, ...over });

test('bounded: the last 20 are kept, the oldest dropped first; newest first', () => {
  assert.equal(RECENTLY_EXITED_MAX, 20);
  const r = new RecentlyExited();
  for (let i = 1; i <= 25; i++) r.add(exit(i, 1000 + i));
  const l = r.list(2000);
  assert.equal(l.length, 20);
  assert.deepEqual(l.map((e) => e.pid), Array.from({ length: 20 }, (_, i) => 25 - i));
});

test('expiry: 10 minutes after the exit a row is gone; nextExpiry says when the oldest goes', () => {
  assert.equal(RECENTLY_EXITED_KEEP_MS, 10 * 60_000);
  const r = new RecentlyExited();
  const t0 = 1_700_000_000_000;
  r.add(exit(1, t0));
  r.add(exit(2, t0 + 60_000));
  assert.equal(r.nextExpiry(t0), t0 + RECENTLY_EXITED_KEEP_MS);
  assert.deepEqual(r.list(t0 + RECENTLY_EXITED_KEEP_MS - 1).map((e) => e.pid), [2, 1]);
  assert.deepEqual(r.list(t0 + RECENTLY_EXITED_KEEP_MS).map((e) => e.pid), [2], 'the first expired');
  assert.equal(r.nextExpiry(t0 + RECENTLY_EXITED_KEEP_MS), t0 + 60_000 + RECENTLY_EXITED_KEEP_MS);
  assert.deepEqual(r.list(t0 + 60_000 + RECENTLY_EXITED_KEEP_MS), []);
  assert.equal(r.nextExpiry(t0 + 60_000 + RECENTLY_EXITED_KEEP_MS), undefined, 'empty');
});

test('one row per process: a second report of the same exit replaces the first (moves to newest); same pid, other start time is another process', () => {
  const r = new RecentlyExited(3, 1000);
  r.add(exit(1, 10, { code: null }));
  r.add(exit(2, 11));
  r.add(exit(1, 12, { signal: 'SIGKILL', code: null }));
  r.add(exit(1, 13, { startTime: 99 }));
  const l = r.list(20);
  assert.deepEqual(l.map((e) => [e.pid, e.startTime, e.signal]), [[1, 99, null], [1, 10, 'SIGKILL'], [2, 20, null]]);
  l[0].pid = 777;
  assert.equal(r.list(20)[0].pid, 1, 'the list is a copy');
});
