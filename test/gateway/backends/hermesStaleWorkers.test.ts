import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { StaleWorkerRule, staleWorkersDue } from '../../../src/gateway/backends/hermesStaleWorkers';

const live = { pid: 100, startTime: 5000, sessionKey: 'k-live' };
const orphan = { pid: 200, startTime: 6000, sessionKey: 'k-gone' };

test('stale only after its key is absent on two consecutive checks', () => {
  const rule = new StaleWorkerRule();
  const keys = new Set(['k-live']);
  assert.deepEqual(rule.check([live, orphan], keys, 1_000), [], 'one absence is not enough (auto-compression)');
  assert.deepEqual(rule.check([live, orphan], keys, 3_000), [{ ...orphan, missingSince: 1_000, staleSince: 3_000 }]);
  assert.deepEqual(rule.check([live, orphan], keys, 5_000), [{ ...orphan, missingSince: 1_000, staleSince: 3_000 }], 'still stale, same times');
});

test('a key that comes back, a worker that exits, or a pid reused resets the count', () => {
  const rule = new StaleWorkerRule();
  assert.deepEqual(rule.check([orphan], new Set(), 1), []);
  assert.deepEqual(rule.check([orphan], new Set(['k-gone']), 2), [], 'the key is live again (compression finished)');
  assert.deepEqual(rule.check([orphan], new Set(), 3), [], 'counting starts over');
  assert.deepEqual(rule.check([], new Set(), 4), [], 'the worker exited');
  assert.deepEqual(rule.check([orphan], new Set(), 5), []);
  assert.deepEqual(rule.check([{ ...orphan, startTime: 9999 }], new Set(), 6), [], 'same pid, another process: a new suspect');
  assert.equal(rule.check([{ ...orphan, startTime: 9999 }], new Set(), 7).length, 1);
});

test('a check that could not be made confirms nothing', () => {
  const rule = new StaleWorkerRule();
  rule.check([orphan], new Set(), 1);
  rule.unknown(); // active_list failed
  assert.deepEqual(rule.check([orphan], new Set(), 3), [], 'absent, unknown, absent is not two in a row');
  assert.equal(rule.check([orphan], new Set(), 4).length, 1);
});

test('taken down only after the grace; grace 0 only reports', () => {
  const rule = new StaleWorkerRule();
  rule.check([orphan], new Set(), 0);
  const stale = rule.check([orphan], new Set(), 2_000);
  assert.deepEqual(staleWorkersDue(stale, 30_000, 31_999), []);
  assert.deepEqual(staleWorkersDue(stale, 30_000, 32_000).map((w) => w.pid), [200]);
  assert.deepEqual(staleWorkersDue(stale, 0, 1e12), []);
});
