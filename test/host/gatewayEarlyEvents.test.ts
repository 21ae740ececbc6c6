// Events a gateway writes in the same read as gateway.ready (a backend's first backend.state
// follows ready at once) reach the model — after the start clears it, in order, none lost.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SETTINGS } from '../../src/host/settings';
import { WardenHost } from '../../src/host/wardenHost';
import { killTracked, track, waitFor } from '../support/processes';
import { memoryLog } from './fakeGatewaySpec';
import { DEFAULT_TIMEOUTS } from '../../src/core/timeouts';

after(killTracked);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-early-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// One write: ready, the program's failure, a session, a stale worker. Then it answers nothing
// and exits when its stdin ends.
const GATEWAY = `
const ev = (params) => JSON.stringify({ jsonrpc: '2.0', method: 'event', params });
process.stdout.write([
  ev({ type: 'gateway.ready', pid: process.pid, backend: 'command', program: { state: 'starting', display: 'x --y', pid: null } }),
  ev({ type: 'backend.state', backend: 'command', state: 'failed', pid: null, error: 'cannot start x: not found' }),
  ev({ type: 'session.created', sessionId: 's1', createdAt: 1 }),
  ev({ type: 'worker.stale', pid: 999999, startTime: 1, staleSince: 1 }),
].join('\\n') + '\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

test('events in the same read as gateway.ready are applied after the start cleared the model, in order', { skip: process.platform === 'win32' }, async () => {
  const settings = { ...DEFAULT_SETTINGS, gatewayCommand: process.execPath, gatewayArgs: ['-e', GATEWAY], timeouts: { ...DEFAULT_TIMEOUTS, shutdownGraceMs: 100 } };
  const host = new WardenHost({ extensionPath: tmp, checkpointDir: path.join(tmp, 'r'), log: memoryLog(), settings: () => settings });
  host.supervisor.onDidStart((gw) => track(gw.pid, true));
  try {
    await host.supervisor.start();
    await waitFor(() => host.model.staleWorkers().length === 1, 'the last event of the read applied');
    assert.deepEqual([host.model.backend()?.state, host.model.backend()?.error], ['failed', 'cannot start x: not found']);
    assert.deepEqual(host.model.list().map((s) => s.sessionId), ['s1']);
  } finally {
    await host.dispose(1000);
  }
});
