// A checkpoint directory shared between machines (an NFS home under ~/.vscode-server): another
// machine's checkpoint has another boot id, which on this machine would prove its owner dead.
// The machine id keeps it out of every judgement here; only age removes it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CheckpointData, checkpointPath, loadCheckpoints, writeCheckpointSync } from '../../src/core/checkpoint';
import type { Fingerprint } from '../../src/core/fingerprint';
import { machineIdFrom, readMachineId } from '../../src/core/machineId';
import { ELSEWHERE_CHECKPOINT_MAX_AGE_MS, pruneStaleCheckpoints } from '../../src/core/orphansClear';
import { ProcessRegistry } from '../../src/core/registry';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-machine-'));
  dirs.push(d);
  return d;
}

const here = readMachineId();
const hereId = here.state === 'known' ? here.id : undefined;
// Records only: nothing here is ever signalled. Another boot id than this machine's, and a pid
// above any this test machine hands out: on this machine, an owner proved dead.
const owner = (pid: number): Fingerprint => ({ pid, startTime: 777, bootId: 'another-boot' });
const checkpoint = (fp: Fingerprint, machine: string | undefined, writtenAt = Date.now()): CheckpointData => ({
  version: 1, owner: fp, writtenAt, ...(machine === undefined ? {} : { machine }), records: [],
});

test('this machine has an id, and reading it again gives the same one', { skip: process.platform !== 'linux' ? 'read on Linux only' : undefined }, () => {
  assert.equal(here.state, 'known', here.state === 'unknown' ? here.why : '');
  assert.deepEqual(readMachineId(), here);
  if (process.platform === 'linux' && fs.existsSync('/etc/machine-id')) {
    assert.equal(hereId, fs.readFileSync('/etc/machine-id', 'utf8').trim().toLowerCase());
  }
});

test('the machine id: the first file that holds one, else the host name; a failed read is unknown, never the fallback', () => {
  const d = tempDir();
  const empty = path.join(d, 'empty');
  fs.writeFileSync(empty, '\n'); // systemd's "not yet initialised"
  const good = path.join(d, 'good');
  fs.writeFileSync(good, 'ABCDEF0123456789abcdef0123456789\n');
  const missing = path.join(d, 'missing');
  assert.deepEqual(machineIdFrom([missing, empty, good]), { state: 'known', id: 'abcdef0123456789abcdef0123456789' });
  assert.deepEqual(machineIdFrom([missing, empty]), { state: 'known', id: `host:${os.hostname()}` });
  // A directory in place of the file: EISDIR, not absence. The host name here would be another id
  // than the one this machine wrote before.
  const unreadable = machineIdFrom([d, good]);
  assert.equal(unreadable.state, 'unknown');
  assert.match(unreadable.state === 'unknown' ? unreadable.why : '', /EISDIR/);
});

test('another machine\'s checkpoint is left out of this machine\'s judgement; an unmarked one is judged as before', { skip: hereId === undefined ? 'no machine id here' : undefined }, () => {
  const d = tempDir();
  writeCheckpointSync(checkpointPath(d, owner(4_100_011)), checkpoint(owner(4_100_011), 'other-machine'));
  writeCheckpointSync(checkpointPath(d, owner(4_100_012)), checkpoint(owner(4_100_012), hereId));
  writeCheckpointSync(checkpointPath(d, owner(4_100_013)), checkpoint(owner(4_100_013), undefined));
  const r = loadCheckpoints(d);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.checkpoints.map((c) => c.owner.pid).sort(), [4_100_012, 4_100_013]);
  assert.deepEqual(r.elsewhere.map((c) => [c.owner.pid, c.machine]), [[4_100_011, 'other-machine']]);
});

test('pruning deletes this machine\'s dead hosts\' checkpoints, keeps another machine\'s until it is 30 days old', { skip: hereId === undefined ? 'no machine id here' : undefined }, () => {
  const d = tempDir();
  const now = Date.now();
  const fresh = checkpointPath(d, owner(4_100_021));
  writeCheckpointSync(fresh, checkpoint(owner(4_100_021), 'other-machine', now - ELSEWHERE_CHECKPOINT_MAX_AGE_MS + 60_000));
  const old = checkpointPath(d, owner(4_100_022));
  writeCheckpointSync(old, checkpoint(owner(4_100_022), 'other-machine', now - ELSEWHERE_CHECKPOINT_MAX_AGE_MS - 60_000));
  const mine = checkpointPath(d, owner(4_100_023));
  writeCheckpointSync(mine, checkpoint(owner(4_100_023), hereId, now));
  const r = pruneStaleCheckpoints(d, now);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.deleted.sort(), [old, mine].sort());
  assert.deepEqual(r.kept, [fresh], 'a host of another machine may be alive: its other boot id proves nothing here');
  assert.ok(fs.existsSync(fresh));
});

test('a registry writes this machine\'s id into its checkpoint', { skip: hereId === undefined ? 'no machine id here' : undefined }, () => {
  const d = tempDir();
  const reg = new ProcessRegistry({ owner: owner(4_100_031), checkpointDir: d });
  try {
    reg.add({ role: 'gateway', fingerprint: owner(4_100_032), command: 'gateway', startedAt: Date.now() });
    assert.ok(reg.flushSync(), 'written');
    assert.equal(reg.snapshot().machine, hereId);
    const [cp] = loadCheckpoints(d).checkpoints;
    assert.equal(cp?.machine, hereId);
  } finally {
    reg.dispose();
  }
});

test('a temp file name already taken (EEXIST) fails the write and leaves that file alone', () => {
  const d = tempDir();
  const file = checkpointPath(d, owner(4_100_041));
  // This test file's process writes its temp files as .<name>.<pid>.<n>.tmp, n counting from 1.
  const taken: string[] = [];
  for (let n = 1; n <= 50; n++) {
    const t = path.join(d, `.${path.basename(file)}.${process.pid}.${n}.tmp`);
    fs.writeFileSync(t, 'somebody else\'s', { mode: 0o600 });
    taken.push(t);
  }
  assert.throws(() => writeCheckpointSync(file, checkpoint(owner(4_100_041), hereId)), /EEXIST/);
  for (const t of taken) assert.equal(fs.readFileSync(t, 'utf8'), 'somebody else\'s', `${t} was left alone`);
  assert.ok(!fs.existsSync(file));
});
