// Notifications for the program behind the hermes and command backends: what happened, what to
// set, once per occurrence, only while the gateway runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendView } from '../../src/host/gatewayModel';
import { ALERT_ACTIONS, backendErrorAlert, BackendAlerts, programAlert } from '../../src/ui/backendAlerts';
import { memoryLog } from '../host/fakeGatewaySpec';
import { fakeWindow } from './fakeVscode';

const hermesFailed: BackendView = {
  name: 'hermes', state: 'failed', pid: 5, startTime: 1, display: 'python3 -m tui_gateway.entry', cwd: '/tmp',
  error: '`python3 -m tui_gateway.entry` (cwd /tmp) exited (exit code 1) 164 ms after it started, before hermes-agent\'s gateway.ready event (is hermes-agent installed for that interpreter, and importable from that working directory?); its stderr ended with:\n/usr/bin/python3: Error while finding module specification for \'tui_gateway.entry\' (ModuleNotFoundError: No module named \'tui_gateway\')',
};

test('hermes that did not start: the gateway\'s own why (one line) and how to point the warden at a hermes install; Show Log and Open Settings', () => {
  const a = programAlert(hermesFailed)!;
  assert.equal(a.level, 'error');
  assert.match(a.message, /^Gateway Warden: hermes-agent's gateway did not start: `python3 -m tui_gateway\.entry` \(cwd \/tmp\) exited \(exit code 1\) .*is hermes-agent installed for that interpreter.*No module named 'tui_gateway'\) — Set gatewayWarden\.gateway\.command to the python of your hermes-agent environment .* gatewayWarden\.gateway\.args to \["-m", "tui_gateway\.entry"\] and gatewayWarden\.gateway\.cwd to your hermes-agent checkout\.$/);
  assert.doesNotMatch(a.message, /\n/);
  assert.deepEqual(a.actions, [ALERT_ACTIONS.log, ALERT_ACTIONS.settings]);
  const exited = programAlert({ ...hermesFailed, state: 'exited', error: '`python3 -m tui_gateway.entry` (cwd /tmp) exited (exit code 1)', exit: { code: 1, signal: null } })!;
  assert.match(exited.message, /hermes-agent's gateway exited: .*exit code 1\)\. Its sessions were closed and its workers taken down; Restart starts it again\./);
  assert.deepEqual(exited.actions, [ALERT_ACTIONS.restart, ALERT_ACTIONS.log]);
  assert.equal(programAlert({ ...hermesFailed, state: 'running' }), undefined);
});

test('command: a program that did not start names the settings; one that finished says so (info on exit code 0, warning otherwise), with Restart', () => {
  const base: BackendView = { name: 'command', state: 'failed', display: 'no-such-tool --x', error: 'cannot start `no-such-tool --x` (cwd /srv): no-such-tool was not found (ENOENT; not on PATH, or no such file); expected a program that keeps running' };
  const f = programAlert(base)!;
  assert.match(f.message, /the command backend's program did not start: cannot start `no-such-tool --x` .*ENOENT.* — check gatewayWarden\.gateway\.command, \.args and \.cwd\./);
  const done = programAlert({ ...base, state: 'exited', error: undefined, exit: { code: 0, signal: null } })!;
  assert.equal(done.level, 'info');
  assert.match(done.message, /`no-such-tool --x` exited \(exit code 0\); anything it left running was taken down\. Restart runs it again\./);
  assert.equal(programAlert({ ...base, state: 'exited', exit: { code: null, signal: 'SIGKILL' } })!.level, 'warning');
});

test('hermes\' error event: a python without hermes\' dependencies gets the venv hint and Open Settings; another error only Show Log', () => {
  const b: BackendView = { name: 'hermes', state: 'running', lastError: { message: "agent init failed: No module named 'httpx'", sessionId: 'ab12', at: 1 } };
  const a = backendErrorAlert(b)!;
  assert.match(a.message, /^Gateway Warden: hermes reported an error in session ab12: agent init failed: No module named 'httpx' — the python running hermes lacks its dependencies\. Set gatewayWarden\.gateway\.command to the python of your hermes-agent environment/);
  assert.deepEqual(a.actions, [ALERT_ACTIONS.log, ALERT_ACTIONS.settings]);
  const other = backendErrorAlert({ ...b, lastError: { message: 'provider timeout', at: 2 } })!;
  assert.equal(other.message, 'Gateway Warden: hermes reported an error: provider timeout');
  assert.deepEqual(other.actions, [ALERT_ACTIONS.log]);
});

test('BackendAlerts: each failure once, only while the gateway runs; the same hermes error once; at most 5 per gateway; reset on a new gateway; actions run', async () => {
  const window = fakeWindow({ error: ['Open Settings'] });
  const log = memoryLog();
  const acted: string[] = [];
  const alerts = new BackendAlerts(window, log, (a) => acted.push(a));
  alerts.update('stopping', hermesFailed);
  assert.equal(window.shown.length, 0, 'a stop ends the program too: nothing to report');
  alerts.update('running', hermesFailed);
  alerts.update('running', hermesFailed);
  assert.equal(window.shown.length, 1);
  assert.deepEqual(window.shown[0].items, ['Show Log', 'Open Settings']);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(acted, ['Open Settings']);
  assert.ok(log.lines.some((l) => /^error Gateway Warden: hermes-agent's gateway did not start/.test(l)), 'logged in full');

  const running: BackendView = { name: 'hermes', state: 'running', pid: 6, startTime: 2 };
  for (let i = 0; i < 8; i++) alerts.update('running', { ...running, lastError: { message: `boom ${i % 7}`, at: 10 + i } });
  alerts.update('running', { ...running, lastError: { message: 'boom 0', at: 100 } });
  const errors = window.shown.filter((s) => /reported an error/.test(s.message)).map((s) => s.message.replace(/.*: /, ''));
  assert.deepEqual(errors, ['boom 0', 'boom 1', 'boom 2', 'boom 3', 'boom 4']);
  assert.equal(log.lines.filter((l) => /reported an error: boom/.test(l)).length, 9, 'every one is logged');
  alerts.reset();
  alerts.update('running', hermesFailed);
  assert.equal(window.shown.filter((s) => /did not start/.test(s.message)).length, 2, 'a new gateway that fails the same way is reported again');
  // A long message is cut for the toast; the log has it all.
  const long = { ...running, lastError: { message: 'x'.repeat(2000), at: 999 } };
  alerts.reset();
  alerts.update('running', long);
  assert.ok(window.shown.at(-1)!.message.length <= 600);
  assert.match(window.shown.at(-1)!.message, /… \(more in the log\)$/);
});
