import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprintOf } from '../../src/core/fingerprint';
import { sweepGroups, sweepGroupsSync } from '../../src/core/groupSweep';
import { isAlive, killTracked, readLineMatching, spawnNode, track, waitFor } from '../support/processes';

after(killTracked);
const linux = process.platform === 'linux';

/** A detached leader with one child in its group; `ignoreTerm` makes both ignore SIGTERM. */
async function group(ignoreTerm: boolean): Promise<{ pgid: number; child: number }> {
  const ign = ignoreTerm ? "process.on('SIGTERM', () => {});" : '';
  const leader = spawnNode(
    `${ign} const c = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(`${ign} setInterval(() => {}, 1000)`)}], { stdio: 'ignore' });` +
    "console.log(c.pid); setInterval(() => {}, 1000)",
    { detached: true },
  );
  const child = await readLineMatching(leader.stdout!, (l) => Number(l) || undefined);
  track(child);
  return { pgid: leader.pid!, child };
}

test('one sweep ends several groups, including members that ignore SIGTERM', { skip: !linux }, async () => {
  const a = await group(false);
  const b = await group(true);
  const r = await sweepGroups(
    [{ pgid: a.pgid, leader: fingerprintOf(a.pgid) }, { pgid: b.pgid, leader: fingerprintOf(b.pgid) }],
    { graceMs: 200, timeoutMs: 5000 },
  );
  assert.deepEqual(r.survivors, []);
  assert.deepEqual(r.refused, []);
  for (const pid of [a.pgid, a.child, b.pgid, b.child]) await waitFor(() => !isAlive(pid), `pid ${pid} gone`);
});

test('a group whose recorded leader is another process is refused and left alone', { skip: !linux }, async () => {
  const a = await group(false);
  const fp = fingerprintOf(a.pgid)!;
  const r = sweepGroupsSync([{ pgid: a.pgid, leader: { ...fp, startTime: fp.startTime - 1 } }], { graceMs: 0, timeoutMs: 500, firstSignal: 'SIGKILL' });
  assert.equal(r.refused.length, 1);
  assert.match(r.refused[0], /another process/);
  assert.ok(isAlive(a.pgid) && isAlive(a.child), 'nothing was signalled');
});

test('bad group ids are refused, never signalled', async () => {
  const r = await sweepGroups([{ pgid: 1 }, { pgid: 0 }, { pgid: -5 }], { graceMs: 0, timeoutMs: 100 });
  assert.equal(r.refused.length, 3);
});
