import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, readSettings } from '../../src/host/settings';
import { launchSpec } from '../../src/host/launchSpec';
import { SMALL_HEAP_FLAGS } from '../../src/core/heapFlags';

const reader = (values: Record<string, unknown>) => (key: string) => values[key];

test('defaults when nothing is set', () => {
  const { settings, problems } = readSettings(reader({}));
  assert.deepEqual(problems, []);
  assert.deepEqual(settings, { ...DEFAULT_SETTINGS, gatewayCommand: undefined, gatewayCwd: undefined });
});

test('bad values → one clear problem each and the default, never a throw', () => {
  const { settings, problems } = readSettings(reader({
    'gateway.command': 42,
    'gateway.args': 'not-a-list',
    autoStart: 'yes',
    'worker.idleTimeoutMinutes': -5,
    'watchdog.pollMs': 1.5,
    'shutdown.graceMs': 99_999,
    'orphans.scanOnStartup': null,
    'orphans.extraPatterns': ['ok\\.worker', '(unclosed', '', '(.*.*)*#$', '(a)\\1'],
  }));
  assert.equal(settings.gatewayCommand, undefined);
  assert.equal(settings.autoStart, true);
  assert.equal(settings.workerIdleTimeoutMs, DEFAULT_SETTINGS.workerIdleTimeoutMs);
  assert.equal(settings.watchdogPollMs, 1000);
  assert.equal(settings.shutdownGraceMs, 500);
  assert.deepEqual(settings.extraOrphanPatterns, ['ok\\.worker']);
  const text = problems.join('\n');
  for (const key of ['gateway.command', 'gateway.args', 'autoStart', 'worker.idleTimeoutMinutes', 'watchdog.pollMs', 'shutdown.graceMs']) {
    assert.match(text, new RegExp(`gatewayWarden\\.${key.replace('.', '\\.')}`), `problem reported for ${key}`);
  }
  assert.match(text, /orphans\.extraPatterns: "\(unclosed" is not a valid regular expression/);
  assert.match(text, /orphans\.extraPatterns: "" is empty \(it would match every process\); skipped/);
  assert.match(text, /orphans\.extraPatterns: "\(\.\*\.\*\)\*#\$" has a nested quantifier .*exponential time; skipped/);
  assert.match(text, /orphans\.extraPatterns: "\(a\)\\\\1" has a backreference/);
});

test('custom command: argv passed through as-is, owner marker and tunables in the environment', () => {
  const { settings } = readSettings(reader({ 'gateway.command': '/opt/gw', 'gateway.args': ['--a b', '$(x)'], 'worker.idleTimeoutMinutes': 0.5 }));
  const owner = { pid: 10, startTime: 20, bootId: 'b' };
  const spec = launchSpec(settings, { extensionPath: '/ext', owner, baseEnv: { PATH: '/bin' } });
  assert.equal(spec.command, '/opt/gw');
  assert.deepEqual(spec.args, ['--a b', '$(x)']);
  assert.equal(spec.env.GATEWAY_WARDEN_OWNER, '10:20:b');
  assert.equal(spec.env.GATEWAY_WARDEN_WORKER_IDLE_TIMEOUT_MS, '30000');
  assert.equal(spec.env.ELECTRON_RUN_AS_NODE, undefined);
  assert.equal(spec.embedded, false);
});

test('embedded gateway: the host runtime with ELECTRON_RUN_AS_NODE and dist/gateway.js; args setting ignored', () => {
  const { settings, problems } = readSettings(reader({ 'gateway.args': ['--x'] }));
  assert.match(problems.join(), /gateway\.args is ignored/);
  const spec = launchSpec(settings, { extensionPath: '/ext', owner: { pid: 1, startTime: 2, bootId: 'c' }, execPath: '/electron', baseEnv: {} });
  assert.equal(spec.command, '/electron');
  assert.deepEqual(spec.args, [...SMALL_HEAP_FLAGS, '/ext/dist/gateway.js']);
  assert.equal(spec.env.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(spec.embedded, true);
});

test('gateway.command: "~/" is the home folder (no shell would expand it); a relative path is refused with a clear problem', () => {
  const home = () => '/home/someone';
  const tilde = readSettings(reader({ 'gateway.command': '~/bin/gw' }), home);
  assert.equal(tilde.settings.gatewayCommand, '/home/someone/bin/gw');
  assert.deepEqual(tilde.problems, []);
  assert.equal(readSettings(reader({ 'gateway.command': 'my-gateway' }), home).settings.gatewayCommand, 'my-gateway', 'a name on PATH stays as it is');
  assert.equal(readSettings(reader({ 'gateway.command': '~other/gw' }), home).settings.gatewayCommand, undefined, '~user is not expanded: refused as relative');
  const rel = readSettings(reader({ 'gateway.command': './bin/gw', 'gateway.args': ['-v'] }), home);
  assert.equal(rel.settings.gatewayCommand, undefined);
  assert.match(rel.problems.join('\n'), /gatewayWarden\.gateway\.command = "\.\/bin\/gw" is a relative path \(use an absolute path or a program name on PATH\)/);
});

test('limits: defaults 256 sessions and 16 workers; set values reach the gateway environment (custom command too); wrong types or out of range are problems, never a throw', () => {
  const defaults = readSettings(reader({}));
  assert.deepEqual([defaults.settings.maxSessions, defaults.settings.maxWorkers], [256, 16]);
  const set = readSettings(reader({ 'limits.maxSessions': 40, 'limits.maxWorkers': 4, 'gateway.command': '/opt/warden-gw' }));
  assert.deepEqual(set.problems, []);
  const spec = launchSpec(set.settings, { extensionPath: '/ext', owner: { pid: 1, startTime: 2, bootId: 'c' }, baseEnv: {} });
  assert.equal(spec.env.GATEWAY_WARDEN_MAX_SESSIONS, '40');
  assert.equal(spec.env.GATEWAY_WARDEN_MAX_WORKERS, '4');
  const embedded = launchSpec(defaults.settings, { extensionPath: '/ext', owner: { pid: 1, startTime: 2, bootId: 'c' }, baseEnv: {} });
  assert.deepEqual([embedded.env.GATEWAY_WARDEN_MAX_SESSIONS, embedded.env.GATEWAY_WARDEN_MAX_WORKERS], ['256', '16']);
  for (const [bad, why] of [['16', /is not a whole number/], [2.5, /is not a whole number/], [0, /outside 1–256/], [1000, /outside 1–256/], [{ n: 1 }, /is not a whole number/]] as const) {
    const r = readSettings(reader({ 'limits.maxWorkers': bad }));
    assert.equal(r.settings.maxWorkers, 16, `${JSON.stringify(bad)} → the default`);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0], /^Setting gatewayWarden\.limits\.maxWorkers = /);
    assert.match(r.problems[0], why);
  }
  const s = readSettings(reader({ 'limits.maxSessions': true }));
  assert.equal(s.settings.maxSessions, 256);
  assert.match(s.problems.join(), /gatewayWarden\.limits\.maxSessions = true is not a whole number; using 256/);
});
