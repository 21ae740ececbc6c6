// The leak-alert notifications on the fake window: which actions each condition offers, what
// each action runs, and what "Don't Show Again" stores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLEAR_ORPHANS_COMMAND, COPY_REPORT_COMMAND, LEAK_ACTIONS, LeakAlertNotifier, MUTED_KEY } from '../../src/ui/leakAlerts';
import { memoryLog } from '../host/fakeGatewaySpec';
import { waitFor } from '../support/processes';
import { fakeWindow } from './fakeVscode';

function notifier(answers: string[], stored?: unknown) {
  const window = fakeWindow({ warning: [...answers] });
  const values = new Map<string, unknown>(stored === undefined ? [] : [[MUTED_KEY, stored]]);
  const ran: string[] = [];
  let shown = 0;
  const log = memoryLog();
  const n = new LeakAlertNotifier(
    window,
    { get: <T>(k: string) => values.get(k) as T | undefined, update: async (k, v) => void values.set(k, v) },
    async (command) => {
      ran.push(command);
      if (command === COPY_REPORT_COMMAND) throw new Error(`command '${command}' not found`);
    },
    () => shown++,
    log,
  );
  return { n, window, values, ran, shown: () => shown, log };
}

test('orphans offer Clear Orphans first; memory and the worker cap do not; Clear and Show do what they say', async () => {
  const { n, window, ran, shown } = notifier([LEAK_ACTIONS.clear, LEAK_ACTIONS.show]);
  n.notify([{ condition: 'orphans', message: '1 orphaned process.', pids: [5] }, { condition: 'memory', message: 'Too much.' }]);
  await waitFor(() => shown() === 1 && ran.length === 1, 'both answers handled');
  assert.deepEqual(window.shown.map((s) => [s.message, s.items]), [
    ['Gateway Warden: 1 orphaned process.', ['Clear Orphans', 'Show', 'Copy Report', "Don't Show Again"]],
    ['Gateway Warden: Too much.', ['Show', 'Copy Report', "Don't Show Again"]],
  ]);
  assert.deepEqual(ran, [CLEAR_ORPHANS_COMMAND]);
});

test('Copy Report runs gatewayWarden.copyDiagnosticsReport; when it does not exist (yet) that is logged, not thrown', async () => {
  const { n, ran, log } = notifier([LEAK_ACTIONS.report]);
  n.notify([{ condition: 'workersAtCap', message: 'Full.' }]);
  await waitFor(() => log.lines.some((l) => /leak alert \(workersAtCap\): command 'gatewayWarden\.copyDiagnosticsReport' not found/.test(l)), 'the failure logged');
  assert.deepEqual(ran, [COPY_REPORT_COMMAND]);
});

test("Don't Show Again stores the condition (known ones only, junk in the store ignored)", async () => {
  const { n, values } = notifier([LEAK_ACTIONS.mute], ['workersAtCap', 'nonsense', { x: 1 }]);
  assert.deepEqual([...n.muted()], ['workersAtCap']);
  n.notify([{ condition: 'memory', message: 'Too much.' }]);
  await waitFor(() => (values.get(MUTED_KEY) as string[]).includes('memory'), 'memory muted');
  assert.deepEqual(values.get(MUTED_KEY), ['memory', 'workersAtCap']);
  assert.deepEqual([...notifier([], 'not a list').n.muted()], [], 'a non-list is nothing muted');
});
