import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {
  fingerprintOf, formatFingerprint, isSameProcess, parseFingerprint, selfFingerprint,
} from '../../src/core/fingerprint';
import { catchesSignal, parseProcStat, readProcCmdline, readProcEnvVar, readProcRss } from '../../src/core/procfs';
import { killTracked, spawnNode, spawnTracked, waitFor, waitForExit } from '../support/processes';

after(killTracked);
const linux = process.platform === 'linux';

test('fingerprint of a spawned child equals what /proc says', { skip: !linux && 'Linux /proc only' }, async () => {
  const child = spawnNode('setInterval(() => {}, 1000)');
  const pid = child.pid!;
  const fp = fingerprintOf(pid)!;
  const raw = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const field22 = Number(raw.slice(raw.lastIndexOf(')') + 2).split(' ')[22 - 3]);
  assert.equal(fp.pid, pid);
  assert.equal(fp.startTime, field22);
  assert.equal(fp.bootId, fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  assert.ok(isSameProcess(fp));
  child.kill('SIGKILL');
  await waitForExit(pid);
  assert.equal(isSameProcess(fp), false, 'a dead process is not the same process');
});

test('different processes have different fingerprints; a forged start time is not the same process', async () => {
  const a = spawnNode('setInterval(() => {}, 1000)');
  const b = spawnNode('setInterval(() => {}, 1000)');
  const fa = fingerprintOf(a.pid!)!;
  const fb = fingerprintOf(b.pid!)!;
  assert.notEqual(formatFingerprint(fa), formatFingerprint(fb));
  assert.equal(isSameProcess({ ...fa, startTime: fa.startTime + 1 }), false);
  assert.equal(isSameProcess({ ...fa, bootId: 'another-boot' }), false);
  assert.equal(isSameProcess(fa), true);
  a.kill('SIGKILL');
  b.kill('SIGKILL');
});

test('a zombie counts as dead', { skip: !linux && 'Linux /proc only' }, async () => {
  // The parent never reaps its child: the child stays a zombie while the parent lives.
  const parent = spawnNode(
    "const c = require('child_process').spawn('sh', ['-c', 'exit 0'], { stdio: 'ignore' });" +
    "process.stdout.write(c.pid + '\\n'); process.on('SIGCHLD', () => {}); " +
    "c.unref(); setInterval(() => {}, 1000)",
  );
  const zpid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
  // node reaps children itself via libuv, so wait until the kernel shows Z or the pid is gone.
  await waitFor(() => {
    try {
      return fs.readFileSync(`/proc/${zpid}/stat`, 'utf8').includes(') Z ') || undefined;
    } catch {
      return true;
    }
  }, 'child to be a zombie or reaped');
  assert.equal(fingerprintOf(zpid), undefined);
  parent.kill('SIGKILL');
});

test('selfFingerprint matches fingerprintOf(process.pid) and round-trips through text', () => {
  const me = selfFingerprint();
  assert.deepEqual(fingerprintOf(process.pid), me);
  assert.deepEqual(parseFingerprint(formatFingerprint(me)), me);
  for (const bad of ['', 'x', '1:2', '-1:2:b', '1:2:b c', '0:5:x', undefined]) {
    assert.equal(parseFingerprint(bad), undefined, `rejects ${JSON.stringify(bad)}`);
  }
});

test('parseProcStat splits comm at the last parenthesis', () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = 'S';
  fields[1] = '77'; // ppid
  fields[2] = '88'; // pgid
  fields[19] = '123456'; // field 22
  const st = parseProcStat(`4242 (evil) S 1 (x)) ${fields.join(' ')}`)!;
  assert.equal(st.comm, 'evil) S 1 (x)');
  assert.equal(st.ppid, 77);
  assert.equal(st.pgid, 88);
  assert.equal(st.startTime, 123456);
  assert.equal(parseProcStat('garbage'), undefined);
});

test('the signal mask field: a 64-bit mask read as text, every low bit kept; a short or odd line says nothing', () => {
  const line = (sigcatch: string | undefined) => {
    const fields = Array.from({ length: 49 }, (_, i) => String(i + 3));
    fields[0] = 'S';
    if (sigcatch === undefined) fields.length = 30; // ends before field 34
    else fields[31] = sigcatch; // field 34
    return parseProcStat(`7 (node) ${fields.join(' ')}`)!;
  };
  // Node's own start-up mask (HUP, INT, USR1, SEGV, TERM, and signal 33) beside what a worker leaves.
  const node = line(String(0x100004603n));
  assert.equal(node.sigCatch, '4294985219');
  assert.equal(catchesSignal(node, 15), true);
  assert.equal(catchesSignal(node, 9), false);
  assert.equal(catchesSignal(line(String(0x100000603n)), 15), false);
  // Above 2^53 a number would round the low bits away: bit 63 and SIGTERM together.
  const high = line(String((1n << 63n) | (1n << 14n)));
  assert.equal(catchesSignal(high, 15), true);
  assert.equal(catchesSignal(high, 64), undefined, 'out of range');
  assert.equal(catchesSignal(high, 14), false);
  assert.equal(line(undefined).sigCatch, undefined);
  assert.equal(catchesSignal(line(undefined), 15), undefined);
  assert.equal(line('-1').sigCatch, undefined);
  // The real thing: this process's own line from the kernel.
  if (linux) assert.match(parseProcStat(fs.readFileSync('/proc/self/stat', 'utf8'))?.sigCatch ?? '', /^\d+$/);
});

test('/proc reads through the shared buffer: an environment past its 64 KiB is read whole (the marker after it found), and reads do not bleed into each other', { skip: !linux && 'Linux /proc only' }, async () => {
  const big = spawnNode('setInterval(() => {}, 1000)', { args: ['x'.repeat(70_000)], stdio: 'ignore', env: { PAD: 'p'.repeat(100_000), GW_TEST_MARK: 'after-the-padding', PATH: process.env.PATH } });
  const small = spawnTracked('sleep', ['1000'], { stdio: 'ignore', env: { GW_TEST_MARK: 'small', PATH: process.env.PATH } });
  await waitFor(() => readProcCmdline(big.pid!).length === 5 && readProcCmdline(small.pid!)[0] === 'sleep', 'both to start');
  assert.equal(readProcEnvVar(big.pid!, 'GW_TEST_MARK'), 'after-the-padding');
  assert.equal(readProcEnvVar(small.pid!, 'GW_TEST_MARK'), 'small');
  assert.equal(readProcEnvVar(small.pid!, 'PAD'), undefined, 'nothing of the longer read before it');
  assert.equal(readProcCmdline(big.pid!)[4].length, 70_000);
  assert.deepEqual(readProcCmdline(small.pid!), ['sleep', '1000']);
  assert.ok((readProcRss(small.pid!) ?? 0) > 0);
  big.kill('SIGKILL');
  small.kill('SIGKILL');
  await Promise.all([waitForExit(big.pid!), waitForExit(small.pid!)]);
  assert.equal(readProcEnvVar(big.pid!, 'GW_TEST_MARK'), undefined, 'gone: nothing read');
});
