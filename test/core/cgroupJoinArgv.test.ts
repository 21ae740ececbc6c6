// The wrapper that starts a foreign program inside a cgroup leaf, run for real: the program gets
// its argv exactly as given (spaces, quotes, `$`, globs, leading dashes — no shell parsing), runs
// with the pid the shell wrote into cgroup.procs (the move came before the exec), and does not run
// at all when the move fails. A plain directory stands in for the leaf: the shell's write is the
// same `echo $$ >` whether the kernel or a file receives it (the real leaf: test/process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isJoinFailure, JOIN_FAILED_EXIT, JOIN_FAILED_NOTE, joinLeafArgv } from '../../src/core/cgroup/cgroupJoinArgv';

const posix = process.platform !== 'win32';
const HOSTILE = ['a b', '  ', '', '"q"', "it's", '$HOME', '${x:-y}', '$(touch /tmp/pwned-$$)', '`id`', '*', '-n', '--', '-e', 'x\ny', '\\', ';', '&&', '|'];

function run(argv: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env, timeout: 10_000 });
}

test('the program gets its argv exactly as given, with the pid the shell wrote into the leaf', { skip: !posix }, () => {
  const leaf = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-leaf-'));
  try {
    // node prints its own pid and argv: proof of both the exec (same pid) and the argv.
    const script = 'process.stdout.write(JSON.stringify({ pid: process.pid, args: process.argv.slice(1) }))';
    const r = run(joinLeafArgv(leaf, [process.execPath, '-e', script, '--', ...HOSTILE]));
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { pid: number; args: string[] };
    assert.deepEqual(out.args, HOSTILE);
    assert.equal(fs.readFileSync(path.join(leaf, 'cgroup.procs'), 'utf8'), `${out.pid}\n`, 'the shell wrote its own pid, which the program then had');
  } finally {
    fs.rmSync(leaf, { recursive: true, force: true });
  }
});

test('a program named by PATH search and one whose name begins with a dash are found and exec\'d unchanged', { skip: !posix }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-leaf-'));
  try {
    const prog = path.join(dir, '-dashed prog');
    fs.writeFileSync(prog, '#!/bin/sh\nprintf "%s|" "$0" "$@"\n', { mode: 0o755 });
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
    const r = run(joinLeafArgv(dir, ['-dashed prog', '-x', 'a b']), env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${prog}|-x|a b|`);
    const echo = run(joinLeafArgv(dir, ['printf', '%s,', '$PATH', '-']), env);
    assert.equal(echo.stdout, '$PATH,-,');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('when the move fails the program never runs: exit 125 and a line naming the leaf', { skip: !posix }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-leaf-'));
  try {
    const leaf = path.join(dir, 'no such leaf');
    const ran = path.join(dir, 'ran');
    const r = run(joinLeafArgv(leaf, ['touch', ran]));
    assert.equal(r.status, JOIN_FAILED_EXIT);
    assert.ok(r.stderr.includes(`${JOIN_FAILED_NOTE} ${leaf}`), r.stderr);
    assert.equal(fs.existsSync(ran), false, 'the program did not run');
    assert.equal(isJoinFailure(r.status, r.stderr), true);
    // The program's own exit 125 without the note is the program's.
    assert.equal(isJoinFailure(125, 'something else'), false);
    assert.equal(isJoinFailure(1, r.stderr), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('no program: a RangeError, not a shell that runs nothing', () => {
  assert.throws(() => joinLeafArgv('/x', []), RangeError);
  assert.throws(() => joinLeafArgv('/x', ['']), RangeError);
});
