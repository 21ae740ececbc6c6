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
  assert.deepEqual(settings.timeouts, DEFAULT_SETTINGS.timeouts);
  assert.deepEqual([settings.timeouts.workerIdleTimeoutMs, settings.timeouts.pollMs, settings.timeouts.shutdownGraceMs], [30 * 60_000, 1000, 500]);
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
  const { settings } = readSettings(reader({ 'gateway.command': '/opt/gw', 'gateway.args': ['--a b', '$(x)'], 'worker.idleTimeoutMinutes': 1.5 }));
  const owner = { pid: 10, startTime: 20, bootId: 'b' };
  const spec = launchSpec(settings, { extensionPath: '/ext', owner, baseEnv: { PATH: '/bin' } });
  assert.equal(spec.command, '/opt/gw');
  assert.deepEqual(spec.args, ['--a b', '$(x)']);
  assert.equal(spec.env.GATEWAY_WARDEN_OWNER, '10:20:b');
  assert.equal(spec.env.GATEWAY_WARDEN_WORKER_IDLE_TIMEOUT_MS, '90000');
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

test('limits.workerMemoryMB: off (0) by default; 64–1048576 reaches the gateway environment; a wrong type, 1–63 or above the bound is a problem and the limit stays off', () => {
  const defaults = readSettings(reader({}));
  assert.equal(defaults.settings.workerMemoryMB, 0);
  assert.equal(launchSpec(defaults.settings, { extensionPath: '/ext', owner: { pid: 1, startTime: 2, bootId: 'c' }, baseEnv: {} }).env.GATEWAY_WARDEN_WORKER_MEMORY_MB, '0');
  for (const ok of [0, 64, 512, 1_048_576]) {
    const r = readSettings(reader({ 'limits.workerMemoryMB': ok }));
    assert.deepEqual([r.settings.workerMemoryMB, r.problems], [ok, []], String(ok));
    assert.equal(launchSpec(r.settings, { extensionPath: '/ext', owner: { pid: 1, startTime: 2, bootId: 'c' }, baseEnv: {} }).env.GATEWAY_WARDEN_WORKER_MEMORY_MB, String(ok));
  }
  for (const [bad, why] of [['512', /is not a whole number/], [100.5, /is not a whole number/], [-1, /outside 0–1048576/], [2_000_000, /outside 0–1048576/], [true, /is not a whole number/], [10, /is below 64 \(an idle worker alone uses about 45 MB; 0 turns the limit off\)/], [63, /is below 64/]] as const) {
    const r = readSettings(reader({ 'limits.workerMemoryMB': bad }));
    assert.equal(r.settings.workerMemoryMB, 0, `${JSON.stringify(bad)} → off`);
    assert.equal(r.problems.length, 1, JSON.stringify(bad));
    assert.match(r.problems[0], /^Setting gatewayWarden\.limits\.workerMemoryMB = /);
    assert.match(r.problems[0], why);
    assert.match(r.problems[0], /using 0\.$/);
  }
});

test('worker.idleTimeoutMinutes: 0 (never) or at least a minute; a workspace\'s 0.0001 (6 ms: every session closed between commands) is a problem and the default is used', () => {
  for (const [ok, ms] of [[0, 0], [1, 60_000], [1.5, 90_000], [1440, 86_400_000]] as const) {
    const r = readSettings(reader({ 'worker.idleTimeoutMinutes': ok }));
    assert.deepEqual([r.settings.timeouts.workerIdleTimeoutMs, r.problems], [ms, []], String(ok));
  }
  for (const tiny of [0.0001, 0.5, 0.999]) {
    const r = readSettings(reader({ 'worker.idleTimeoutMinutes': tiny }));
    assert.equal(r.settings.timeouts.workerIdleTimeoutMs, 1_800_000, `${tiny} → the default 30 minutes`);
    assert.deepEqual(r.problems, [`Setting gatewayWarden.worker.idleTimeoutMinutes = ${tiny} is under 1 minute (it would close sessions between commands; 0 turns the idle timeout off); using 30.`]);
  }
});

// ---- gatewayWarden.gateway.backend / .cwd (issue 11) ----------------------------------------

const owner = { pid: 1, startTime: 2, bootId: 'c' };
const spec = (values: Record<string, unknown>) => {
  const r = readSettings(reader(values), () => '/home/someone');
  return { ...r, spec: launchSpec(r.settings, { extensionPath: '/ext', owner, execPath: '/electron', baseEnv: {} }) };
};

test('backend hermes without a command: our gateway with --backend hermes and no program (the gateway defaults to python3 -m tui_gateway.entry)', () => {
  const { settings, problems, spec: s } = spec({ 'gateway.backend': 'hermes' });
  assert.deepEqual(problems, []);
  assert.equal(settings.backend, 'hermes');
  assert.equal(s.command, '/electron');
  assert.deepEqual(s.args, [...SMALL_HEAP_FLAGS, '/ext/dist/gateway.js', '--backend', 'hermes']);
  assert.equal(s.env.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(s.env.GATEWAY_WARDEN_OWNER, '1:2:c');
  assert.deepEqual([s.embedded, s.backend, s.program], [true, 'hermes', undefined]);
});

test('backend hermes with the venv python, args and a ~ checkout: the program after --, never read as a gateway flag', () => {
  const { problems, spec: s } = spec({
    'gateway.backend': 'hermes', 'gateway.command': '~/hermes-agent/.venv/bin/python', 'gateway.args': ['-m', 'tui_gateway.entry', '--backend', 'x'], 'gateway.cwd': '~/hermes-agent',
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(s.args.slice(SMALL_HEAP_FLAGS.length), [
    '/ext/dist/gateway.js', '--backend', 'hermes', '--cwd', '/home/someone/hermes-agent', '--',
    '/home/someone/hermes-agent/.venv/bin/python', '-m', 'tui_gateway.entry', '--backend', 'x',
  ]);
  assert.equal(s.program, '/home/someone/hermes-agent/.venv/bin/python -m tui_gateway.entry --backend x');
});

test('backend command: the program after --; without a command it is a clear problem and the embedded gateway runs', () => {
  const ok = spec({ 'gateway.backend': 'command', 'gateway.command': 'npx', 'gateway.args': ['some-mcp-server', '--stdio'], 'gateway.cwd': '/srv/app' });
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.spec.args.slice(SMALL_HEAP_FLAGS.length), ['/ext/dist/gateway.js', '--backend', 'command', '--cwd', '/srv/app', '--', 'npx', 'some-mcp-server', '--stdio']);
  const missing = spec({ 'gateway.backend': 'command', 'gateway.args': ['x'] });
  assert.equal(missing.settings.backend, 'embedded');
  assert.match(missing.problems.join('\n'), /^Setting gatewayWarden\.gateway\.backend = "command" needs gatewayWarden\.gateway\.command \(the program to run under the warden\); using the embedded gateway\.$/m);
  assert.match(missing.problems.join('\n'), /gateway\.args is ignored/);
  assert.deepEqual(missing.spec.args, [...SMALL_HEAP_FLAGS, '/ext/dist/gateway.js']);
});

test('backend warden runs the command itself (today\'s custom gateway); so does embedded with a command set, as before the setting existed; warden without one is a problem', () => {
  for (const backend of ['warden', 'embedded', undefined]) {
    const { settings, problems, spec: s } = spec({ 'gateway.backend': backend, 'gateway.command': '/opt/gw', 'gateway.args': ['-v'] });
    assert.deepEqual(problems, [], String(backend));
    assert.equal(settings.backend, 'warden');
    assert.deepEqual([s.command, s.args, s.embedded, s.backend], ['/opt/gw', ['-v'], false, 'warden']);
    assert.match(s.expected!, /speaks the Gateway Warden protocol.*gatewayWarden\.gateway\.backend to "hermes"/);
  }
  const none = spec({ 'gateway.backend': 'warden' });
  assert.equal(none.settings.backend, 'embedded');
  assert.match(none.problems.join(), /gateway\.backend = "warden" needs gatewayWarden\.gateway\.command \(a program that speaks the Gateway Warden protocol\)/);
});

test('backend and cwd of the wrong type or value: one clear problem each, never a throw', () => {
  for (const [bad, fallback] of [['hermez', 'embedded'], [42, 'embedded'], [['hermes'], 'embedded']] as const) {
    const r = spec({ 'gateway.backend': bad });
    assert.equal(r.settings.backend, fallback);
    assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
    assert.match(r.problems[0], /^Setting gatewayWarden\.gateway\.backend = .* is not one of embedded, warden, hermes, command; using "embedded"\.$/);
  }
  assert.match(spec({ 'gateway.backend': 'nope', 'gateway.command': '/opt/gw' }).problems[0], /using "warden \(gateway\.command is set\)"/);
  const rel = spec({ 'gateway.backend': 'hermes', 'gateway.cwd': 'hermes-agent' });
  assert.equal(rel.settings.gatewayCwd, undefined);
  assert.match(rel.problems.join(), /gateway\.cwd = "hermes-agent" is not an absolute path; using "\(the gateway's own working directory\)"/);
  assert.ok(!rel.spec.args.includes('--cwd'));
  assert.match(spec({ 'gateway.backend': 'hermes', 'gateway.cwd': 7 }).problems.join(), /gateway\.cwd = 7 is not a string/);
  assert.match(spec({ 'gateway.backend': 'hermes', 'gateway.cwd': '/a\nb' }).problems.join(), /contains a NUL or newline/);
  const ignored = spec({ 'gateway.cwd': '/srv' });
  assert.equal(ignored.settings.gatewayCwd, undefined);
  assert.match(ignored.problems.join(), /gateway\.cwd is ignored: it applies only with gatewayWarden\.gateway\.backend = "hermes" or "command"/);
  assert.equal(spec({ 'gateway.backend': 'hermes', 'gateway.cwd': '  ' }).settings.gatewayCwd, undefined, 'blank = unset');
});

test('alerts: minutes and MB become ms and bytes; 0 turns the check off; a wrong type or value from a hostile settings file is a clear problem and the default', () => {
  const ok = readSettings(reader({ 'alerts.intervalMinutes': 0, 'alerts.totalMemoryMB': 64 }));
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.settings.alertIntervalMs, 0);
  assert.equal(ok.settings.alertTotalMemoryBytes, 64 * 1024 * 1024);
  assert.equal(readSettings(reader({ 'alerts.intervalMinutes': 1440 })).settings.alertIntervalMs, 1440 * 60_000);
  for (const [interval, memory, why] of [
    ['5', { mb: 1 }, /is not a whole number/],
    [0.5, 4096.5, /is not a whole number/],
    [-1, 63, /is outside/],
    [1441, 2_000_000, /is outside/],
    [Number.NaN, true, /is not a whole number/],
    [[5], null, /is not a whole number/],
  ] as const) {
    const { settings, problems } = readSettings(reader({ 'alerts.intervalMinutes': interval, 'alerts.totalMemoryMB': memory }));
    assert.equal(settings.alertIntervalMs, DEFAULT_SETTINGS.alertIntervalMs, String(interval));
    assert.equal(settings.alertTotalMemoryBytes, DEFAULT_SETTINGS.alertTotalMemoryBytes, String(memory));
    const text = problems.join('\n');
    assert.match(text, /Setting gatewayWarden\.alerts\.intervalMinutes = .* using 5\./, String(interval));
    assert.match(text, why);
    if (memory !== null) assert.match(text, /Setting gatewayWarden\.alerts\.totalMemoryMB = .* using 4096\./, String(memory));
  }
  assert.equal(DEFAULT_SETTINGS.alertIntervalMs, 5 * 60_000);
  assert.equal(DEFAULT_SETTINGS.alertTotalMemoryBytes, 4096 * 1024 * 1024);
});
