import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchSpec, GATEWAY_ENV } from '../../src/host/launchSpec';
import { readSettings } from '../../src/host/settings';
import { startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { killTracked } from '../support/processes';

after(killTracked);

// The host and the gateway name the tunables' environment variables separately (the rooms do not
// import each other): the real gateway must read what the launcher writes.
test('the settings the launcher writes into the environment are the options the real gateway runs with', async () => {
  const values: Record<string, unknown> = {
    'worker.idleTimeoutMinutes': 0.5, 'watchdog.pollMs': 250, 'shutdown.graceMs': 700, 'limits.maxSessions': 12, 'limits.maxWorkers': 3,
  };
  const { settings, problems } = readSettings((key) => values[key]);
  assert.deepEqual(problems, []);
  const spec = launchSpec(settings, { extensionPath: '/ext', owner: { pid: 1, startTime: 1, bootId: 'b' }, baseEnv: {} });
  const env = Object.fromEntries(Object.values(GATEWAY_ENV).map((name) => [name, String(spec.env[name])]));
  const g = await startHostedGateway({ env });
  const st = await g.rpc.request<{ options: { workerIdleTimeoutMs: number; pollMs: number; shutdownGraceMs: number }; limits: unknown }>('gateway.status');
  assert.equal(st.options.workerIdleTimeoutMs, 30_000);
  assert.equal(st.options.pollMs, 250);
  assert.equal(st.options.shutdownGraceMs, 700);
  assert.deepEqual(st.limits, { maxSessions: 12, maxWorkers: 3 });
  await stopHostedGateway(g);
});
