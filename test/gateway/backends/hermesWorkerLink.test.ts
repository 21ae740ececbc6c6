// A hermes worker found before its session was known to us (hermes listed the session later, or
// two sessions shared its key until one closed) is announced again once it has a session: the
// view (worker.started with a session) would never show it there otherwise.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { HermesWorkerTracker, WorkerScan } from '../../../src/gateway/backends/hermesWorkers';

test('a worker first found with no session is announced again, once, when its key names a live session', () => {
  const events: { type: string; payload: Record<string, unknown> }[] = [];
  const tracker = new HermesWorkerTracker({
    host: { emit: (type, payload) => events.push({ type, payload }), log: () => undefined },
    staleWorkerGraceMs: 0,
    staleCheckIntervalMs: 1000,
    sessionLive: () => true,
  });
  // Records only: a pid above any this machine hands out, never signalled (no look is asked).
  const scan: WorkerScan = { complete: true, rows: [{ pid: 4_100_501, startTime: 7, pgid: 4_100_501, sessionKey: 'k1', argv: ['python', '-m', 'tui_gateway.slash_worker'] }] };
  const started = () => events.filter((e) => e.type === 'worker.started').map((e) => e.payload.sessionId);
  tracker.update(1, () => null, 'not-asked', 1_000, scan);
  assert.deepEqual(started(), [null], 'found before its session');
  tracker.update(1, () => null, 'not-asked', 2_000, scan);
  assert.deepEqual(started(), [null], 'nothing new');
  tracker.update(1, () => 's1', 'not-asked', 3_000, scan);
  assert.deepEqual(started(), [null, 's1'], 'announced with its session');
  assert.equal(tracker.workerOf('s1')?.pid, 4_100_501);
  tracker.update(1, () => 's1', 'not-asked', 4_000, scan);
  assert.deepEqual(started(), [null, 's1'], 'once');
});
