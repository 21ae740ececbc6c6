// The attach token file: a private directory with an unpredictable name, exclusive creation, and
// nothing pre-existing ever followed, replaced or removed.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTokenFile } from '../../src/gateway/tokenFile';

const POSIX = process.platform !== 'win32';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(mode = 0o700): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-token-test-'));
  fs.chmodSync(d, mode);
  dirs.push(d);
  return d;
}
const mode = (p: string) => fs.lstatSync(p).mode & 0o7777;

test('default: a new 0700 directory with an unpredictable name under the temp dir; the file 0600; remove() takes both', { skip: !POSIX }, () => {
  const logs: string[] = [];
  const oldUmask = process.umask(0); // a permissive umask must not widen anything
  let t;
  try {
    t = createTokenFile('secret', undefined, {}, (m) => logs.push(m));
  } finally {
    process.umask(oldUmask);
  }
  assert.equal(path.dirname(t.dir!), os.tmpdir());
  assert.match(path.basename(t.dir!), /^gateway-warden-\d+\.\d+\.[A-Za-z0-9-]+-[A-Za-z0-9]{6}$/, 'the name records our fingerprint, then six random characters');
  assert.equal(t.path, path.join(t.dir!, 'token'));
  assert.equal(mode(t.dir!), 0o700);
  assert.equal(mode(t.path), 0o600);
  assert.equal(fs.readFileSync(t.path, 'utf8'), 'secret\n');
  const second = createTokenFile('other', undefined, {}, () => undefined);
  assert.notEqual(second.dir, t.dir, 'each gateway gets its own directory');
  t.remove();
  second.remove();
  assert.equal(fs.existsSync(t.dir!), false);
  assert.equal(fs.existsSync(second.dir!), false);
  t.remove(); // idempotent
  assert.deepEqual(logs, []);
});

test('XDG_RUNTIME_DIR is used when it is ours and closed to others; otherwise the temp dir, with a log line', { skip: !POSIX }, () => {
  const runtime = tempDir(0o700);
  const t = createTokenFile('x', undefined, { XDG_RUNTIME_DIR: runtime }, () => undefined);
  assert.equal(path.dirname(t.dir!), runtime);
  t.remove();

  const logs: string[] = [];
  const open = tempDir(0o777);
  const u = createTokenFile('x', undefined, { XDG_RUNTIME_DIR: open }, (m) => logs.push(m));
  assert.equal(path.dirname(u.dir!), os.tmpdir());
  assert.match(logs.join('\n'), /not using XDG_RUNTIME_DIR .* \(writable by others \(mode 0777\)\)/);
  u.remove();

  const relative = createTokenFile('x', undefined, { XDG_RUNTIME_DIR: 'relative/dir' }, () => undefined);
  assert.equal(path.dirname(relative.dir!), os.tmpdir(), 'a relative XDG_RUNTIME_DIR is ignored');
  relative.remove();
});

test('an explicit path is created exclusively 0600; whatever is already there is refused and left as it was', { skip: !POSIX }, () => {
  const dir = tempDir();
  const fresh = path.join(dir, 'fresh');
  const t = createTokenFile('tok', fresh, {}, () => undefined);
  assert.equal(t.dir, undefined);
  assert.equal(mode(fresh), 0o600);
  assert.equal(fs.readFileSync(fresh, 'utf8'), 'tok\n');
  t.remove();
  assert.equal(fs.existsSync(fresh), false);

  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'keep\n', { mode: 0o644 });
  const link = path.join(dir, 'link');
  fs.symlinkSync(victim, link);
  const dangling = path.join(dir, 'dangling');
  fs.symlinkSync(path.join(dir, 'would-be-created'), dangling);
  const sub = path.join(dir, 'sub');
  fs.mkdirSync(sub);
  const fifo = path.join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const cases: [string, RegExp][] = [
    [victim, /a file owned by uid/],
    [link, /a symbolic link/],
    [dangling, /a symbolic link/],
    [sub, /a directory/],
    [fifo, /a FIFO/],
  ];
  for (const [p, kind] of cases) {
    const t0 = Date.now();
    assert.throws(() => createTokenFile('tok', p, {}, () => undefined), (e: Error) => {
      assert.ok(e.message.includes(p), e.message);
      assert.match(e.message, /already exists/);
      assert.match(e.message, kind);
      assert.match(e.message, /never followed or replaced/);
      return true;
    });
    assert.ok(Date.now() - t0 < 1000, 'refused at once (a FIFO is never opened)');
  }
  assert.equal(fs.readFileSync(victim, 'utf8'), 'keep\n');
  assert.equal(mode(victim), 0o644);
  assert.equal(fs.readlinkSync(link), victim);
  assert.equal(fs.existsSync(path.join(dir, 'would-be-created')), false, 'a dangling link is not followed to create its target');
  assert.ok(fs.lstatSync(fifo).isFIFO());
});

test('an explicit path in a directory others may write without the sticky bit is refused; with the sticky bit it is fine', { skip: !POSIX }, () => {
  const open = tempDir(0o777);
  assert.throws(() => createTokenFile('tok', path.join(open, 't'), {}, () => undefined), /its directory is unsafe \(writable by others without the sticky bit/);
  assert.deepEqual(fs.readdirSync(open), []);
  const sticky = tempDir(0o1777);
  const t = createTokenFile('tok', path.join(sticky, 't'), {}, () => undefined);
  assert.equal(mode(t.path), 0o600);
  t.remove();
  assert.throws(() => createTokenFile('tok', path.join(open, 'missing', 't'), {}, () => undefined), /its directory is unsafe \(ENOENT/);
});

test('remove() deletes only the file it wrote: a file put in its place is left alone', { skip: !POSIX }, () => {
  const dir = tempDir();
  const p = path.join(dir, 'tok');
  const t = createTokenFile('tok', p, {}, () => undefined);
  fs.unlinkSync(p);
  fs.writeFileSync(p, 'not ours\n'); // likely on the very inode ours had
  t.remove();
  assert.equal(fs.readFileSync(p, 'utf8'), 'not ours\n');

  const q = path.join(dir, 'tok2');
  const u = createTokenFile('tok', q, {}, () => undefined);
  fs.writeFileSync(`${q}.new`, 'not ours either\n');
  fs.renameSync(`${q}.new`, q);
  u.remove();
  assert.equal(fs.readFileSync(q, 'utf8'), 'not ours either\n');
});
