import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { hermesWorkerOf, parseHermesWorkerArgv } from '../../../src/gateway/backends/hermesWorkerArgv';

test('a hermes worker\'s argv, as the real gateway starts it (with and without --model)', () => {
  assert.deepEqual(
    parseHermesWorkerArgv(['/usr/bin/python3', '-m', 'tui_gateway.slash_worker', '--session-key', '20261130_100036_8bf462', '--model', 'test-model']),
    { interpreter: '/usr/bin/python3', sessionKey: '20261130_100036_8bf462', model: 'test-model' },
  );
  assert.deepEqual(
    parseHermesWorkerArgv(['/home/u/.hermes/venv/bin/python3.11', '-m', 'tui_gateway.slash_worker', '--session-key', 'k']),
    { interpreter: '/home/u/.hermes/venv/bin/python3.11', sessionKey: 'k' },
  );
  assert.equal(parseHermesWorkerArgv(['python', '-m', 'tui_gateway.slash_worker', '--model', 'm', '--session-key', 'k'])?.sessionKey, 'k');
});

test('never by substring: look-alikes are not workers', () => {
  const notWorkers: string[][] = [
    ['sh', '-c', 'python3 -m tui_gateway.slash_worker --session-key k'],
    ['bash', '-m', 'tui_gateway.slash_worker', '--session-key', 'k'],
    ['/usr/bin/python3', '-m', 'tui_gateway.entry'],
    ['/usr/bin/python3', '-m', 'tui_gateway.slash_worker'],
    ['/usr/bin/python3', '-m', 'tui_gateway.slash_worker', '--session-key'],
    ['/usr/bin/python3', '-m', 'tui_gateway.slash_worker', '--session-key', ''],
    ['/usr/bin/python3', '-m', 'tui_gateway.slash_worker_x', '--session-key', 'k'],
    ['/usr/bin/python3', '-u', '-m', 'tui_gateway.slash_worker', '--session-key', 'k'],
    ['/usr/bin/python3', '-m', 'tui_gateway.slash_worker', '--session-key', 'k', '--session-key', 'j'],
    ['/usr/bin/python3', '-m', 'tui_gateway.slash_worker', '--session-key', 'k', '--other', 'x'],
    ['/usr/bin/python3', '-m', 'tui_gateway.slash_worker', '--session-key', 'x'.repeat(5000)],
    ['node', 'wrapper.js', 'python3 -m tui_gateway.slash_worker --session-key k'],
    [],
  ];
  for (const argv of notWorkers) assert.equal(parseHermesWorkerArgv(argv), undefined, JSON.stringify(argv).slice(0, 120));
});

test('a worker is a child of the gateway: the parent pid must match', () => {
  const argv = ['/usr/bin/python3', '-m', 'tui_gateway.slash_worker', '--session-key', 'k'];
  assert.equal(hermesWorkerOf({ pid: 20, ppid: 10, argv }, 10)?.sessionKey, 'k');
  assert.equal(hermesWorkerOf({ pid: 20, ppid: 1, argv }, 10), undefined, 'an orphan (re-parented) is not this gateway\'s worker');
});
