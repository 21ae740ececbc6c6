import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprintOf, formatFingerprint } from '../../src/core/fingerprint';
import { killTree } from '../../src/core/kill';
import { isAlive, killTracked, readLineMatching, spawnNode, spawnTracked, track, waitFor } from '../support/processes';

after(killTracked);
const posix = process.platform !== 'win32';

// root ─┬─ a: `sh` in its own session ── grand: `sleep` (a's group, not root's)
//       └─ b: node in its own session, ignores SIGTERM (needs SIGKILL)
const TREE = `
const { spawn } = require('child_process');
const a = spawn('sh', ['-c', 'sleep 1000 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
a.stdout.once('data', (grand) => {
  const b = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)"],
    { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  b.stdout.once('data', () => console.log(JSON.stringify({ a: a.pid, grand: Number(String(grand).trim()), b: b.pid })));
});
setInterval(() => {}, 1000);
`;

async function spreadTree() {
  const root = spawnNode(TREE);
  const pids = await readLineMatching(root.stdout!, (l) => (l.startsWith('{') ? JSON.parse(l) as { a: number; grand: number; b: number } : undefined));
  track(pids.a, true);
  track(pids.grand);
  track(pids.b, true);
  return { root, ...pids, rootFp: fingerprintOf(root.pid!)! };
}

test('killTree kills a tree spread over several sessions and leaves an unrelated process alive', { skip: !posix }, async () => {
  const unrelated = spawnTracked('sleep', ['1000'], { stdio: 'ignore' });
  const t = await spreadTree();
  const r = await killTree(t.rootFp, { graceMs: 200 });
  assert.equal(r.refused, undefined);
  assert.deepEqual(r.survivors, []);
  const byPid = new Map(r.processes.map((p) => [p.pid, p]));
  assert.equal(r.processes[0].pid, t.root.pid, 'root first');
  for (const pid of [t.root.pid!, t.a, t.grand, t.b]) {
    assert.equal(byPid.get(pid)?.outcome, 'killed', `pid ${pid}: ${JSON.stringify(byPid.get(pid))}`);
    await waitFor(() => !isAlive(pid), `pid ${pid} to be gone`, 2000);
  }
  assert.deepEqual(byPid.get(t.b)!.signals.slice(0, 2), ['SIGTERM', 'SIGKILL'], 'the SIGTERM-ignoring child needed SIGKILL');
  assert.equal(byPid.get(t.grand)!.signals[0], 'SIGTERM');
  assert.ok(!byPid.has(unrelated.pid!), 'the unrelated process is not part of the tree');
  assert.ok(isAlive(unrelated.pid!), 'the unrelated process survives');
});

test('killTree refuses a root whose pid now belongs to another process', { skip: !posix }, async () => {
  const innocent = spawnTracked('sleep', ['1000'], { stdio: 'ignore' });
  const fp = await waitFor(() => fingerprintOf(innocent.pid!), 'the sleeper to start');
  const r = await killTree({ ...fp, startTime: fp.startTime + 7 }, { graceMs: 100 });
  assert.equal(r.processes.length, 1);
  assert.deepEqual([r.processes[0].outcome, r.processes[0].reason], ['already-gone', 'reused']);
  assert.deepEqual(r.processes[0].signals, []);
  assert.ok(isAlive(innocent.pid!));
});

test('killTree refuses this process and pid 1, and survives garbage', async () => {
  const self = await killTree(fingerprintOf(process.pid)!);
  assert.match(self.refused ?? '', /this process/);
  assert.equal(self.processes[0].reason, 'protected');
  const init = await killTree({ pid: 1, startTime: 0, bootId: 'x' });
  assert.equal(init.processes[0].reason, 'protected');
  const junk = await killTree({ pid: 'x' } as never);
  assert.match(junk.refused ?? '', /not a process fingerprint/);
});

test('killTree also takes children forked after its snapshot (a parent that spawns on SIGTERM)', { skip: !posix }, async () => {
  // On SIGTERM the root ignores the signal and starts a new child in its own session: that child
  // was not in the first snapshot, and must be found while its parent is still alive.
  const root = spawnNode(`
    const { spawn } = require('child_process');
    process.on('SIGTERM', () => {
      const late = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
      console.log('late ' + late.pid);
    });
    console.log('ready');
    setInterval(() => {}, 1000);
  `);
  await readLineMatching(root.stdout!, (l) => (l === 'ready' ? true : undefined));
  const latePid = readLineMatching(root.stdout!, (l) => (l.startsWith('late ') ? Number(l.slice(5)) : undefined));
  const r = await killTree(fingerprintOf(root.pid!)!, { graceMs: 300 });
  const late = await latePid;
  track(late, true);
  assert.deepEqual(r.survivors, []);
  const entry = r.processes.find((p) => p.pid === late);
  assert.ok(entry, `the late child ${late} was adopted: ${JSON.stringify(r.processes)}`);
  assert.equal(entry.outcome, 'killed');
  await waitFor(() => !isAlive(late), 'the late child to be gone', 2000);
});

// root ─┬─ plain: `sleep`
//       └─ owned: node carrying a live host's marker ── below: `sleep`
const TREE_WITH_LIVE_OWNER = `
const { spawn } = require('child_process');
const plain = spawn('sleep', ['1000'], { stdio: 'ignore' });
const owned = spawn(process.execPath, ['-e', "const c = require('child_process').spawn('sleep', ['1000'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000)"],
  { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, GATEWAY_WARDEN_OWNER: process.argv[1] } });
owned.stdout.once('data', (below) => console.log(JSON.stringify({ plain: plain.pid, owned: owned.pid, below: Number(String(below).trim()) })));
setInterval(() => {}, 1000);
`;

test('killTree spares a vetoed descendant and its whole subtree (another live host\'s processes)', { skip: process.platform !== 'linux' && 'owner markers are read from /proc' }, async () => {
  const liveHost = formatFingerprint(fingerprintOf(process.pid)!);
  const root = spawnNode(TREE_WITH_LIVE_OWNER, { args: [liveHost] });
  const pids = await readLineMatching(root.stdout!, (l) => (l.startsWith('{') ? JSON.parse(l) as { plain: number; owned: number; below: number } : undefined));
  track(pids.plain);
  track(pids.owned);
  track(pids.below);
  const asked: number[] = [];
  const r = await killTree(fingerprintOf(root.pid!)!, {
    graceMs: 200,
    spare: (p) => {
      asked.push(p.pid);
      return p.owner === liveHost ? 'owned by a live host' : undefined;
    },
  });
  assert.equal(isAlive(root.pid!), false);
  assert.equal(isAlive(pids.plain), false);
  assert.ok(isAlive(pids.owned), 'the live host\'s process survives');
  assert.ok(isAlive(pids.below), 'and so does everything below it');
  const byPid = new Map(r.processes.map((e) => [e.pid, e]));
  assert.equal(byPid.get(pids.owned)?.outcome, 'refused');
  assert.match(byPid.get(pids.owned)!.message, /owned by a live host/);
  assert.equal(byPid.get(pids.below)?.outcome, 'refused');
  assert.ok(!asked.includes(root.pid!), 'the root is the caller\'s decision');
});
