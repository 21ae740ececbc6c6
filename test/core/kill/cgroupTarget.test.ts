// The teardown engine's cgroup target on the real kernel: members from cgroup.procs (a setsid,
// double-forked escapee included), SIGTERM by pid with a grace, one cgroup.kill for the rest,
// the emptied leaf removed; a process inside the leaf takes the others down by pid and keeps it;
// a directory that is not ours is refused. Skipped (with the reason) where cgroup v2 is not
// writable here.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cgroupTarget, teardown, teardownSync } from '../../../src/core/kill';
import { readProcStat } from '../../../src/core/procfs';
import { cgroupsUnavailable, cleanupCgroupTrees, pidLine, shellInLeaf, startCgroupGateway } from '../../support/cgroups';
import { isAlive, killTracked, readLineMatching, spawnNode, track, waitFor } from '../../support/processes';

const skip = cgroupsUnavailable();
if (skip) console.log(`# cgroup target tests skipped: ${skip}`);

afterEach(cleanupCgroupTrees);
after(() => {
  cleanupCgroupTrees();
  killTracked();
});

async function leafOf(sessionId = `k${Date.now()}`) {
  const gw = await startCgroupGateway();
  const leaf = await gw.request<{ ok: boolean; path: string; why?: string }>({ op: 'leaf', sessionId });
  assert.ok(leaf.ok, leaf.why);
  return { gw, leaf: leaf.path };
}

/** A SIGTERM-ignoring shell in `leaf` with a setsid, double-forked escapee; returns both pids. */
async function stubbornWithEscapee(leaf: string): Promise<{ shell: number; escapee: number }> {
  const sh = shellInLeaf(leaf, "trap '' TERM HUP; setsid sh -c 'trap \"\" TERM; sleep 1000 & echo $!' </dev/null; while :; do sleep 1; done");
  const escapee = await pidLine(sh);
  await waitFor(() => readProcStat(escapee)?.ppid !== sh.pid && readProcStat(escapee)?.sid !== readProcStat(sh.pid!)?.sid, 'the escapee to be re-parented in its own session');
  return { shell: sh.pid!, escapee };
}

test('a cgroup target: SIGTERM by pid, the grace, one cgroup.kill for what ignored it, the leaf removed', { skip }, async () => {
  const { leaf } = await leafOf();
  const { shell, escapee } = await stubbornWithEscapee(leaf);
  const r = await teardown([cgroupTarget(leaf)], { graceMs: 150, timeoutMs: 10_000 });
  assert.deepEqual(r.refusals, []);
  assert.deepEqual(r.survivors, []);
  const pids = r.processes.map((p) => p.pid);
  assert.ok(pids.includes(shell) && pids.includes(escapee), `both members taken in from cgroup.procs: ${pids}`);
  const kinds = r.signals.map((s) => s.signal);
  assert.ok(kinds.includes('SIGTERM'), 'SIGTERM first');
  const kills = r.signals.filter((s) => s.signal === 'cgroup.kill');
  assert.equal(kills.length, 1, `one cgroup.kill: ${JSON.stringify(r.signals)}`);
  assert.equal(kills[0].cgroup, leaf);
  assert.ok(!kinds.includes('SIGKILL'), 'no SIGKILL by pid');
  assert.deepEqual(r.cgroups, [{ path: leaf, outcome: 'empty', method: 'cgroup.kill', removed: true }]);
  assert.equal(isAlive(shell) || isAlive(escapee), false);
  assert.equal(fs.existsSync(leaf), false);
});

test('a cgroup target whose members honour SIGTERM needs no cgroup.kill; SIGKILL first skips the grace', { skip }, async () => {
  const a = await leafOf('polite');
  const sh = shellInLeaf(a.leaf, 'echo $$; exec sleep 1000');
  const pid = await pidLine(sh);
  const r = await teardown([cgroupTarget(a.leaf)], { graceMs: 5000, timeoutMs: 10_000 });
  assert.deepEqual(r.signals.map((s) => s.signal), ['SIGTERM']);
  assert.equal(r.cgroups?.[0].outcome, 'empty');
  assert.equal(isAlive(pid), false);
  const b = await leafOf('hard');
  const { shell } = await stubbornWithEscapee(b.leaf);
  const k = teardownSync([cgroupTarget(b.leaf)], { firstSignal: 'SIGKILL', timeoutMs: 10_000 });
  assert.deepEqual(k.signals.map((s) => s.signal), ['cgroup.kill'], 'blocking driver, straight to cgroup.kill');
  assert.equal(k.cgroups?.[0].removed, true);
  assert.equal(isAlive(shell), false);
});

test('an empty or missing leaf is done at once; a directory that is not ours is refused', { skip }, async () => {
  const { leaf } = await leafOf('empty');
  const e = await teardown([cgroupTarget(leaf)]);
  assert.deepEqual(e.signals, []);
  assert.deepEqual(e.cgroups, [{ path: leaf, outcome: 'empty', method: 'none', removed: true }]);
  const g = await teardown([cgroupTarget(leaf)]);
  assert.equal(g.cgroups?.[0].outcome, 'gone');
  const tmp = fs.mkdtempSync('/tmp/gateway-warden-1-');
  try {
    const n = await teardown([cgroupTarget(path.join(tmp, 's-x'))]);
    assert.equal(n.refusals.length, 1);
    assert.equal(n.cgroups?.[0].outcome, 'refused');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a member of the leaf takes the others down by pid (no cgroup.kill: it would die too) and keeps the leaf', { skip }, async () => {
  const { leaf } = await leafOf('self');
  const kill = JSON.stringify(path.resolve(__dirname, '../../../src/core/kill/index.js'));
  const child = spawnNode(`
const fs = require('fs');
const { spawn } = require('child_process');
fs.writeFileSync(${JSON.stringify(leaf)} + '/cgroup.procs', String(process.pid));
const sh = spawn('setsid', ['sh', '-c', 'trap "" TERM; sleep 1000 & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'] });
sh.stdout.once('data', (d) => {
  console.log('ESCAPEE ' + d.toString().trim());
  setTimeout(() => {
    const r = require(${kill}).teardownSync([{ kind: 'cgroup', path: ${JSON.stringify(leaf)} }], { graceMs: 100, timeoutMs: 5000 });
    console.log('REPORT ' + JSON.stringify(r));
  }, 100);
});
setInterval(() => undefined, 1000);
`, { stdio: ['ignore', 'pipe', 'inherit'] });
  const escapee = await readLineMatching(child.stdout!, (l) => (l.startsWith('ESCAPEE ') ? Number(l.slice(8)) : undefined));
  track(escapee);
  const report = await readLineMatching(child.stdout!, (l) => (l.startsWith('REPORT ') ? JSON.parse(l.slice(7)) : undefined), 20_000);
  assert.deepEqual(report.refusals, []);
  assert.ok(report.processes.some((p: { pid: number }) => p.pid === escapee));
  assert.ok(!report.signals.some((s: { signal: string }) => s.signal === 'cgroup.kill'));
  assert.deepEqual(report.cgroups, [{ path: leaf, outcome: 'empty', method: 'by-pid', removed: false }]);
  assert.equal(isAlive(escapee), false, 'the escapee is gone');
  assert.equal(isAlive(child.pid!), true, 'the member that ran it is not');
  assert.ok(fs.existsSync(leaf), 'its own leaf is kept');
  child.kill('SIGKILL');
});
