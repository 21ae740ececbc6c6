// When the hermes poll asks for session.active_list: on a change in hermes' workers, while the
// stale rule waits on an answer, and otherwise once per IDLE_POLLS periods.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ActiveListSchedule, IDLE_POLLS } from '../../../src/gateway/backends/hermesActiveListSchedule';

const POLL = 1000;
const w = (pid: number, key = `k${pid}`, startTime = 100) => ({ pid, startTime, sessionKey: key });

test('the first poll asks; then only a change in the workers, a waiting stale rule or the idle period does', () => {
  const s = new ActiveListSchedule(POLL);
  assert.equal(s.due([w(1)], false, 0), true, 'nothing answered yet');
  s.answered([w(1), w(2)], 0);
  for (let t = POLL; t < (IDLE_POLLS - 1) * POLL; t += POLL) assert.equal(s.due([w(2), w(1)], false, t), false, `idle at ${t} ms (order does not matter)`);
  assert.equal(s.due([w(1), w(2)], false, IDLE_POLLS * POLL), true, 'once per idle period');
  assert.equal(s.due([w(1), w(2)], false, IDLE_POLLS * POLL - POLL / 4), true, 'a timer a little early does not skip a period');
  assert.equal(s.due([w(1)], false, POLL), true, 'a worker exited');
  assert.equal(s.due([w(1), w(2), w(3)], false, POLL), true, 'a worker started');
  assert.equal(s.due([w(1), w(2, 'k2', 200)], false, POLL), true, 'a pid reused by another worker');
  assert.equal(s.due([w(1), w(2, 'other')], false, POLL), true, 'a worker with another key (/model restart)');
  assert.equal(s.due([w(1), w(2)], true, POLL), true, 'the stale rule waits on an answer');
  s.answered([w(1)], 5 * POLL);
  assert.equal(s.due([w(1)], false, 6 * POLL), false, 'the period runs from the last answer');
});
