// findExecutable resolves a program name as execvp does, on real files: a path relative to the
// working directory, else the first executable regular file along PATH; ENOENT when nothing has
// the name, EACCES when only non-executables (or directories) do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findExecutable } from '../../src/core/executablePath';

const posix = process.platform !== 'win32';

test('PATH search, relative paths, ENOENT and EACCES', { skip: !posix }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-exe-'));
  try {
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    fs.writeFileSync(path.join(a, 'tool'), 'plain text', { mode: 0o644 });
    fs.writeFileSync(path.join(b, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(a, 'only-plain'), 'x', { mode: 0o644 });
    fs.mkdirSync(path.join(b, 'a-dir'));
    const env = { PATH: `${a}:${b}` };
    assert.deepEqual(findExecutable('tool', env, '/'), { ok: true, file: path.join(b, 'tool') }, 'a non-executable earlier on PATH is passed over');
    assert.deepEqual(findExecutable('only-plain', env, '/'), { ok: false, code: 'EACCES' });
    assert.deepEqual(findExecutable('a-dir', env, '/'), { ok: false, code: 'EACCES' });
    assert.deepEqual(findExecutable('missing', env, '/'), { ok: false, code: 'ENOENT' });
    assert.deepEqual(findExecutable('./tool', env, b), { ok: true, file: path.join(b, 'tool') }, 'a name with a slash is relative to the working directory');
    assert.deepEqual(findExecutable('b/tool', {}, root), { ok: true, file: path.join(b, 'tool') });
    assert.deepEqual(findExecutable('./tool', env, a), { ok: false, code: 'EACCES' }, 'not searched on PATH');
    assert.deepEqual(findExecutable('tool', { PATH: `:${a}` }, b), { ok: true, file: path.join(b, 'tool') }, 'an empty PATH entry is the working directory');
    assert.deepEqual(findExecutable('', env, '/'), { ok: false, code: 'ENOENT' });
    assert.equal(findExecutable('sh', {}, '/').ok, true, 'without PATH, the shells\' default path');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
