import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_TIMEOUTS, gatewayTimeouts, shutdownBoundMs, TIMEOUT_FLAGS, timeoutArgs, timeoutEnv } from '../../src/core/timeouts';
import { DEFAULT_BACKEND_SPEC } from '../../src/gateway/backends/backendOptions';
import { DEFAULT_OPTIONS, parseGatewayArgs } from '../../src/gateway/options';
import { launchSpec } from '../../src/host/launchSpec';
import { DEFAULT_SETTINGS, readSettings } from '../../src/host/settings';
import { parseWorkerArgs } from '../../src/worker/args';

const OWNER = { pid: 1, startTime: 1, bootId: 'b' };

test('the defaults are the values of before, and the gateway\'s defaults are the same object\'s', () => {
  assert.deepEqual(
    [DEFAULT_TIMEOUTS.pollMs, DEFAULT_TIMEOUTS.shutdownGraceMs, DEFAULT_TIMEOUTS.lifelineGraceMs, DEFAULT_TIMEOUTS.shutdownSlackMs, DEFAULT_TIMEOUTS.slashTimeoutMs,
      DEFAULT_TIMEOUTS.workerIdleTimeoutMs, DEFAULT_TIMEOUTS.workerStartTimeoutMs, DEFAULT_TIMEOUTS.attachHandshakeTimeoutMs, DEFAULT_TIMEOUTS.reattachGraceMs, DEFAULT_TIMEOUTS.pingMs],
    [1000, 500, 100, 3000, 45_000, 1_800_000, 30_000, 3000, 20_000, 10_000],
  );
  assert.deepEqual(DEFAULT_SETTINGS.timeouts, DEFAULT_TIMEOUTS);
  assert.deepEqual(gatewayTimeouts(parseGatewayArgs([], {}).options), gatewayTimeouts(DEFAULT_TIMEOUTS));
  assert.equal(DEFAULT_OPTIONS.shutdownGraceMs, DEFAULT_TIMEOUTS.shutdownGraceMs);
  const worker = parseWorkerArgs([], {});
  assert.deepEqual([worker.pollMs, worker.idleTimeoutMs, worker.exitGraceMs], [DEFAULT_TIMEOUTS.pollMs, DEFAULT_TIMEOUTS.workerIdleTimeoutMs, DEFAULT_TIMEOUTS.workerExitGraceMs]);
  // The gateway's shutdown grace reaches its workers; a value no timer can hold falls back, said.
  assert.equal(parseWorkerArgs(['--exit-grace-ms', '2000'], {}).exitGraceMs, 2000);
  const huge = parseWorkerArgs(['--exit-grace-ms', '2592000000'], {});
  assert.equal(huge.exitGraceMs, DEFAULT_TIMEOUTS.workerExitGraceMs);
  assert.match(huge.warnings.join('\n'), new RegExp(`--exit-grace-ms 2592000000 is outside 0–2073600000; using ${DEFAULT_TIMEOUTS.workerExitGraceMs}`));
  // The worker's other timers, bounded alike: past 2^31-1 ms a timer fires at once, and a poll
  // under 10 ms is a busy loop its guard would misjudge.
  for (const [flag, value, key, fallback] of [
    ['--idle-timeout-ms', '2147483648', 'idleTimeoutMs', DEFAULT_TIMEOUTS.workerIdleTimeoutMs],
    ['--poll-ms', '2147483648', 'pollMs', DEFAULT_TIMEOUTS.pollMs],
    ['--poll-ms', '3', 'pollMs', DEFAULT_TIMEOUTS.pollMs],
    ['--poll-ms', '0', 'pollMs', DEFAULT_TIMEOUTS.pollMs],
  ] as const) {
    const w = parseWorkerArgs([flag, value], {});
    assert.equal(w[key], fallback, `${flag} ${value}`);
    assert.match(w.warnings.join('\n'), new RegExp(`${flag} ${value} is outside`), `${flag} ${value}`);
  }
  assert.equal(parseWorkerArgs(['--idle-timeout-ms', String(2_073_600_000 + 60_000)], {}).idleTimeoutMs, 2_073_660_000, 'the gateway\'s longest idle timeout plus its minute');
  assert.equal(parseWorkerArgs(['--poll-ms', '10'], {}).pollMs, 10);
  assert.match(parseWorkerArgs(['--exit-grace-ms', 'soon'], {}).warnings.join('\n'), /ignoring --exit-grace-ms="soon"/);
  assert.equal(shutdownBoundMs(700), 3700);
  assert.deepEqual([DEFAULT_BACKEND_SPEC.startTimeoutMs, DEFAULT_BACKEND_SPEC.staleWorkerGraceMs], [30_000, 30_000]);
});

test('round trip: settings → Timeouts → the launcher\'s gateway argv → the gateway\'s parsed options', () => {
  const values: Record<string, unknown> = { 'worker.idleTimeoutMinutes': 1.5, 'watchdog.pollMs': 250, 'shutdown.graceMs': 700 };
  const { settings, problems } = readSettings((key) => values[key]);
  assert.deepEqual(problems, []);
  assert.deepEqual(settings.timeouts, { ...DEFAULT_TIMEOUTS, workerIdleTimeoutMs: 90_000, pollMs: 250, shutdownGraceMs: 700 });
  const spec = launchSpec(settings, { extensionPath: '/ext', owner: OWNER, baseEnv: {} });
  const argv = spec.args.slice(spec.args.indexOf('/ext/dist/gateway.js') + 1);
  assert.deepEqual(argv, ['--worker-idle-timeout-ms', '90000', '--poll-ms', '250', '--shutdown-grace-ms', '700']);
  assert.deepEqual(timeoutArgs(DEFAULT_TIMEOUTS), []);
  // Nothing of the timeouts in the environment: every worker and /run would inherit it.
  for (const { env } of Object.values(TIMEOUT_FLAGS)) assert.equal(spec.env[env], undefined, env);
  const parsed = parseGatewayArgs(argv, {});
  assert.deepEqual(parsed.warnings, []);
  assert.deepEqual(gatewayTimeouts(parsed.options), gatewayTimeouts(settings.timeouts));
  // Every timeout with a flag goes through, not only the three with settings.
  const odd = Object.fromEntries(Object.keys(TIMEOUT_FLAGS).map((k, i) => [k, 1000 + i])) as unknown as typeof DEFAULT_TIMEOUTS;
  assert.deepEqual(gatewayTimeouts(parseGatewayArgs(timeoutArgs({ ...DEFAULT_TIMEOUTS, ...odd }), {}).options), gatewayTimeouts({ ...DEFAULT_TIMEOUTS, ...odd }));
});

test('hermes and command: the timeouts go before the backend\'s flags and the command; a warden gateway gets them as environment variables', () => {
  const { settings } = readSettings((key) => ({ 'gateway.backend': 'command', 'gateway.command': 'sleep', 'gateway.args': ['--poll-ms', '5'], 'watchdog.pollMs': 300 })[key]);
  const spec = launchSpec(settings, { extensionPath: '/ext', owner: OWNER, baseEnv: {} });
  const parsed = parseGatewayArgs(spec.args.slice(spec.args.indexOf('/ext/dist/gateway.js') + 1), {});
  assert.deepEqual([parsed.options.pollMs, parsed.backend.name, parsed.backend.command, parsed.warnings], [300, 'command', ['sleep', '--poll-ms', '5'], []]);

  const warden = readSettings((key) => ({ 'gateway.command': '/opt/gw', 'shutdown.graceMs': 900 })[key]).settings;
  const w = launchSpec(warden, { extensionPath: '/ext', owner: OWNER, baseEnv: {} });
  assert.deepEqual([w.backend, w.args], ['warden', []]);
  assert.equal(w.env.GATEWAY_WARDEN_SHUTDOWN_GRACE_MS, '900');
  const env = Object.fromEntries(Object.entries(w.env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  assert.deepEqual(env, { ...env, ...timeoutEnv(warden.timeouts) });
  assert.deepEqual(gatewayTimeouts(parseGatewayArgs([], env).options), gatewayTimeouts(warden.timeouts));
});
