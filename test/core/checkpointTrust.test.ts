// Only checkpoints that can be ours are read: a regular file of this user, not writable by
// anyone else, in a directory likewise. Everything else is skipped unread with a reason, never
// followed, never blocking. Reads that could block run in a child process with a deadline, so a
// regression fails the test instead of hanging it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_CHECKPOINT_BYTES, checkpointFileName, loadCheckpoints, writeCheckpointSync } from '../../src/core/checkpoint';
import type { LoadCheckpointsResult } from '../../src/core/checkpoint';
import type { Fingerprint } from '../../src/core/fingerprint';
import { ensurePrivateDirSync, readPrivateFileSync } from '../../src/core/privateFiles';

const posix = process.platform !== 'win32';
const root = process.getuid?.() === 0;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) {
    fs.chmodSync(d, 0o700); // a test may have loosened or locked it
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-trust-'));
  dirs.push(d);
  return d;
}

// Records only: nothing here is ever signalled.
const owner: Fingerprint = { pid: 4_100_001, startTime: 777, bootId: 'test-boot' };
const data = { version: 1 as const, owner, writtenAt: 1, records: [] };
const CHECKPOINT_JS = path.resolve(__dirname, '..', '..', 'src', 'core', 'checkpoint.js');

/** loadCheckpoints in a child process, killed after `deadlineMs`. */
function loadElsewhere(dir: string, opts: { tighten?: boolean } = {}, deadlineMs = 5000): { result?: LoadCheckpointsResult; ms: number; signal: string | null } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['-e', `
    const { loadCheckpoints } = require(${JSON.stringify(CHECKPOINT_JS)});
    process.stdout.write(JSON.stringify(loadCheckpoints(process.argv[1], JSON.parse(process.argv[2]))));
  `, dir, JSON.stringify(opts)], { timeout: deadlineMs, encoding: 'utf8' });
  const ms = Date.now() - t0;
  return { result: r.status === 0 ? (JSON.parse(r.stdout) as LoadCheckpointsResult) : undefined, ms, signal: r.signal };
}

test('a FIFO, a symlink to /dev/zero, a device, a socket and a symlink to a good checkpoint are skipped unread, at once', { skip: !posix }, async () => {
  const dir = tempDir();
  const good = path.join(dir, checkpointFileName(owner));
  writeCheckpointSync(good, data);
  spawnSync('mkfifo', ['-m', '600', path.join(dir, '1_1_fifo.json')]);
  assert.ok(fs.lstatSync(path.join(dir, '1_1_fifo.json')).isFIFO(), 'mkfifo made a FIFO');
  fs.symlinkSync('/dev/zero', path.join(dir, '2_2_zero.json'));
  fs.symlinkSync(good, path.join(dir, '3_3_link.json'));
  const socket = net.createServer().listen(path.join(dir, '4_4_sock.json'));
  await new Promise((resolve) => socket.once('listening', resolve));
  try {
    const { result, ms, signal } = loadElsewhere(dir);
    assert.equal(signal, null, `the reader was killed after ${ms} ms: it blocked`);
    assert.ok(ms < 5000, `${ms} ms`);
    assert.ok(result);
    assert.deepEqual(result.checkpoints.map((c) => c.file), [good], 'the real one still loads');
    const why = (name: string) => result.problems.find((p) => p.includes(name)) ?? `no problem for ${name}`;
    assert.match(why('1_1_fifo.json'), /skipped checkpoint .*: it is a FIFO; only a regular file of this user/);
    assert.match(why('2_2_zero.json'), /skipped checkpoint .*: it is a symbolic link/);
    assert.match(why('3_3_link.json'), /skipped checkpoint .*: it is a symbolic link/);
    assert.match(why('4_4_sock.json'), /skipped checkpoint .*: it is a socket/);
    assert.equal(result.problems.length, 4);
    // Nothing was moved aside or removed: not ours to touch.
    assert.deepEqual(fs.readdirSync(dir).sort(), ['1_1_fifo.json', '2_2_zero.json', '3_3_link.json', '4_4_sock.json', path.basename(good)].sort());
  } finally {
    socket.close();
  }
});

test('a checkpoint writable by its group or others, or owned by another user, is skipped unread', { skip: !posix }, () => {
  const dir = tempDir();
  const write = (name: string, mode: number) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, JSON.stringify(data), { mode: 0o600 });
    fs.chmodSync(f, mode);
    return f;
  };
  write('1_1_world.json', 0o666);
  write('2_2_group.json', 0o620);
  write('3_3_readable.json', 0o644); // readable by others is fine: only writing is evidence of tampering
  if (root) fs.chownSync(write('4_4_nobody.json', 0o600), 65534, 65534);
  const r = loadCheckpoints(dir);
  assert.deepEqual(r.checkpoints.map((c) => path.basename(c.file)), ['3_3_readable.json']);
  const why = (name: string) => r.problems.find((p) => p.includes(name)) ?? `no problem for ${name}`;
  assert.match(why('1_1_world.json'), /it is writable by others \(mode 0666\)/);
  assert.match(why('2_2_group.json'), /it is writable by its group \(mode 0620\)/);
  if (root) assert.match(why('4_4_nobody.json'), /it is owned by uid 65534, not by this user \(uid 0\)/);
  assert.equal(r.problems.length, root ? 3 : 2);
  assert.ok(fs.existsSync(path.join(dir, '1_1_world.json')), 'left where it is, not quarantined');
});

test('a checkpoint larger than the cap is refused without being read', { skip: !posix }, () => {
  const dir = tempDir();
  const big = path.join(dir, '1_1_big.json');
  fs.writeFileSync(big, '', { mode: 0o600 });
  fs.truncateSync(big, MAX_CHECKPOINT_BYTES + 1); // sparse: costs no disk
  const r = loadCheckpoints(dir);
  assert.deepEqual(r.checkpoints, []);
  assert.match(r.problems[0], new RegExp(`skipped checkpoint .*1_1_big\\.json: it is larger than ${MAX_CHECKPOINT_BYTES} bytes`));
  assert.throws(() => readPrivateFileSync(big, 10), /larger than 10 bytes/);
});

test('a directory writable by others is not read — unless it is our own registry, which is tightened to 0700 first', { skip: !posix }, () => {
  const dir = path.join(tempDir(), 'registry');
  writeCheckpointSync(path.join(dir, checkpointFileName(owner)), data);
  fs.chmodSync(dir, 0o777);
  const named = loadCheckpoints(dir);
  assert.deepEqual(named.checkpoints, []);
  assert.match(named.problems[0], /skipped checkpoint directory .*registry: it is writable by others \(mode 0777\); no file in it is read/);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o777, 'a directory someone named is never changed');

  const own = loadCheckpoints(dir, { tighten: true });
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  assert.deepEqual(own.checkpoints.map((c) => c.owner), [owner]);
  assert.deepEqual(own.problems, [`checkpoint directory: tightened ${dir} from mode 0777 to 0700 (checkpoints name this user's processes: only this user may read or write them)`]);
  assert.deepEqual(loadCheckpoints(dir, { tighten: true }).problems, [], 'nothing to say the second time');

  fs.chmodSync(dir, 0o770);
  assert.match(loadCheckpoints(dir).problems[0], /writable by its group \(mode 0770\)/);
  if (root) {
    fs.chownSync(dir, 65534, 65534);
    fs.chmodSync(dir, 0o700);
    const theirs = loadCheckpoints(dir, { tighten: true });
    assert.deepEqual(theirs.checkpoints, []);
    assert.match(theirs.problems[0], /skipped checkpoint directory .*: .*owned by uid 65534/);
    assert.equal(fs.statSync(dir).uid, 65534, 'another user\'s directory is never taken over');
    fs.chownSync(dir, 0, 0);
  }
});

test('our registry directory is created 0700, or tightened to it; a writer tightens it too', { skip: !posix }, () => {
  const base = tempDir();
  const fresh = path.join(base, 'a', 'registry');
  assert.equal(ensurePrivateDirSync(fresh), undefined);
  assert.equal(fs.statSync(fresh).mode & 0o777, 0o700);
  const loose = path.join(base, 'loose');
  fs.mkdirSync(loose);
  fs.chmodSync(loose, 0o777);
  assert.equal(ensurePrivateDirSync(loose), `tightened ${loose} from mode 0777 to 0700`);
  assert.equal(fs.statSync(loose).mode & 0o777, 0o700);
  fs.chmodSync(loose, 0o755);
  writeCheckpointSync(path.join(loose, checkpointFileName(owner)), data);
  assert.equal(fs.statSync(loose).mode & 0o777, 0o700, 'the checkpoint writer keeps its directory private');
  const link = path.join(base, 'link');
  fs.symlinkSync(loose, link);
  assert.throws(() => ensurePrivateDirSync(link), /is a symbolic link, not a directory/, 'never chmod through a link');
});

test('a write cut short (a file-size limit: the disk full or a quota act alike) keeps the old checkpoint whole and throws, never a truncated one in its place', { skip: process.platform !== 'linux' ? 'Linux only (prlimit)' : undefined }, () => {
  const dir = tempDir();
  const file = path.join(dir, checkpointFileName(owner));
  const big = { ...data, writtenAt: 2, records: [{ role: 'worker', fingerprint: owner, command: 'x'.repeat(6000) }] };
  // In a child whose files may not grow past 4 KB; SIGXFSZ ignored, so a write past it is cut
  // short (then EFBIG) instead of killing the process.
  const r = spawnSync('bash', ['-c', 'trap "" XFSZ; exec prlimit --fsize=4096 "$0" -e "$1" "$2" "$3" "$4"', process.execPath, `
    const { writeCheckpointSync } = require(process.argv[1]);
    writeCheckpointSync(process.argv[2], JSON.parse(process.argv[3]).small);
    try {
      writeCheckpointSync(process.argv[2], JSON.parse(process.argv[3]).big);
      process.stdout.write('written');
    } catch (e) {
      process.stdout.write('threw: ' + e.message);
    }
  `, CHECKPOINT_JS, file, JSON.stringify({ small: data, big })], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `${r.stderr}`);
  assert.match(r.stdout, /^threw: /, 'the cut-short write is an error');
  assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), data, 'the old checkpoint, whole');
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
});
