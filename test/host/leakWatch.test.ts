// The periodic leak check's scheduling: off at 0, one check at a time (skipped, not stacked), a
// scan that misses its deadline leaves orphans unknown, failures are logged and never thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeakConditions, LeakEvaluation, OrphanKey } from '../../src/host/leakConditions';
import { LeakWatch, LeakWatchOptions } from '../../src/host/leakWatch';
import { memoryLog } from './fakeGatewaySpec';

/** Lets pending promise callbacks run (setImmediate is left real when timers are faked). */
const settle = () => new Promise((r) => setImmediate(r));

function watch(over: Partial<LeakWatchOptions> = {}) {
  const log = memoryLog();
  const evaluated: LeakEvaluation[] = [];
  const conditions = new LeakConditions({ totalMemoryBytes: () => 1000 });
  const w = new LeakWatch({
    conditions,
    intervalMs: () => 0,
    scanOrphans: async () => [],
    totalMemoryBytes: () => 0,
    workers: () => ({ live: 0, max: 4 }),
    onEvaluated: (e) => evaluated.push(e),
    log,
    ...over,
  });
  return { w, log, evaluated, conditions };
}

test('interval 0: nothing is scheduled; a positive interval schedules, and a change reschedules', () => {
  let ms = 0;
  const { w } = watch({ intervalMs: () => ms });
  w.reschedule();
  assert.equal(w.scheduled, false);
  ms = 60_000;
  w.reschedule();
  assert.equal(w.scheduled, true);
  ms = 0;
  w.reschedule();
  assert.equal(w.scheduled, false, 'turned off again');
  w.dispose();
});

test('a check runs on the interval and reports what it found', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  let scans = 0;
  const { w, evaluated } = watch({
    intervalMs: () => 30,
    scanOrphans: async () => (++scans >= 2 ? [{ pid: 5, startTime: 1 }] : []),
    totalMemoryBytes: () => 2000,
  });
  w.reschedule();
  t.mock.timers.tick(29);
  await settle();
  assert.equal(scans, 0, 'nothing before the interval');
  t.mock.timers.tick(1);
  await settle();
  assert.equal(scans, 1);
  assert.ok(evaluated.some((e) => e.fresh.some((a) => a.condition === 'memory')), 'memory above 1000 bytes warned');
  assert.ok(!evaluated.some((e) => e.fresh.some((a) => a.condition === 'orphans')), 'no orphan yet');
  t.mock.timers.tick(30);
  await settle();
  assert.equal(scans, 2);
  assert.ok(evaluated.some((e) => e.fresh.some((a) => a.condition === 'orphans')), 'the orphan alert from the second scheduled check');
  w.dispose();
});

test('a check still running when the next is due is skipped, not stacked: one scan at a time', async () => {
  let running = 0;
  let maxRunning = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { w } = watch({
    scanOrphans: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gate;
      running--;
      return [] as OrphanKey[];
    },
    scanDeadlineMs: 10_000,
  });
  const first = w.check();
  assert.equal(await w.check(), undefined, 'skipped');
  assert.equal(await w.check(), undefined, 'skipped');
  assert.equal(w.skipped, 2);
  release();
  assert.ok(await first, 'the first check finished');
  assert.ok(await w.check(), 'the next one runs once the first is done');
  assert.equal(maxRunning, 1);
  w.dispose();
});

test('a scan past its deadline: the check goes on without orphans (unknown, logged), and the late scan still holds the slot until it ends', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let scans = 0;
  const { w, log, conditions } = watch({
    scanOrphans: async () => {
      scans++;
      await gate;
      return [{ pid: 9, startTime: 1 }];
    },
    scanDeadlineMs: 50,
  });
  conditions.evaluate({ now: 0, orphans: [{ pid: 3, startTime: 1 }] });
  const checking = w.check();
  t.mock.timers.tick(49);
  await settle();
  assert.ok(!log.lines.some((l) => /longer than/.test(l)), 'not before its deadline');
  t.mock.timers.tick(1);
  const e = await checking;
  assert.ok(e);
  assert.deepEqual(e.active.map((a) => a.pids), [[3]], 'orphans unchanged (unknown), not cleared');
  assert.ok(log.lines.some((l) => /orphan scan took longer than 50 ms/.test(l)), log.lines.join('\n'));
  assert.equal(await w.check(), undefined, 'the late scan still runs: no second one on top');
  assert.equal(scans, 1);
  release();
  await settle();
  assert.ok(await w.check(), 'a check runs again once the late scan ended');
  assert.equal(scans, 2);
  w.dispose();
});

test('a failing scan or sampler is logged; the check still evaluates what it has and never rejects', async () => {
  const { w, log, evaluated } = watch({
    scanOrphans: async () => {
      throw new Error('EMFILE');
    },
    totalMemoryBytes: () => {
      throw new Error('no /proc');
    },
    workers: () => ({ live: 4, max: 4 }),
    onEvaluated: () => {
      throw new Error('toast failed');
    },
  });
  const e = await w.check();
  assert.ok(e);
  assert.equal(evaluated.length, 0);
  const text = log.lines.join('\n');
  assert.match(text, /orphan scan failed: EMFILE/);
  assert.match(text, /memory: no \/proc/);
  assert.match(text, /leak check: toast failed/);
  assert.ok(await w.check(), 'the slot was released');
  w.dispose();
  assert.equal(await w.check(), undefined, 'disposed: no check');
});
