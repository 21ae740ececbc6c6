import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { descendantsOf, listProcesses, scanProcSync } from '../../src/core/processTable';
import { fingerprintOf } from '../../src/core/fingerprint';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { killTracked, readLineMatching, spawnNode } from '../support/processes';

after(killTracked);
const linux = process.platform === 'linux';

test('/proc scan lists a child with pid, ppid, pgid, uid, start time, command line and marker', { skip: !linux }, async () => {
  const marker = `table-test-${process.pid}`;
  const child = spawnNode('setInterval(() => {}, 1000)', {
    args: ['--the-arg', 'with space'],
    env: { ...process.env, [OWNER_ENV]: marker },
    detached: true,
  });
  const me = scanProcSync().find((p) => p.pid === child.pid);
  assert.ok(me, 'child is listed');
  assert.equal(me.ppid, process.pid);
  assert.equal(me.pgid, child.pid, 'detached child leads its own group');
  assert.equal(me.uid, process.getuid!());
  assert.equal(me.startTime, fingerprintOf(child.pid!)!.startTime);
  assert.match(me.cmdline, /--the-arg with space$/);
  assert.equal(me.owner, marker);
  child.kill('SIGKILL');
});

test('descendantsOf follows the tree below a pid', async () => {
  const parent = spawnNode(
    "const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' });" +
    "console.log(c.pid); setInterval(() => {}, 1000)",
  );
  const childPid = await readLineMatching(parent.stdout!, (l) => Number(l) || undefined);
  const table = await listProcesses();
  const desc = descendantsOf(table, parent.pid!).map((p) => p.pid);
  assert.deepEqual(desc, [childPid]);
  process.kill(childPid, 'SIGKILL');
  parent.kill('SIGKILL');
});

test('ps-list backend loads (ESM in CJS) and agrees on our own pid', async () => {
  const table = await listProcesses({ backend: 'ps-list' });
  const me = table.find((p) => p.pid === process.pid);
  assert.ok(me);
  assert.equal(me.ppid, process.ppid);
});
