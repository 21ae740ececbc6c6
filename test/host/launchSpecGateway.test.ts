import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchSpec, GATEWAY_ENV } from '../../src/host/launchSpec';
import { readSettings } from '../../src/host/settings';
import { startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import * as path from 'node:path';
import { selfFingerprint } from '../../src/core/fingerprint';
import { nullLog } from '../../src/host/seams';
import { GatewaySupervisor } from '../../src/host/supervisor';
import { killTracked, track } from '../support/processes';

after(killTracked);

// The host and the gateway name the limits' environment variables separately (the rooms do not
// import each other), the timeouts' flags come from core/timeouts.ts: the real gateway must read
// what the launcher writes.
test('the settings the launcher writes into argv and the environment are the options the real gateway runs with', async () => {
  const values: Record<string, unknown> = {
    'worker.idleTimeoutMinutes': 1.5, 'watchdog.pollMs': 250, 'shutdown.graceMs': 700, 'limits.maxSessions': 12, 'limits.maxWorkers': 3,
    'limits.workerMemoryMB': 300,
  };
  const { settings, problems } = readSettings((key) => values[key]);
  assert.deepEqual(problems, []);
  const spec = launchSpec(settings, { extensionPath: '/ext', owner: { pid: 1, startTime: 1, bootId: 'b' }, baseEnv: {} });
  const env = Object.fromEntries(Object.values(GATEWAY_ENV).map((name) => [name, String(spec.env[name])]));
  const args = spec.args.slice(spec.args.findIndex((a) => a.endsWith('gateway.js')) + 1);
  assert.ok(args.includes('--poll-ms'), args.join(' '));
  const g = await startHostedGateway({ args, env });
  const st = await g.rpc.request<{ options: { workerIdleTimeoutMs: number; pollMs: number; shutdownGraceMs: number; workerMemoryMB: number }; limits: unknown }>('gateway.status');
  assert.equal(st.options.workerMemoryMB, 300);
  assert.equal(st.options.workerIdleTimeoutMs, 90_000);
  assert.equal(st.options.pollMs, 250);
  assert.equal(st.options.shutdownGraceMs, 700);
  assert.deepEqual(st.limits, { maxSessions: 12, maxWorkers: 3 });
  await stopHostedGateway(g);
});

// The limits the host shows ("N of M workers") are the ones the real gateway reports at start-up.
test('the supervisor reads the limits from the real gateway\'s gateway.ready into its status', async () => {
  const { settings } = readSettings((key) => ({ 'limits.maxSessions': 9, 'limits.maxWorkers': 2 })[key]);
  const owner = selfFingerprint();
  const sup = new GatewaySupervisor({
    launch: () => launchSpec(settings, { extensionPath: path.resolve(__dirname, '../../..'), owner }),
    log: nullLog,
    readyTimeoutMs: 10_000,
  });
  sup.onDidStart((gw) => track(gw.pid, true));
  try {
    await sup.start();
    assert.deepEqual(sup.current.limits, { maxSessions: 9, maxWorkers: 2 });
    assert.equal(sup.current.state, 'running');
  } finally {
    await sup.dispose();
  }
});
