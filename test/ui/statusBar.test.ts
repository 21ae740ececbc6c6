import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusBarText } from '../../src/ui/statusBar';

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
