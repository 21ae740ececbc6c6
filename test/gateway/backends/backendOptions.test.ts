import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_BACKEND_SPEC, DEFAULT_HERMES_COMMAND } from '../../../src/gateway/backends/backendOptions';
import { parseGatewayArgs as splitBackendArgs } from '../../../src/gateway/options';

test('no backend flags: embedded, the gateway options read as ever', () => {
  const r = splitBackendArgs(['--poll-ms', '250', '--listen', '--max-workers=3'], {});
  assert.deepEqual(r.backend, DEFAULT_BACKEND_SPEC);
  assert.deepEqual([r.options.pollMs, r.options.listenPort, r.options.maxWorkers], [250, 0, 3]);
  assert.deepEqual(r.warnings, []);
});

test('command after --, and after the first word that is not a flag value', () => {
  const a = splitBackendArgs(['--poll-ms', '200', '--backend', 'command', '--', 'node', '--inspect', 'x.js'], {});
  assert.equal(a.backend.name, 'command');
  assert.deepEqual(a.backend.command, ['node', '--inspect', 'x.js']);
  assert.equal(a.options.pollMs, 200);
  const b = splitBackendArgs(['--backend=command', '--listen', '--cwd', '/tmp', 'sh', '-c', 'sleep 1'], {});
  assert.deepEqual(b.backend.command, ['sh', '-c', 'sleep 1']);
  assert.equal(b.backend.cwd, '/tmp');
  assert.equal(b.options.listenPort, 0);
  // A bare --listen followed by a port keeps the port; followed by the command, it does not eat it.
  const c = splitBackendArgs(['--listen', '8123', '--backend', 'command', 'top'], {});
  assert.equal(c.options.listenPort, 8123);
  assert.deepEqual(c.backend.command, ['top']);
  const d = splitBackendArgs(['--listen', '--backend', 'command', '8123'], {});
  assert.deepEqual([d.options.listenPort, d.backend.command], [0, ['8123']]);
  // Everything after `--` is the command, flags of ours included.
  const e = splitBackendArgs(['--backend', 'command', '--', 'x', '--poll-ms', '5', '--', '-h'], {});
  assert.deepEqual([e.backend.command, e.options.pollMs, e.help, e.warnings], [['x', '--poll-ms', '5', '--', '-h'], 1000, false, []]);
});

test('hermes without a command runs python3 -m tui_gateway.entry', () => {
  const r = splitBackendArgs(['--backend', 'hermes'], {});
  assert.deepEqual(r.backend.command, [...DEFAULT_HERMES_COMMAND]);
  const e = splitBackendArgs([], { GATEWAY_WARDEN_BACKEND: 'Hermes', GATEWAY_WARDEN_BACKEND_CWD: '/srv/hermes' });
  assert.equal(e.backend.name, 'hermes');
  assert.equal(e.backend.cwd, '/srv/hermes');
});

test('numbers: flag wins over environment; malformed values fall back with a warning', () => {
  const r = splitBackendArgs(['--stale-worker-grace-ms', '0', '--backend-start-timeout-ms=500'], { GATEWAY_WARDEN_STALE_WORKER_GRACE_MS: '9' });
  assert.equal(r.backend.staleWorkerGraceMs, 0);
  assert.equal(r.backend.startTimeoutMs, 500);
  const bad = splitBackendArgs(['--backend-start-timeout-ms', '0', '--stale-worker-grace-ms=soon'], {});
  assert.equal(bad.backend.startTimeoutMs, DEFAULT_BACKEND_SPEC.startTimeoutMs);
  assert.equal(bad.backend.staleWorkerGraceMs, DEFAULT_BACKEND_SPEC.staleWorkerGraceMs);
  assert.equal(bad.warnings.length, 2, bad.warnings.join(' | '));
});

test('bad input never crashes: unknown backend, command for embedded, missing values', () => {
  const r = splitBackendArgs(['--backend', 'docker'], {});
  assert.equal(r.backend.name, 'embedded');
  assert.match(r.warnings[0], /not one of embedded, hermes, command/);
  const e = splitBackendArgs(['--', 'rm', '-rf', '/'], {});
  assert.equal(e.backend.name, 'embedded');
  assert.deepEqual(e.backend.command, []);
  assert.match(e.warnings[0], /embedded backend runs no program/);
  const m = splitBackendArgs(['--backend'], {});
  assert.match(m.warnings[0], /--backend needs a value/);
  // A flag where a value should be: the value is missing, the flag still counts.
  const n = splitBackendArgs(['--backend', '--listen', '--cwd', '/srv', '-x', '--help=yes'], {});
  assert.deepEqual([n.options.listenPort, n.backend.cwd, n.backend.name], [0, '/srv', 'embedded']);
  assert.deepEqual(n.warnings, [
    '--backend needs a value (one starting with "-" is given as --backend=VALUE); ignored',
    'unknown option -x; ignored',
    '--help takes no value; ignored',
  ]);
  const empty = splitBackendArgs(['--backend', 'command', '--', ''], {});
  assert.deepEqual(empty.backend.command, []);
  assert.match(empty.warnings[0], /empty string/);
});

test('--help and -h before the command ask for the usage text; after it they belong to the command', () => {
  assert.equal(splitBackendArgs(['--help'], {}).help, true);
  assert.equal(splitBackendArgs(['-h'], {}).help, true);
  const r = splitBackendArgs(['--backend', 'command', 'ls', '--help'], {});
  assert.equal(r.help, false);
  assert.deepEqual(r.backend.command, ['ls', '--help']);
});
