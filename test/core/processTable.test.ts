import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { descendantsOf, listProcesses, processSource, scanProcSync } from '../../src/core/processTable';
import { clockTicksPerSecond, readProcStat } from '../../src/core/procfs';
import { uptimeSeconds } from '../../src/core/orphansAge';
import { isLiveState, type PidLook } from '../../src/core/processSource';
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

test("the macOS reader (one ps call) run against this machine's ps agrees with /proc on a child", { skip: !linux }, async () => {
  const child = spawnNode('setInterval(() => {}, 1000)', { args: ['--marked', 'two words'], detached: true });
  const darwin = processSource('darwin');
  const list = await darwin.list();
  assert.ok(list.complete, list.why);
  const row = list.rows.find((p) => p.pid === child.pid);
  const stat = readProcStat(child.pid!)!;
  assert.ok(row, 'the child is listed');
  assert.deepEqual([row.ppid, row.pgid, row.uid], [process.pid, child.pid, process.getuid!()]);
  assert.match(row.cmdline, /--marked two words$/);
  assert.ok(isLiveState(row.state) && isLiveState(stat.state), `live in both (${row.state}, ${stat.state})`);
  // lstart has a 1 s resolution: the start time is the child's wall-clock start, to the second.
  const bootMs = Date.now() - uptimeSeconds()! * 1000;
  const expected = (bootMs + (stat.startTime / clockTicksPerSecond()) * 1000) / 1000;
  assert.ok(Math.abs(row.startTime! - expected) <= 2, `start ${row.startTime} vs ${expected}`);
  assert.ok(!list.rows.some((p) => p.cmdline.startsWith('ps -ww -A')), 'the ps call itself is not listed');
  // A look at the child and a pid that does not exist: one call, found and gone.
  const looks = await darwin.look([child.pid!, 999_999_999]);
  assert.equal(looks.get(child.pid!)?.state, 'found');
  assert.equal(looks.get(999_999_999)?.state, 'gone');
  const fields = (l: PidLook | undefined) => (l?.state === 'found' ? { ...l.info, state: undefined } : l);
  assert.deepEqual(fields(darwin.lookSync([child.pid!]).get(child.pid!)), fields(looks.get(child.pid!)), 'blocking and non-blocking looks agree');
  child.kill('SIGKILL');
});
