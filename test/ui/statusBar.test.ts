import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALERT_BACKGROUND, statusBarText } from '../../src/ui/statusBar';

test('status bar: the worker count, orphans when there are any, and why a failed gateway is down', () => {
  const running = statusBarText({ state: 'running', pid: 42 }, 3, 0);
  assert.equal(running.text, '$(server-process) 3');
  assert.match(running.tooltip, /gateway running \(pid 42\), 3 workers\./);
  assert.match(statusBarText({ state: 'stopped' }, 0, 2).text, /\$\(warning\) 2$/);
  const failed = statusBarText({ state: 'failed', error: 'Cannot start the gateway command /x: the program was not found.' }, 0, 0);
  assert.equal(failed.text, '$(error) 0');
  assert.match(failed.tooltip, /gateway failed, 0 workers\.\nCannot start the gateway command \/x: the program was not found\.\nClick/);
  assert.doesNotMatch(statusBarText({ state: 'stopped', error: 'old' }, 0, 0).tooltip, /old/, 'a stale error is not shown once stopped');
});

test('status bar: "N of M workers" once the running gateway reported its cap; the tooltip explains the limit when reached', () => {
  const limits = { maxSessions: 256, maxWorkers: 16 };
  const some = statusBarText({ state: 'running', pid: 42, limits }, 3, 0);
  assert.equal(some.text, '$(server-process) 3 of 16 workers');
  assert.match(some.tooltip, /gateway running \(pid 42\), 3 of 16 workers\./);
  assert.doesNotMatch(some.tooltip, /At the worker limit/);
  const full = statusBarText({ state: 'running', pid: 42, limits }, 16, 1);
  assert.equal(full.text, '$(server-process) 16 of 16 workers $(warning) 1');
  assert.match(full.tooltip, /At the worker limit \(gatewayWarden\.limits\.maxWorkers\)/);
  assert.equal(statusBarText({ state: 'running', limits: { maxWorkers: 1 } }, 1, 0).text, '$(server-process) 1 of 1 worker');
  // No cap reported (a custom gateway that does not say), or not running: just the count.
  assert.equal(statusBarText({ state: 'running', pid: 42 }, 3, 0).text, '$(server-process) 3');
  assert.equal(statusBarText({ state: 'stopping', limits }, 2, 0).text, '$(loading~spin) 2');
});

test('status bar: hermes and command name their backend; a program that failed or exited turns it into an error with the why in the tooltip', () => {
  const limits = { maxSessions: 256, maxWorkers: 16 };
  const hermes = { name: 'hermes', state: 'running', pid: 7, display: '/venv/bin/python -m tui_gateway.entry' };
  const h = statusBarText({ state: 'running', pid: 42, limits, backend: 'hermes' }, 1, 0, hermes);
  assert.equal(h.text, '$(server-process) hermes 1 of 16 workers');
  assert.match(h.tooltip, /gateway running \(pid 42\), 1 of 16 workers\.\nBackend: hermes — \/venv\/bin\/python -m tui_gateway\.entry: running \(pid 7\)/);
  const failed = statusBarText({ state: 'running', pid: 42, limits, backend: 'hermes' }, 0, 0, { ...hermes, state: 'failed', error: 'no gateway.ready within 30 s from `python3 -m tui_gateway.entry`' });
  assert.equal(failed.text, '$(error) hermes failed 0 of 16 workers');
  assert.match(failed.tooltip, /\nno gateway\.ready within 30 s from `python3 -m tui_gateway\.entry`/);
  const cmd = { name: 'command', state: 'running', pid: 8, display: 'npx server' };
  assert.equal(statusBarText({ state: 'running', pid: 42, limits, backend: 'command' }, 0, 2, cmd).text, '$(server-process) command $(warning) 2');
  assert.equal(statusBarText({ state: 'running', pid: 42, backend: 'command' }, 0, 0, { ...cmd, state: 'exited', exit: { code: 0, signal: null } }).text, '$(error) command exited');
  // embedded and warden: the count alone, the backend in the tooltip.
  const w = statusBarText({ state: 'running', pid: 42, backend: 'warden' }, 3, 0);
  assert.equal(w.text, '$(server-process) 3');
  assert.match(w.tooltip, /\nBackend: warden/);
  // Not running: a program state from before is not shown.
  assert.equal(statusBarText({ state: 'stopped', backend: 'hermes' }, 0, 0, { ...hermes, state: 'failed' }).text, '$(circle-slash) hermes 0');
});

test('status bar: the warning background while a leak alert holds, each condition in the tooltip; none without', () => {
  const calm = statusBarText({ state: 'running', pid: 42 }, 1, 0);
  assert.equal(calm.background, undefined);
  assert.doesNotMatch(calm.tooltip, /Warning:/);
  const alerted = statusBarText({ state: 'running', pid: 42 }, 1, 0, undefined, ['4 of 4 workers have been alive for 2 min.', 'The gateway uses 5000 MB.']);
  assert.equal(alerted.background, ALERT_BACKGROUND);
  assert.equal(ALERT_BACKGROUND, 'statusBarItem.warningBackground');
  assert.match(alerted.tooltip, /\nWarning: 4 of 4 workers have been alive for 2 min\.\nWarning: The gateway uses 5000 MB\.\nClick to show the processes\.$/);
  assert.equal(alerted.text, calm.text, 'the text stays; the colour and tooltip say it');
});

test('status bar: the tooltip has the gateway\'s total (gateway, workers, what they started) while it runs, with the sample\'s age once it is old', () => {
  const total = { cpuPercent: 4.25, memoryBytes: 412 * 1024 * 1024, processes: 7, source: 'process-table' as const, ageMs: 1500 };
  const t = statusBarText({ state: 'running', pid: 42 }, 3, 0, undefined, [], total).tooltip;
  assert.match(t, /\nTotal: 412 MB, 4\.3% CPU \(the gateway, its workers and everything they started; 7 processes\)\n/);
  assert.match(statusBarText({ state: 'running', pid: 42 }, 3, 0, undefined, [], { ...total, source: 'cgroup', ageMs: 125_000 }).tooltip, /Total: 412 MB, 4\.3% CPU \(.*; its cgroup, sampled 2m 5s ago\)/);
  assert.match(statusBarText({ state: 'running', pid: 42 }, 3, 0, undefined, [], { processes: 0, source: 'process-table', ageMs: 0 }).tooltip, /Total: not measured/);
  assert.doesNotMatch(statusBarText({ state: 'stopped' }, 0, 0, undefined, [], total).tooltip, /Total/, 'only while it runs');
  assert.doesNotMatch(statusBarText({ state: 'running', pid: 42 }, 3, 0).tooltip, /Total/, 'nothing sampled yet');
});
