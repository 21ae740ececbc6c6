import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSettings } from '../../src/host/settings';
import { SETTINGS_ACTIONS, SettingsProblemReporter } from '../../src/ui/settingsProblems';
import { waitFor } from '../support/processes';
import { fakeWindow } from './fakeVscode';

function setup(answers: Parameters<typeof fakeWindow>[0] = {}) {
  const window = fakeWindow(answers);
  const lines: string[] = [];
  let shownLog = 0;
  let opened = 0;
  const log = {
    trace: () => undefined, debug: () => undefined, info: () => undefined, error: () => undefined,
    warn: (m: string) => lines.push(m),
    show: () => shownLog++,
  };
  const r = new SettingsProblemReporter(window, log, () => opened++);
  const warnings = () => window.shown.filter((s) => s.kind === 'warning');
  return { r, window, lines, warnings, shownLog: () => shownLog, opened: () => opened };
}

const read = (values: Record<string, unknown>) => readSettings((k) => values[k]).problems;

test('a settings problem is shown once, not again on every unrelated configuration change', () => {
  const { r, warnings, lines } = setup();
  const bad = { 'shutdown.graceMs': 99_999 };
  r.report(read(bad));
  assert.equal(warnings().length, 1);
  assert.match(warnings()[0].message, /gatewayWarden\.shutdown\.graceMs = 99999 is outside 0–3000; using 500/);
  assert.deepEqual(warnings()[0].items, [SETTINGS_ACTIONS.open, SETTINGS_ACTIONS.log]);
  // An unrelated key changes: the same problem is still there and is not shown again.
  r.report(read({ ...bad, autoStart: false }));
  r.report(read({ ...bad, 'orphans.scanOnStartup': false }));
  assert.equal(warnings().length, 1);
  assert.equal(lines.length, 1, 'logged once too');
});

test('only a new problem is shown; a fixed problem that comes back is shown again', () => {
  const { r, warnings } = setup();
  r.report(read({ 'watchdog.pollMs': 1.5 }));
  r.report(read({ 'watchdog.pollMs': 1.5, autoStart: 'yes' }));
  assert.equal(warnings().length, 2);
  assert.match(warnings()[1].message, /autoStart/);
  assert.doesNotMatch(warnings()[1].message, /watchdog/);
  r.report(read({}));
  assert.equal(warnings().length, 2, 'fixing shows nothing');
  r.report(read({ 'watchdog.pollMs': 1.5 }));
  assert.equal(warnings().length, 3);
  assert.match(warnings()[2].message, /watchdog\.pollMs/);
});

test('several problems at once make one notification, not a stack of them', () => {
  const { r, warnings, lines } = setup();
  const fresh = r.report(read({ 'gateway.command': 42, autoStart: 'yes', 'watchdog.pollMs': 1.5, 'shutdown.graceMs': -1, 'orphans.scanOnStartup': 3 }));
  assert.equal(fresh.length, 5);
  assert.equal(warnings().length, 1);
  assert.match(warnings()[0].message, /and 2 more in the log/);
  assert.equal(lines.length, 5, 'every problem is in the log');
});

test('the notification actions open the settings or the log', async () => {
  const a = setup({ warning: [SETTINGS_ACTIONS.open] });
  a.r.report(['Setting x is bad.']);
  const b = setup({ warning: [SETTINGS_ACTIONS.log] });
  b.r.report(['Setting x is bad.']);
  await waitFor(() => a.opened() === 1 && b.shownLog() === 1, 'Open Settings and Show Log acted on');
  assert.equal(a.shownLog(), 0);
  assert.equal(b.opened(), 0);
});
