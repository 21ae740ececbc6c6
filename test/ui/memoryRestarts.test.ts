// The warning for a worker restarted at its memory ceiling: it names the setting and the figures,
// offers Open Settings and Show, one toast per session at a time, and ignores other events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEMORY_SETTING, memoryRestartMessage, MemoryRestartNotifier, RESTART_ACTIONS } from '../../src/ui/memoryRestarts';
import { memoryLog } from '../host/fakeGatewaySpec';
import { waitFor } from '../support/processes';
import { fakeWindow } from './fakeVscode';

const MB = 1024 * 1024;
const ev = (extra: Record<string, unknown> = {}) => ({
  type: 'worker.restarted', sessionId: 's1', pid: 42, reason: 'memory-limit', memoryBytes: 300 * MB, limitBytes: 256 * MB, setting: MEMORY_SETTING, ...extra,
});

test('the message names the session, the figures and the setting; other events and reasons are not memory restarts', () => {
  assert.equal(
    memoryRestartMessage(ev(), 'build'),
    'Gateway Warden: the worker of session "build" (pid 42) was restarted: its processes together used 300 MB, above gatewayWarden.limits.workerMemoryMB (256 MB). It and everything it started were stopped; the session stays and its next command starts a new worker.',
  );
  assert.match(memoryRestartMessage(ev({ memoryBytes: 'x', limitBytes: undefined, setting: 'rm -rf' }))!, /session s1 \(pid 42\) was restarted: its processes together used more, above gatewayWarden\.limits\.workerMemoryMB\. /);
  assert.equal(memoryRestartMessage({ ...ev(), type: 'worker.evicted' }), undefined);
  assert.equal(memoryRestartMessage(ev({ reason: 'other' })), undefined);
  assert.equal(memoryRestartMessage(ev({ sessionId: 7 })), undefined);
});

test('Open Settings opens the setting, Show the view; a second restart of the same session while its toast is open is only logged', async () => {
  const window = fakeWindow({ warning: [RESTART_ACTIONS.settings, RESTART_ACTIONS.show] });
  const opened: string[] = [];
  let shown = 0;
  const log = memoryLog();
  const n = new MemoryRestartNotifier(window, (q) => opened.push(q), () => shown++, log);
  assert.equal(n.notify(ev()), true);
  assert.equal(n.notify(ev({ pid: 43 })), true, 'still a memory restart');
  assert.equal(window.shown.length, 1, 'one toast per session at a time');
  assert.deepEqual(window.shown[0].items, ['Open Settings', 'Show']);
  await waitFor(() => opened.length === 1, 'Open Settings handled');
  assert.deepEqual(opened, [MEMORY_SETTING]);
  assert.equal(n.notify(ev({ pid: 44 })), true);
  await waitFor(() => shown === 1, 'Show handled');
  assert.equal(window.shown.length, 2, 'a new toast once the first was answered');
  assert.equal(n.notify({ type: 'worker.exited', sessionId: 's1' }), false);
});
