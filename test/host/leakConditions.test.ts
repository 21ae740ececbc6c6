// The leak-alert conditions on plain data: each condition, once per condition, re-armed after it
// clears, unknown observations changing nothing, muted conditions never notifying.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AT_CAP_DIP_MS, AT_CAP_FOR_MS, LeakCondition, LeakConditions, RESTARTS_MAX, RESTARTS_WINDOW_MS } from '../../src/host/leakConditions';

const MB = 1024 * 1024;
const conditions = (opts: { limitMB?: number; muted?: LeakCondition[] } = {}) =>
  new LeakConditions({ totalMemoryBytes: () => (opts.limitMB ?? 4096) * MB, muted: () => new Set(opts.muted ?? []) });
const kinds = (alerts: { condition: string }[]) => alerts.map((a) => a.condition);

test('orphans: a new orphan warns once naming its pid; the same one again does not; one that appears later while the first stays does', () => {
  const c = conditions();
  const first = c.evaluate({ now: 0, orphans: [{ pid: 10, startTime: 1 }] });
  assert.deepEqual(kinds(first.fresh), ['orphans']);
  assert.deepEqual(first.fresh[0].pids, [10]);
  assert.match(first.fresh[0].message, /^1 orphaned process whose owner is gone \(pid 10\)\.$/);
  assert.deepEqual(kinds(first.active), ['orphans']);
  assert.deepEqual(c.evaluate({ now: 1, orphans: [{ pid: 10, startTime: 1 }] }).fresh, [], 'not again while it stays');
  const later = c.evaluate({ now: 2, orphans: [{ pid: 10, startTime: 1 }, { pid: 11, startTime: 5 }] });
  assert.deepEqual(later.fresh[0].pids, [11], 'only the new one');
  assert.match(later.fresh[0].message, /\(pid 11\) \(2 orphaned in all\)/);
  assert.deepEqual(c.active()[0].pids, [10, 11], 'the tooltip names both');
});

test('orphans: cleared then back re-arms; a reused pid (another start time) is a new orphan; unknown (no scan) changes nothing', () => {
  const c = conditions();
  c.evaluate({ now: 0, orphans: [{ pid: 10, startTime: 1 }] });
  assert.deepEqual(c.evaluate({ now: 1 }).active.map((a) => a.condition), ['orphans'], 'a failed scan keeps the condition');
  const cleared = c.evaluate({ now: 2, orphans: [] });
  assert.deepEqual(cleared.active, []);
  assert.deepEqual(cleared.fresh, []);
  assert.deepEqual(kinds(c.evaluate({ now: 3, orphans: [{ pid: 10, startTime: 1 }] }).fresh), ['orphans'], 'back after clearing: news again');
  assert.deepEqual(kinds(c.evaluate({ now: 4, orphans: [{ pid: 10, startTime: 2 }] }).fresh), ['orphans'], 'same pid, other process');
});

test('orphans announced at start-up are not news to the periodic check; many pids are named up to five', () => {
  const c = conditions();
  c.markOrphansReported([{ pid: 1, startTime: 1 }, { pid: 2, startTime: 2 }]);
  const e = c.evaluate({ now: 0, orphans: [{ pid: 1, startTime: 1 }, { pid: 2, startTime: 2 }] });
  assert.deepEqual(e.fresh, []);
  assert.deepEqual(kinds(e.active), ['orphans'], 'it still holds (the status bar says so)');
  const many = Array.from({ length: 8 }, (_, i) => ({ pid: 100 + i, startTime: 1 }));
  const m = conditions().evaluate({ now: 0, orphans: many });
  assert.match(m.fresh[0].message, /^8 orphaned processes whose owner is gone \(pid 100, 101, 102, 103, 104 and 3 more\)\.$/);
});

test('memory: above the threshold warns once; well below (under 90 %) clears and re-arms; the threshold is read at each evaluation; unknown changes nothing', () => {
  let limitMB = 100;
  const c = new LeakConditions({ totalMemoryBytes: () => limitMB * MB });
  assert.deepEqual(c.evaluate({ now: 0, totalMemoryBytes: 100 * MB }).fresh, [], 'at the threshold is not above it');
  const over = c.evaluate({ now: 1, totalMemoryBytes: 150 * MB });
  assert.deepEqual(kinds(over.fresh), ['memory']);
  assert.match(over.fresh[0].message, /use 150 MB, above gatewayWarden\.alerts\.totalMemoryMB \(100 MB\)/);
  assert.deepEqual(c.evaluate({ now: 2, totalMemoryBytes: 200 * MB }).fresh, [], 'once');
  assert.match(c.active()[0].message, /200 MB/, 'the tooltip has the latest figure');
  assert.deepEqual(kinds(c.evaluate({ now: 3 }).active), ['memory'], 'unknown keeps it');
  // Hovering at the line: it holds until it is clearly below, so it does not warn at every sample.
  const hover = c.evaluate({ now: 3.5, totalMemoryBytes: 95 * MB });
  assert.deepEqual([kinds(hover.active), hover.fresh], [['memory'], []]);
  assert.match(hover.active[0].message, /use 95 MB, just under, after going above, gatewayWarden\.alerts\.totalMemoryMB \(100 MB\)/);
  assert.deepEqual(c.evaluate({ now: 3.6, totalMemoryBytes: 101 * MB }).fresh, [], 'back above: still the same condition');
  assert.deepEqual(c.evaluate({ now: 4, totalMemoryBytes: 90 * MB }).active, [], 'at 90 % it clears');
  assert.deepEqual(kinds(c.evaluate({ now: 5, totalMemoryBytes: 150 * MB }).fresh), ['memory'], 're-armed');
  limitMB = 1000;
  assert.deepEqual(c.evaluate({ now: 6, totalMemoryBytes: 150 * MB }).active, [], 'a raised threshold clears it');
});

test('workers at the cap: only after a minute at the cap; below the cap (past a short dip) resets the clock; no cap known is never at it', () => {
  const c = conditions();
  const t0 = 1_000_000;
  assert.deepEqual(c.evaluate({ now: t0, workers: { live: 4, max: 4 } }).active, [], 'just reached');
  assert.deepEqual(c.evaluate({ now: t0 + AT_CAP_FOR_MS - 1, workers: { live: 4, max: 4 } }).active, []);
  const full = c.evaluate({ now: t0 + AT_CAP_FOR_MS, workers: { live: 4, max: 4 } });
  assert.deepEqual(kinds(full.fresh), ['workersAtCap']);
  assert.match(full.fresh[0].message, /^4 of 4 workers have been alive for 1 min \(gatewayWarden\.limits\.maxWorkers\)/);
  assert.deepEqual(c.evaluate({ now: t0 + 5 * AT_CAP_FOR_MS, workers: { live: 4, max: 4 } }).fresh, [], 'once');
  assert.deepEqual(kinds(c.evaluate({ now: t0 + 6 * AT_CAP_FOR_MS }).active), ['workersAtCap'], 'unknown keeps it');
  c.evaluate({ now: t0 + 6 * AT_CAP_FOR_MS + 1, workers: { live: 3, max: 4 } });
  assert.deepEqual(c.evaluate({ now: t0 + 6 * AT_CAP_FOR_MS + 1 + AT_CAP_DIP_MS, workers: { live: 3, max: 4 } }).active, [], 'below the cap (for 5 s) clears');
  // Back at the cap: the minute starts again, then it warns again.
  const t1 = t0 + 10 * AT_CAP_FOR_MS;
  assert.deepEqual(c.evaluate({ now: t1, workers: { live: 4, max: 4 } }).fresh, []);
  assert.deepEqual(kinds(c.evaluate({ now: t1 + AT_CAP_FOR_MS, workers: { live: 5, max: 4 } }).fresh), ['workersAtCap']);
  assert.deepEqual(conditions().evaluate({ now: 0, workers: { live: 99 } }).active, [], 'no cap known');
});

test('workers at the cap under churn: an evicted worker\'s exit before its replacement starts (a dip under 5 s) neither restarts the minute nor re-warns', () => {
  const c = conditions();
  const t0 = 5_000_000;
  c.evaluate({ now: t0, workers: { live: 2, max: 2 } });
  c.evaluate({ now: t0 + 30_000, workers: { live: 1, max: 2 } }); // evicted one exited
  c.evaluate({ now: t0 + 30_100, workers: { live: 2, max: 2 } }); // its replacement started
  assert.deepEqual(kinds(c.evaluate({ now: t0 + AT_CAP_FOR_MS, workers: { live: 2, max: 2 } }).fresh), ['workersAtCap'], 'a minute since it first reached the cap');
  const dip = c.evaluate({ now: t0 + 90_000, workers: { live: 1, max: 2 } });
  assert.deepEqual([kinds(dip.active), dip.fresh], [['workersAtCap'], []], 'holds through the dip');
  assert.deepEqual(c.evaluate({ now: t0 + 90_000 + AT_CAP_DIP_MS - 1, workers: { live: 2, max: 2 } }).fresh, [], 'back: the same condition, no second warning');
  c.evaluate({ now: t0 + 100_000, workers: { live: 1, max: 2 } });
  assert.equal(c.workersRecheckAt(), t0 + 100_000 + AT_CAP_DIP_MS, 'look again when the dip would end');
  assert.deepEqual(c.evaluate({ now: t0 + 100_000 + AT_CAP_DIP_MS, workers: { live: 1, max: 2 } }).active, [], 'below for 5 s: cleared');
  assert.equal(c.workersRecheckAt(), undefined, 'nothing pending');
  c.evaluate({ now: t0 + 200_000, workers: { live: 2, max: 2 } });
  assert.equal(c.workersRecheckAt(), t0 + 200_000 + AT_CAP_FOR_MS, 'look again when the minute at the cap runs out');
  c.evaluate({ now: t0 + 200_000 + AT_CAP_FOR_MS, workers: { live: 2, max: 2 } });
  assert.equal(c.workersRecheckAt(), undefined, 'holding: nothing to wait for');
});

test('conditions are independent, and a muted one holds (status bar) but never notifies', () => {
  const c = conditions({ limitMB: 100, muted: ['memory'] });
  const e = c.evaluate({ now: 0, orphans: [{ pid: 7 }], totalMemoryBytes: 500 * MB, workers: { live: 1, max: 4 } });
  assert.deepEqual(kinds(e.fresh), ['orphans']);
  assert.deepEqual(kinds(e.active), ['orphans', 'memory']);
  assert.deepEqual(kinds(c.evaluate({ now: 1, orphans: [] }).active), ['memory'], 'clearing orphans leaves memory');
});

test('memory restarts: a session\'s worker restarted more than 3 times in 10 minutes warns once, naming the session and the setting; it clears as they age out and re-arms', () => {
  const c = conditions();
  const t0 = 1_000_000;
  const restart = (at: number, sessionId = 's1') => c.recordRestart({ sessionId, at, label: 'build', limitBytes: 512 * MB });
  for (let i = 0; i < RESTARTS_MAX; i++) restart(t0 + i * 60_000);
  assert.deepEqual(c.evaluate({ now: t0 + 3 * 60_000 }).active, [], '3 times is not more than 3');
  restart(t0 + 4 * 60_000);
  const e = c.evaluate({ now: t0 + 4 * 60_000 });
  assert.deepEqual(kinds(e.fresh), ['memoryRestarts']);
  assert.match(e.fresh[0].message, /session "build" was restarted 4 times in 4 min for using more memory than gatewayWarden\.limits\.workerMemoryMB \(512 MB\)/);
  restart(t0 + 5 * 60_000);
  const again = c.evaluate({ now: t0 + 5 * 60_000 });
  assert.deepEqual([again.fresh, kinds(again.active)], [[], ['memoryRestarts']], 'once while it holds');
  assert.match(c.active()[0].message, /5 times/, 'the tooltip has the latest count');
  // The first two age out of the window: 3 left, it clears.
  assert.deepEqual(c.evaluate({ now: t0 + RESTARTS_WINDOW_MS + 60_000 + 1 }).active, []);
  // 4, 5 min and two more now: 4 in the window again.
  restart(t0 + RESTARTS_WINDOW_MS + 2 * 60_000);
  restart(t0 + RESTARTS_WINDOW_MS + 2 * 60_000 + 1);
  assert.deepEqual(kinds(c.evaluate({ now: t0 + RESTARTS_WINDOW_MS + 2 * 60_000 + 1 }).fresh), ['memoryRestarts'], 'back: news again');
});

test('memory restarts: counted per session (4 sessions restarted once each is no condition); muted never notifies but holds; the history is bounded', () => {
  const c = conditions({ muted: ['memoryRestarts'] });
  for (const s of ['a', 'b', 'c', 'd']) c.recordRestart({ sessionId: s, at: 10 });
  assert.deepEqual(c.evaluate({ now: 20 }).active, []);
  for (let i = 0; i < 4; i++) c.recordRestart({ sessionId: 'a', at: 30 + i });
  const e = c.evaluate({ now: 40 });
  assert.deepEqual([e.fresh, kinds(e.active)], [[], ['memoryRestarts']]);
  assert.match(e.active[0].message, /session a was restarted 5 times/, 'no label: the id; no limit: not named');
  const many = conditions();
  for (let i = 0; i < 1000; i++) many.recordRestart({ sessionId: `s${i}`, at: i });
  for (let i = 0; i < 1000; i++) many.recordRestart({ sessionId: 'x', at: 1000 + i });
  assert.match(many.evaluate({ now: 2000 }).active[0].message, /restarted 64 times/, 'at most 64 kept per session');
});
