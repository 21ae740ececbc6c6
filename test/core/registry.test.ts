import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProcessRecord, ProcessRegistry, loadCheckpoints } from '../../src/core/registry';
import { checkpointFileName, writeCheckpointSync } from '../../src/core/checkpoint';
import { Fingerprint, selfFingerprint } from '../../src/core/fingerprint';
import { killTracked, readLineMatching, spawnNode, waitFor } from '../support/processes';

const dirs: string[] = [];
after(() => {
  killTracked();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-registry-'));
  dirs.push(d);
  return d;
}

// Checkpoint files are read only when private to us, whatever the umask.
const PRIVATE = { mode: 0o600 };

// Records only: these tests never signal anything, so made-up fingerprints are safe.
const owner: Fingerprint = { pid: 4_000_001, startTime: 12345, bootId: 'test-boot' };
function rec(pid: number, extra: Partial<ProcessRecord> = {}): ProcessRecord {
  return {
    role: 'worker',
    fingerprint: { pid, startTime: 1000 + pid, bootId: 'test-boot' },
    pgid: pid,
    command: `worker ${pid}`,
    startedAt: 1_700_000_000_000 + pid,
    ...extra,
  };
}

test('checkpoint round-trip: what was recorded is what loadCheckpoints returns', async () => {
  const dir = tempDir();
  const reg = new ProcessRegistry({ owner, checkpointDir: dir });
  reg.add(rec(10, { role: 'gateway', sessionId: undefined }));
  reg.add(rec(11, { sessionId: 's1' }));
  reg.markExited(11, { code: null, signal: 'SIGTERM' });
  await reg.flush();
  assert.equal(path.basename(reg.checkpointFile!), '4000001_12345_test-boot.json');
  const { checkpoints, problems } = loadCheckpoints(dir);
  assert.deepEqual(problems, []);
  assert.equal(checkpoints.length, 1);
  const cp = checkpoints[0];
  assert.deepEqual(cp.owner, owner);
  assert.equal(cp.version, 1);
  assert.equal(typeof cp.writtenAt, 'number');
  assert.equal(cp.file, reg.checkpointFile);
  assert.deepEqual(cp.records, reg.all());
  assert.equal(cp.records.find((r) => r.fingerprint.pid === 11)!.exitSignal, 'SIGTERM');
  assert.deepEqual(loadCheckpoints(dir, { exclude: owner }).checkpoints, [], 'exclude leaves out our own');
  reg.dispose();
});

test('checkpoint file has mode 0600 and no temp file is left behind', { skip: process.platform === 'win32' }, async () => {
  const dir = tempDir();
  const reg = new ProcessRegistry({ owner, checkpointDir: dir, debounceMs: 0 });
  for (let i = 0; i < 20; i++) {
    reg.add(rec(100 + i));
    await reg.flush();
  }
  assert.equal(fs.statSync(reg.checkpointFile!).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(dir), [checkpointFileName(owner)]);
  reg.dispose();
});

test('debounce coalesces a burst of changes into few writes, and the last state wins', async () => {
  const dir = tempDir();
  const reg = new ProcessRegistry({ owner, checkpointDir: dir, debounceMs: 50 });
  for (let i = 0; i < 200; i++) reg.add(rec(1000 + i));
  assert.equal(reg.writeCount, 0, 'nothing written synchronously on add');
  await waitFor(() => reg.writeCount > 0, 'the debounced write');
  assert.ok(reg.writeCount <= 2, `200 changes took ${reg.writeCount} writes`);
  assert.equal(loadCheckpoints(dir).checkpoints[0].records.length, 200);
  reg.dispose();
});

test('a write that fails is tried again on its own, without waiting for another change: the file catches up once it can be written', async () => {
  const dir = tempDir();
  const reg = new ProcessRegistry({ owner, checkpointDir: dir, debounceMs: 20 });
  // In the way of the rename (as a full disk or EMFILE would be of the write): a non-empty directory.
  fs.mkdirSync(path.join(reg.checkpointFile!, 'x'), { recursive: true });
  reg.add(rec(7));
  await waitFor(() => reg.lastWriteError !== undefined, 'the first write to fail');
  assert.equal(reg.writeCount, 0);
  fs.rmSync(reg.checkpointFile!, { recursive: true });
  // No further change: the retry alone writes it.
  await waitFor(() => reg.writeCount === 1, 'the retry to write the file', 10_000);
  assert.equal(reg.lastWriteError, undefined);
  assert.deepEqual(loadCheckpoints(dir).checkpoints[0].records.map((r) => r.fingerprint.pid), [7]);
  reg.dispose();
});

test('flushSync writes at once; deleteCheckpoint removes the file and cancels pending writes', async () => {
  const dir = tempDir();
  const reg = new ProcessRegistry({ owner, checkpointDir: dir, debounceMs: 60_000 });
  reg.add(rec(7));
  assert.equal(fs.existsSync(reg.checkpointFile!), false);
  assert.equal(reg.flushSync(), true);
  assert.equal(loadCheckpoints(dir).checkpoints[0].records.length, 1);
  reg.add(rec(8));
  reg.deleteCheckpoint();
  assert.equal(fs.existsSync(reg.checkpointFile!), false);
  reg.dispose();
  assert.equal(fs.existsSync(reg.checkpointFile!), false, 'dispose after delete writes nothing');
});

test('a write failure is reported, never thrown from the timer', async () => {
  const dir = tempDir();
  const blocker = path.join(dir, 'not-a-dir');
  fs.writeFileSync(blocker, 'x');
  const reg = new ProcessRegistry({ owner, checkpointDir: path.join(blocker, 'sub'), debounceMs: 0 });
  reg.add(rec(9));
  await waitFor(() => reg.lastWriteError, 'the write error');
  assert.equal(reg.flushSync(), false);
  await assert.rejects(reg.flush(), /ENOTDIR|EEXIST/);
  reg.dispose();
});

test('truncated and garbage files are quarantined as .corrupt, reported, and never throw', () => {
  const dir = tempDir();
  const good = new ProcessRegistry({ owner, checkpointDir: dir, debounceMs: 0 });
  good.add(rec(1));
  good.flushSync();
  const text = fs.readFileSync(good.checkpointFile!, 'utf8');
  fs.writeFileSync(path.join(dir, '1_2_x.json'), text.slice(0, text.length / 2), PRIVATE);
  fs.writeFileSync(path.join(dir, '3_4_x.json'), '\u0000\u0001garbage', PRIVATE);
  fs.writeFileSync(path.join(dir, '5_6_x.json.corrupt'), 'an earlier one');
  fs.writeFileSync(path.join(dir, '5_6_x.json'), '', PRIVATE);
  const { checkpoints, problems } = loadCheckpoints(dir);
  assert.deepEqual(checkpoints.map((c) => c.owner), [owner], 'the good one still loads');
  assert.equal(problems.length, 3);
  for (const p of problems) assert.match(p, /corrupt checkpoint .*not valid JSON.*moved aside to/);
  const names = fs.readdirSync(dir).sort();
  assert.deepEqual(names, [
    '1_2_x.json.corrupt', '3_4_x.json.corrupt', checkpointFileName(owner),
    '5_6_x.json.corrupt', '5_6_x.json.corrupt.1',
  ].sort());
  assert.deepEqual(loadCheckpoints(dir).problems, [], 'quarantined files are not read again');
  good.dispose();
});

test('wrong-shape JSON (bad version, owner or record) is quarantined with the reason', () => {
  const dir = tempDir();
  const base = { version: 1, owner, writtenAt: Date.now(), records: [rec(1)] };
  const cases: [string, unknown, RegExp][] = [
    ['a.json', [1, 2], /not a JSON object/],
    ['b.json', { ...base, version: '1' }, /unsupported version "1"/],
    ['c.json', { ...base, owner: { pid: -1 } }, /owner is not a fingerprint/],
    ['d.json', { ...base, records: [rec(1), { ...rec(2), role: 'boss' }] }, /record 1: bad role "boss"/],
    ['e.json', { ...base, records: [{ ...rec(3), fingerprint: { pid: '3' } }] }, /record 0: bad fingerprint/],
    ['f.json', { ...base, records: 'none' }, /records is not an array/],
    ['g.json', { ...base, records: [{ ...rec(4, { role: 'gateway' }), cgroup: 7 }] }, /record 0: bad cgroup/],
    ['h.json', { ...base, records: [rec(5, { role: 'gateway', cgroup: `/${'x'.repeat(5000)}` })] }, /record 0: bad cgroup/],
  ];
  for (const [name, v] of cases) fs.writeFileSync(path.join(dir, name), JSON.stringify(v), PRIVATE);
  const { checkpoints, problems } = loadCheckpoints(dir);
  assert.deepEqual(checkpoints, []);
  assert.equal(problems.length, cases.length);
  for (const [name, , re] of cases) {
    const p = problems.find((x) => x.includes(path.join(dir, name)));
    assert.ok(p, `a problem for ${name}`);
    assert.match(p, re);
    assert.ok(fs.existsSync(path.join(dir, `${name}.corrupt`)));
  }
});

test('a gateway record\'s cgroup tree round-trips; a checkpoint written before the field existed loads unchanged', async () => {
  const dir = tempDir();
  const reg = new ProcessRegistry({ owner, checkpointDir: dir });
  reg.add(rec(20, { role: 'gateway', cgroup: '/sys/fs/cgroup/user.slice/run-u7.scope/gateway-warden-20' }));
  await reg.flush();
  const loaded = loadCheckpoints(dir);
  assert.deepEqual(loaded.problems, []);
  assert.equal(loaded.checkpoints[0].records[0].cgroup, '/sys/fs/cgroup/user.slice/run-u7.scope/gateway-warden-20');
  reg.dispose();

  const old = tempDir();
  const text = JSON.stringify({ version: 1, owner, writtenAt: 1_700_000_000_000, records: [rec(21, { role: 'gateway' })] });
  fs.writeFileSync(path.join(old, '4000001_12345_test-boot.json'), text, PRIVATE);
  const r = loadCheckpoints(old);
  assert.deepEqual(r.problems, []);
  assert.equal(r.checkpoints.length, 1);
  assert.equal(r.checkpoints[0].records[0].cgroup, undefined);
});

test('a missing directory is simply empty; temp files are ignored, and removed once abandoned', () => {
  assert.deepEqual(loadCheckpoints(path.join(tempDir(), 'nope')), { checkpoints: [], elsewhere: [], problems: [] });
  const dir = tempDir();
  const fresh = path.join(dir, '.x.json.1.1.tmp');
  const abandoned = path.join(dir, '.x.json.1.2.tmp');
  fs.writeFileSync(fresh, '{');
  fs.writeFileSync(abandoned, '{');
  const old = new Date(Date.now() - 3_600_000);
  fs.utimesSync(abandoned, old, old);
  writeCheckpointSync(path.join(dir, checkpointFileName(owner)), { version: 1, owner, writtenAt: 1, records: [] });
  const r = loadCheckpoints(dir);
  assert.equal(r.checkpoints.length, 1);
  assert.deepEqual(r.problems, []);
  assert.ok(fs.existsSync(fresh), 'a temp file being written is left alone');
  assert.ok(!fs.existsSync(abandoned), 'an hour-old temp file is removed');
});

test('a checkpoint from a newer format is skipped with a note, never quarantined', () => {
  const dir = tempDir();
  const file = path.join(dir, '9_9_x.json');
  fs.writeFileSync(file, JSON.stringify({ version: 2, owner, writtenAt: 1, records: [], extra: true }), PRIVATE);
  const r = loadCheckpoints(dir);
  assert.deepEqual(r.checkpoints, []);
  assert.equal(r.problems.length, 1);
  assert.match(r.problems[0], /skipped checkpoint .*9_9_x\.json: written by a newer version \(format 2; this one reads 1\)/);
  assert.ok(fs.existsSync(file));
});

test('pruning keeps at most maxExited exited records, oldest dropped first; live ones are kept', () => {
  let now = 1_000_000;
  const reg = new ProcessRegistry({ owner, maxExited: 3, maxExitedAgeMs: 60_000, now: () => now });
  for (let i = 1; i <= 6; i++) reg.add(rec(i));
  for (let i = 1; i <= 5; i++) {
    now += 10;
    reg.markExited(i, { code: 0 });
  }
  assert.deepEqual(reg.all().filter((r) => r.exitedAt).map((r) => r.fingerprint.pid), [3, 4, 5]);
  assert.deepEqual(reg.live().map((r) => r.fingerprint.pid), [6]);
});

test('pruning drops exited records older than maxExitedAgeMs', () => {
  let now = 1_000_000;
  const reg = new ProcessRegistry({ owner, maxExited: 100, maxExitedAgeMs: 60_000, now: () => now });
  reg.add(rec(1));
  reg.add(rec(2));
  reg.add(rec(3));
  reg.markExited(1);
  now += 30_000;
  reg.markExited(2);
  now += 30_001; // record 1 is now 60 001 ms past its exit, record 2 is 30 001 ms
  assert.deepEqual(reg.all().map((r) => r.fingerprint.pid), [2, 3]);
  now += 30_000;
  assert.equal(reg.prune(), 1);
  assert.deepEqual(reg.all().map((r) => r.fingerprint.pid), [3]);
});

test('markExited and a reused pid follow the live record', () => {
  const reg = new ProcessRegistry({ owner });
  reg.add(rec(20, { sessionId: 'a' }));
  reg.add(rec(21, { sessionId: 'b' }));
  assert.equal(reg.markExited(20, { code: 1 }), true);
  assert.equal(reg.markExited(20, { code: 1 }), false, 'second markExited finds no live record');
  assert.deepEqual(reg.live().map((r) => r.sessionId), ['b']);
  assert.equal(reg.all().find((r) => r.fingerprint.pid === 20)!.exitCode, 1);
  // The same pid reused by a new process: the new record is the live one.
  reg.add({ ...rec(21, { sessionId: 'c' }), fingerprint: { pid: 21, startTime: 99_999, bootId: 'test-boot' } });
  assert.deepEqual(reg.live().map((r) => r.sessionId), ['c'], 'the old holder of pid 21 is presumed dead');
  assert.equal(reg.all().find((r) => r.sessionId === 'b')!.exitCode, null);
});

test('bad options and bad records get a clear error', () => {
  assert.throws(() => new ProcessRegistry({ owner, debounceMs: -1 }), /debounceMs must be a non-negative number/);
  const reg = new ProcessRegistry({ owner });
  assert.throws(() => reg.add({ ...rec(1), role: 'boss' as 'worker' }), /invalid record \(bad role "boss"\)/);
  assert.throws(() => reg.add({ ...rec(1), fingerprint: { pid: 0, startTime: 1, bootId: 'b' } }), /invalid record \(bad fingerprint\)/);
  assert.deepEqual(reg.all(), []);
});

test('a real fingerprint round-trips through the file name and the content', async () => {
  const dir = tempDir();
  const me = selfFingerprint();
  const reg = new ProcessRegistry({ owner: me, checkpointDir: dir });
  reg.add({ role: 'child', fingerprint: me, command: 'me', startedAt: Date.now() });
  await reg.flush();
  const [cp] = loadCheckpoints(dir).checkpoints;
  assert.deepEqual(cp.owner, me);
  assert.equal(path.basename(cp.file), `${me.pid}_${me.startTime}_${me.bootId}.json`);
  reg.deleteCheckpoint();
  assert.deepEqual(loadCheckpoints(dir).checkpoints, []);
});

test('a reader in another process never sees a partial checkpoint while it is rewritten', async () => {
  const dir = tempDir();
  const reg = new ProcessRegistry({ owner, checkpointDir: dir, debounceMs: 0 });
  for (let i = 0; i < 300; i++) reg.add(rec(10_000 + i, { command: `worker ${'x'.repeat(100)} ${i}` }));
  await reg.flush();
  // The reader parses the file in a tight loop until told to stop, then prints its counts.
  const reader = spawnNode(
    "const fs = require('fs'); const f = process.argv[1]; let reads = 0, bad = 0, stop = false;" +
    "process.stdin.on('data', () => { stop = true; });" +
    "(function loop() { for (let i = 0; i < 50; i++) { try { JSON.parse(fs.readFileSync(f, 'utf8')); reads++; } catch (e) { if (e.code !== 'ENOENT') bad++; } }" +
    " if (stop) { console.log(JSON.stringify({ reads, bad })); process.exit(0); } setImmediate(loop); })();",
    { args: [reg.checkpointFile!] },
  );
  const t0 = Date.now();
  let writes = 0;
  while (Date.now() - t0 < 1500 || writes < 50) {
    reg.markExited(10_000 + (writes % 300));
    reg.add(rec(10_000 + (writes % 300), { command: `worker ${'y'.repeat(100)} ${writes}` }));
    await reg.flush();
    writes++;
    await new Promise((r) => setImmediate(r));
  }
  reader.stdin!.write('stop\n');
  const counts = await readLineMatching(reader.stdout!, (l) => (l.startsWith('{') ? JSON.parse(l) as { reads: number; bad: number } : undefined));
  assert.ok(counts.reads > 10, `the reader read ${counts.reads} times`);
  assert.equal(counts.bad, 0, `${counts.bad} of ${counts.reads} reads saw a partial file (${writes} writes)`);
  assert.deepEqual(fs.readdirSync(dir), [checkpointFileName(owner)]);
  reg.dispose();
});

test('flushSync from an exit handler writes pending changes that the debounce would have lost', async () => {
  const dir = tempDir();
  const registryJs = path.resolve(__dirname, '../../src/core/registry.js');
  const child = spawnNode(
    `const { ProcessRegistry } = require(${JSON.stringify(registryJs)});` +
    `const reg = new ProcessRegistry({ owner: { pid: 4000002, startTime: 1, bootId: 'b' }, checkpointDir: ${JSON.stringify(dir)}, debounceMs: 60000 });` +
    "process.on('exit', () => reg.flushSync());" +
    "process.on('SIGTERM', () => process.exit(143));" +
    "reg.add({ role: 'gateway', fingerprint: { pid: 77, startTime: 7, bootId: 'b' }, command: 'gw', startedAt: 1 });" +
    "console.log('ready'); setInterval(() => {}, 1000);",
  );
  await readLineMatching(child.stdout!, (l) => (l === 'ready' ? true : undefined));
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing written yet (60 s debounce)');
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const { checkpoints, problems } = loadCheckpoints(dir);
  assert.deepEqual(problems, []);
  assert.equal(checkpoints.length, 1);
  assert.deepEqual(checkpoints[0].records.map((r) => r.fingerprint.pid), [77]);
});
