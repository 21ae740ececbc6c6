// The one reader of small kernel files: its shared buffer's edge, a file past it read whole,
// the bound, a view that does not outlive the next read, and the owner read by the same open.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readKernelFile } from '../../src/core/kernelFile';
import { readProcStatOwnedChecked, readProcUidChecked } from '../../src/core/procfs';
import { OTHER_UID, startOtherUsersSleep } from '../support/processes';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-kfile-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

test('a file at, under and past the 64 KiB buffer is read whole and exact', () => {
  for (const size of [0, 1, 65_535, 65_536, 65_537, 200_000]) {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7) % 251;
    const got = readKernelFile(file(`f${size}`, bytes));
    assert.ok(got !== 'too-large');
    assert.equal(Buffer.compare(got, bytes), 0, `size ${size}`);
  }
});

test('more than maxBytes is "too-large", under and past the buffer; exactly maxBytes is read', () => {
  const p = file('big', Buffer.alloc(100_000, 1));
  assert.equal(readKernelFile(p, { maxBytes: 1000 }), 'too-large');
  assert.equal(readKernelFile(p, { maxBytes: 70_000 }), 'too-large');
  const exact = readKernelFile(p, { maxBytes: 100_000 });
  assert.ok(exact !== 'too-large' && exact.length === 100_000);
});

test('a returned view is the shared buffer: the next read overwrites it (callers decode at once)', () => {
  const a = readKernelFile(file('a', Buffer.from('aaaa')));
  const text = a !== 'too-large' ? a.toString() : '';
  readKernelFile(file('b', Buffer.from('bbbb')));
  assert.equal(text, 'aaaa');
  assert.equal(a !== 'too-large' && a.toString(), 'bbbb', 'the view now shows the later read');
});

test('noFollow refuses a symlink; a missing file throws ENOENT', () => {
  const target = file('t', Buffer.from('x'));
  const link = path.join(dir, 'link');
  fs.symlinkSync(target, link);
  assert.throws(() => readKernelFile(link, { noFollow: true }), /ELOOP/);
  assert.equal((readKernelFile(link) as Buffer).toString(), 'x');
  assert.throws(() => readKernelFile(path.join(dir, 'nope')), /ENOENT/);
});

test('owner: the open file\'s owner; for /proc/PID/stat the process\'s (another uid\'s too), as readProcUidChecked reads it', { skip: process.platform !== 'linux' }, async () => {
  const p = file('owned', Buffer.from('x'));
  const owner: { uid?: number } = {};
  assert.equal((readKernelFile(p, { owner }) as Buffer).toString(), 'x');
  assert.equal(owner.uid, fs.statSync(p).uid);
  const self = readProcStatOwnedChecked(process.pid);
  assert.ok(self.state === 'found' && self.value.stat.pid === process.pid && self.value.uid === process.getuid!(), JSON.stringify(self));
  if (process.getuid!() !== 0) return; // another uid's process needs setpriv as root
  const nobody = await startOtherUsersSleep();
  try {
    const other = readProcStatOwnedChecked(nobody.pid!);
    assert.ok(other.state === 'found' && other.value.uid === OTHER_UID, JSON.stringify(other));
    assert.deepEqual(readProcUidChecked(nobody.pid!), { state: 'found', value: OTHER_UID });
  } finally {
    nobody.kill('SIGKILL');
  }
  // Gone once reaped (a zombie still has its /proc entry): our child, reaped before 'exit' is emitted.
  if (nobody.exitCode === null && nobody.signalCode === null) await new Promise((r) => nobody.once('exit', r));
  assert.equal(readProcStatOwnedChecked(nobody.pid!).state, 'gone');
});
