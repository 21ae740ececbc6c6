import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_OPTIONS, parseOptions } from '../../src/gateway/options';

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

test('attach handshake deadline: flag, environment, default', () => {
  assert.equal(parseOptions([], {}).options.attachHandshakeTimeoutMs, 3000);
  assert.equal(parseOptions(['--attach-handshake-timeout-ms', '500'], {}).options.attachHandshakeTimeoutMs, 500);
  assert.equal(parseOptions([], { GATEWAY_WARDEN_ATTACH_HANDSHAKE_TIMEOUT_MS: '1500' }).options.attachHandshakeTimeoutMs, 1500);
  const bad = parseOptions(['--attach-handshake-timeout-ms=0'], {});
  assert.equal(bad.options.attachHandshakeTimeoutMs, 3000);
  assert.ok(bad.warnings.some((w) => w.includes('--attach-handshake-timeout-ms')));
});
