// The Windows tree kill (tree-kill, honouring `spare`): the plan on a recorded Windows table,
// then the real thing on Linux — tree-kill runs here too (it walks `ps --ppid` instead of
// `taskkill /T`), so the same code kills real processes and must leave the spared ones.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fingerprintOf } from '../../src/core/fingerprint';
import { parseCimTable } from '../../src/core/processSourceWindows';
import { processSource } from '../../src/core/processTable';
import { planTreeKill, treeKillSpared } from '../../src/core/treeKillSpared';
import { isAlive, killTracked, readLineMatching, spawnNode, track, waitFor } from '../support/processes';

after(killTracked);

test('plan: a spared process and everything below it stay; a member above something untouchable is killed alone; the rest go whole', () => {
  const rows = parseCimTable(fs.readFileSync(path.resolve(__dirname, '../../../test/core/fixtures/cim-windows.json'), 'utf8'))!.rows;
  const root = rows.find((r) => r.pid === 8124)!;
  const plan = planTreeKill(rows, root, (p) => (p.cmdline.includes('other-window') ? 'owned by a live window' : undefined));
  assert.deepEqual(plan.spared.map((s) => [s.info.pid, s.why]), [[8140, 'owned by a live window'], [8141, 'below spared pid 8140']]);
  // taskkill /T from 8130 would also take notepad (6100), whose stale parent link names 8130.
  assert.deepEqual(plan.whole.map((p) => p.pid), [8131]);
  assert.deepEqual(plan.alone.map((p) => p.pid), [8130, 8124], 'deepest first');
  // Nothing spared: the whole tree in one tree-kill.
  const free = rows.filter((r) => r.pid !== 6100);
  assert.deepEqual(planTreeKill(free, root).whole.map((p) => p.pid), [8124]);
  assert.deepEqual(planTreeKill(free, root).alone, []);
});

// root ─┬─ a ── b (spared) ── c
//       └─ d ── e
// CHAIN DEPTH: a node process that starts a chain of DEPTH more below it; the bottom one prints
// its pid, and each one above prefixes its own: "a b c".
const CHAIN = `
const [depth, self] = [Number(process.argv[1]), process.argv[2]];
if (depth > 0) {
  const c = require('child_process').spawn(process.execPath, ['-e', self, String(depth - 1), self], { stdio: ['ignore', 'pipe', 'ignore'] });
  c.stdout.on('data', (x) => process.stdout.write(process.pid + ' ' + x));
} else console.log(process.pid);
setInterval(() => {}, 1000);
`;
const TREE = `
const chain = (depth) => require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(CHAIN)}, String(depth), ${JSON.stringify(CHAIN)}], { stdio: ['ignore', 'pipe', 'ignore'] });
const lines = [];
for (const c of [chain(2), chain(1)]) c.stdout.on('data', (x) => { lines.push(String(x).trim()); if (lines.length === 2) console.log(JSON.stringify(lines)); });
setInterval(() => {}, 1000);
`;

/** TREE, running: its root, the pids of both chains, the root's fingerprint. */
async function spawnTree() {
  const root = spawnNode(TREE);
  const chains = await readLineMatching(root.stdout!, (l) => (l.startsWith('[') ? JSON.parse(l) as string[] : undefined));
  const [abc, de] = chains.map((l) => l.split(' ').map(Number)).sort((x, y) => y.length - x.length);
  const [a, b, c] = abc;
  const [d, e] = de;
  for (const pid of [a, b, c, d, e]) track(pid);
  return { root, a, b, c, d, e, fp: fingerprintOf(root.pid!)! };
}

test('real processes: tree-kill takes the tree but not the spared process and its child; the report says so', async () => {
  const { root, a, b, c, d, e, fp } = await spawnTree();
  const r = await treeKillSpared(fp, { spare: (p) => (p.pid === b ? 'spared by the test' : undefined), timeoutMs: 5000 }, processSource('linux'));
  const byPid = new Map(r.processes.map((p) => [p.pid, p]));
  for (const pid of [root.pid!, a, d, e]) {
    await waitFor(() => !isAlive(pid), `pid ${pid} to be gone`, 5000);
    assert.equal(byPid.get(pid)?.outcome, 'killed', `${pid}: ${JSON.stringify(byPid.get(pid))}`);
  }
  assert.deepEqual(byPid.get(b), { pid: b, outcome: 'refused', reason: 'protected', message: `pid ${b} spared: spared by the test`, signals: [] });
  assert.equal(byPid.get(c)?.outcome, 'refused');
  assert.match(byPid.get(c)!.message, new RegExp(`below spared pid ${b}`));
  assert.ok(isAlive(b) && isAlive(c), 'the spared process and its child live');
  assert.deepEqual(byPid.get(a)?.signals, ['SIGKILL'], 'a (above the spared one) was killed alone');
  assert.deepEqual(byPid.get(d)?.signals, ['tree-kill'], 'd took its subtree with it');
  assert.deepEqual(r.survivors, []);
  assert.equal(r.processes[0].pid, root.pid, 'root first');
});

test('refuses a root that is no longer the recorded process, and a table it could not read whole', async () => {
  const child = spawnNode('setInterval(() => {}, 1000)');
  const fp = fingerprintOf(child.pid!)!;
  const reused = await treeKillSpared({ ...fp, startTime: fp.startTime - 1 }, {}, processSource('linux'));
  assert.equal(reused.processes[0].outcome, 'already-gone');
  const blind = { ...processSource('linux'), list: async () => ({ rows: [], complete: false, why: 'EMFILE' }) };
  const r = await treeKillSpared(fp, {}, blind);
  assert.match(r.refused ?? '', /cannot read the whole process table \(EMFILE\)/);
  assert.ok(isAlive(child.pid!), 'nothing was signalled');
  child.kill('SIGKILL');
});

test('each kill looks again first: a member whose pid is another process by then (Windows reuses pids fast) is not signalled, nor its subtree', async () => {
  const { root, a, b, c, d, e, fp } = await spawnTree();
  // Between the plan and d's kill, d's pid "becomes" another process: its start time moves on.
  const real = processSource('linux');
  const source = {
    ...real,
    look: async (pids: readonly number[]) => {
      const m = await real.look(pids);
      const x = m.get(d);
      if (x?.state === 'found') m.set(d, { state: 'found', info: { ...x.info, startTime: (x.info.startTime ?? 0) + 1 } });
      return m;
    },
  };
  const r = await treeKillSpared(fp, { spare: (p) => (p.pid === b ? 'spared by the test' : undefined), timeoutMs: 5000 }, source);
  const byPid = new Map(r.processes.map((p) => [p.pid, p]));
  assert.equal(byPid.get(d)?.outcome, 'already-gone', JSON.stringify(byPid.get(d)));
  assert.equal(byPid.get(d)?.reason, 'reused');
  assert.deepEqual(byPid.get(d)?.signals, []);
  assert.ok(isAlive(d) && isAlive(e), 'd and its child were not signalled');
  for (const pid of [root.pid!, a]) await waitFor(() => !isAlive(pid), `pid ${pid} to be gone`, 5000);
  assert.ok(isAlive(b) && isAlive(c), 'the spared ones live');
  for (const pid of [b, c, d, e]) process.kill(pid, 'SIGKILL');
});
