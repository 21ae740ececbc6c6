import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlagSpec, intAtLeast, readArgv } from '../../src/core/readArgv';
import { parseWorkerArgs } from '../../src/worker/args';

const SPEC: Record<string, FlagSpec> = {
  name: { type: 'string' },
  json: { type: 'boolean' },
  listen: { type: 'boolean', optionalValue: /^\d+$/ },
  help: { type: 'boolean', short: 'h' },
};

test('values in both forms, repeated flags collected in order, positionals kept, `--` ends the flags', () => {
  const r = readArgv(['--name', 'a', 'pos', '--name=b', '--json', '--', '--name', 'c'], SPEC);
  assert.deepEqual([...r.flags], [['name', ['a', 'b']], ['json', ['']]]);
  assert.deepEqual(r.positionals, ['pos']);
  assert.deepEqual(r.rest, ['--name', 'c']);
  assert.deepEqual(r.problems, []);
});

test('every problem is reported, not only the first, and the other flags are still read', () => {
  const r = readArgv(['--what', '--json=1', '-x', '--name', '--json', '--name'], SPEC);
  assert.deepEqual(r.problems, [
    'unknown option --what',
    '--json takes no value',
    'unknown option -x',
    '--name needs a value (one starting with "-" is given as --name=VALUE)',
    '--name needs a value',
  ]);
  assert.deepEqual([...r.flags], [['json', ['']]]);
  assert.deepEqual(readArgv(['--name=-1'], SPEC).flags.get('name'), ['-1']);
});

test('an optional value: claimed only when the next word matches; stopAtPositional leaves the command untouched', () => {
  assert.deepEqual(readArgv(['--listen', '8123'], SPEC, true).flags.get('listen'), ['8123']);
  assert.deepEqual(readArgv(['--listen=on'], SPEC, true).flags.get('listen'), ['on']);
  const r = readArgv(['--listen', 'top', '-h', '--name', 'x'], SPEC, true);
  assert.deepEqual(r.flags.get('listen'), ['']);
  assert.deepEqual(r.rest, ['top', '-h', '--name', 'x']);
  assert.equal(r.flags.has('help'), false);
  assert.equal(readArgv(['-h'], SPEC).flags.has('help'), true);
});

test('intAtLeast: decimal digits only, within the safe integers, at least min', () => {
  assert.deepEqual(['0', ' 12 ', '1e3', '-1', '1.5', '', '99999999999999999', '7'].map((t) => intAtLeast(t, 0)), [0, 12, undefined, undefined, undefined, undefined, undefined, 7]);
  assert.equal(intAtLeast('9', 10), undefined);
});

test('worker: flags as the gateway passes them; junk falls back with a warning, never a throw', () => {
  const ok = parseWorkerArgs(['--session', 's1', '--poll-ms', '250', '--idle-timeout-ms=0', '--max-line-bytes', '4096', '--parent-death-signal', 'KILL'], {});
  assert.deepEqual([ok.sessionId, ok.pollMs, ok.idleTimeoutMs, ok.maxLineBytes, ok.parentDeathSignal, ok.warnings], ['s1', 250, 0, 4096, true, []]);
  const bad = parseWorkerArgs(['--poll-ms', 'soon', '--max-line-bytes', '10', '--frob', '--session'], {});
  assert.deepEqual([bad.pollMs, bad.maxLineBytes, bad.sessionId], [1000, 1024, '']);
  for (const needle of ['--poll-ms', '--max-line-bytes', '--frob', '--session needs a value']) {
    assert.ok(bad.warnings.some((w) => w.includes(needle)), `${needle}: ${bad.warnings.join(' | ')}`);
  }
});
