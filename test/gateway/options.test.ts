import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MAX_TIMING_OPTION_MS, TIMEOUT_FLAGS } from '../../src/core/timeouts';
import { BACKEND_ENV, DEFAULT_BACKEND_SPEC } from '../../src/gateway/backends/backendOptions';
import { DEFAULT_OPTIONS, parseGatewayArgs as parseOptions } from '../../src/gateway/options';

test('flags win over the environment; both forms of flags are accepted', () => {
  const { options, warnings } = parseOptions(
    ['--slash-timeout-ms', '1000', '--poll-ms=250', '--listen'],
    { GATEWAY_WARDEN_SLASH_TIMEOUT_MS: '9', GATEWAY_WARDEN_SHUTDOWN_GRACE_MS: '700', GATEWAY_WARDEN_OWNER: '12:34:abc-def' },
  );
  assert.deepEqual(warnings, []);
  assert.equal(options.slashTimeoutMs, 1000);
  assert.equal(options.pollMs, 250);
  assert.equal(options.shutdownGraceMs, 700);
  assert.equal(options.listenPort, 0);
  assert.deepEqual(options.owner, { pid: 12, startTime: 34, bootId: 'abc-def' });
});

test('malformed values fall back to their defaults with a warning each', () => {
  const { options, warnings } = parseOptions(
    ['--poll-ms', 'fast', '--slash-timeout-ms=-1', '--what', '--listen=99999', '--reattach-grace-ms'],
    { GATEWAY_WARDEN_WORKER_IDLE_TIMEOUT_MS: '1e3', GATEWAY_WARDEN_OWNER: 'test-marker' },
  );
  assert.equal(options.pollMs, DEFAULT_OPTIONS.pollMs);
  assert.equal(options.slashTimeoutMs, DEFAULT_OPTIONS.slashTimeoutMs);
  assert.equal(options.workerIdleTimeoutMs, DEFAULT_OPTIONS.workerIdleTimeoutMs);
  assert.equal(options.reattachGraceMs, DEFAULT_OPTIONS.reattachGraceMs);
  assert.equal(options.listenPort, undefined);
  assert.equal(options.owner, undefined);
  for (const needle of ['--poll-ms', '--slash-timeout-ms', '--what', 'listen', '--reattach-grace-ms', 'GATEWAY_WARDEN_WORKER_IDLE_TIMEOUT_MS', 'test-marker']) {
    assert.ok(warnings.some((w) => w.includes(needle)), `a warning mentions ${needle}: ${warnings.join(' | ')}`);
  }
});

test('listen: port, on/off words, and off by default', () => {
  assert.equal(parseOptions([], {}).options.listenPort, undefined);
  assert.equal(parseOptions(['--listen', '8123'], {}).options.listenPort, 8123);
  assert.equal(parseOptions([], { GATEWAY_WARDEN_LISTEN: 'on' }).options.listenPort, 0);
  assert.equal(parseOptions([], { GATEWAY_WARDEN_LISTEN: 'off' }).options.listenPort, undefined);
});

test('caps: --max-sessions / --max-workers or their environment variables; defaults 256 and 16; 0 or junk falls back with a warning', () => {
  assert.equal(DEFAULT_OPTIONS.maxSessions, 256);
  assert.equal(DEFAULT_OPTIONS.maxWorkers, 16);
  const flags = parseOptions(['--max-sessions', '10', '--max-workers=3'], { GATEWAY_WARDEN_MAX_WORKERS: '7' });
  assert.deepEqual([flags.options.maxSessions, flags.options.maxWorkers, flags.warnings], [10, 3, []]);
  const env = parseOptions([], { GATEWAY_WARDEN_MAX_SESSIONS: '1000', GATEWAY_WARDEN_MAX_WORKERS: '4' });
  assert.deepEqual([env.options.maxSessions, env.options.maxWorkers], [1000, 4]);
  const bad = parseOptions(['--max-workers', '0'], { GATEWAY_WARDEN_MAX_SESSIONS: 'lots' });
  assert.deepEqual([bad.options.maxSessions, bad.options.maxWorkers], [256, 16]);
  assert.ok(bad.warnings.some((w) => w.includes('--max-workers') && w.includes('>= 1')), bad.warnings.join(' | '));
  assert.ok(bad.warnings.some((w) => w.includes('GATEWAY_WARDEN_MAX_SESSIONS')), bad.warnings.join(' | '));
});

test('attach handshake deadline: flag, environment, default', () => {
  assert.equal(parseOptions([], {}).options.attachHandshakeTimeoutMs, 3000);
  assert.equal(parseOptions(['--attach-handshake-timeout-ms', '500'], {}).options.attachHandshakeTimeoutMs, 500);
  assert.equal(parseOptions([], { GATEWAY_WARDEN_ATTACH_HANDSHAKE_TIMEOUT_MS: '1500' }).options.attachHandshakeTimeoutMs, 1500);
  const bad = parseOptions(['--attach-handshake-timeout-ms=0'], {});
  assert.equal(bad.options.attachHandshakeTimeoutMs, 3000);
  assert.ok(bad.warnings.some((w) => w.includes('--attach-handshake-timeout-ms')));
});

test('timing options: above MAX_TIMING_OPTION_MS (Node would fire such a timer after 1 ms) falls back to the default with a warning, flag or environment; the bound itself is taken', () => {
  const huge = String(2 ** 31); // what a timer turns into 1 ms
  const flag = parseOptions(['--worker-idle-timeout-ms', huge], {});
  assert.equal(flag.options.workerIdleTimeoutMs, DEFAULT_OPTIONS.workerIdleTimeoutMs);
  assert.deepEqual(flag.warnings, [`--worker-idle-timeout-ms="${huge}" is not an integer from 0 to ${MAX_TIMING_OPTION_MS}; using the default ${DEFAULT_OPTIONS.workerIdleTimeoutMs}`]);
  const env = parseOptions([], { GATEWAY_WARDEN_SLASH_TIMEOUT_MS: huge });
  assert.equal(env.options.slashTimeoutMs, DEFAULT_OPTIONS.slashTimeoutMs);
  assert.deepEqual(env.warnings, [`GATEWAY_WARDEN_SLASH_TIMEOUT_MS="${huge}" is not an integer from 1 to ${MAX_TIMING_OPTION_MS}; using the default ${DEFAULT_OPTIONS.slashTimeoutMs}`]);
  // The margins the gateway adds (a worker's idle timer: +1 min; the shutdown bound: +3 s) still fit a timer.
  assert.ok(MAX_TIMING_OPTION_MS + 60_000 < 2 ** 31, String(MAX_TIMING_OPTION_MS));
  const atBound = parseOptions(['--worker-idle-timeout-ms', String(MAX_TIMING_OPTION_MS)], {});
  assert.deepEqual([atBound.options.workerIdleTimeoutMs, atBound.warnings], [MAX_TIMING_OPTION_MS, []]);

  // Every timing flag and its environment variable, the backend's two included.
  const timing = [...Object.values(TIMEOUT_FLAGS), { flag: 'backend-start-timeout-ms', env: BACKEND_ENV.startTimeoutMs }, { flag: 'stale-worker-grace-ms', env: BACKEND_ENV.staleWorkerGraceMs }];
  for (const { flag: name, env: variable } of timing) {
    const over = String(MAX_TIMING_OPTION_MS + 1);
    const byFlag = parseOptions([`--${name}`, over], {});
    assert.ok(byFlag.warnings.length === 1 && byFlag.warnings[0].startsWith(`--${name}="${over}" is not an integer from`), `--${name}: ${byFlag.warnings.join(' | ')}`);
    const byEnv = parseOptions([], { [variable]: over });
    assert.ok(byEnv.warnings.length === 1 && byEnv.warnings[0].startsWith(`${variable}="${over}" is not an integer from`), `${variable}: ${byEnv.warnings.join(' | ')}`);
  }
  assert.equal(parseOptions(['--backend-start-timeout-ms', huge], {}).backend.startTimeoutMs, DEFAULT_BACKEND_SPEC.startTimeoutMs);
  assert.equal(parseOptions([], { [BACKEND_ENV.staleWorkerGraceMs]: huge }).backend.staleWorkerGraceMs, DEFAULT_BACKEND_SPEC.staleWorkerGraceMs);
  // A count is no timer: no such bound.
  assert.deepEqual(parseOptions(['--max-sessions', huge], {}).warnings, []);
});
