// Containment of a worker's escapees, proven with the real gateway, real signals and the process
// table (issue 13): a `/run setsid sleep 1000 &` escapee and a double-forked one are gone after
// session.close, after the gateway's stdin ends (the host's death), and after the host is
// SIGKILLed — with cgroups on (each escapee is in its session's leaf, and there it drops every
// marker: nothing but the kernel's list can find it) and with GATEWAY_WARDEN_CGROUPS=off (the
// markers kept: today's group, tree and marker rules). No gateway-warden-* directory is left: a
// gateway whose host died leaves its tree empty, and the next gateway's start removes it.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findLeftoverTrees } from '../../src/core/cgroup/cgroupLeftovers';
import { readProcCgroupPath } from '../../src/core/cgroup/cgroupMount';
import { sessionLeafName } from '../../src/core/cgroup/cgroupNames';
import { probeCgroups } from '../../src/core/cgroup/cgroupProbe';
import { createTree } from '../../src/core/cgroup/cgroupTree';
import { EMPTY_TREE_MIN_AGE_MS, removeEmptyDeadTrees } from '../../src/core/cgroup/emptyTrees';
import { OWNER_ENV, PARENT_ENV } from '../../src/core/ownerMarker';
import { parentDeathSignalPrefix } from '../../src/core/parentDeathSignal';
import { catchesSignal, readProcCmdline, readProcStat } from '../../src/core/procfs';
import { cgroupsUnavailable, cleanupCgroupTrees, pidLine, shellInLeaf, startCgroupGateway, trackTree } from '../support/cgroups';
import { createSession, exec, GatewayEvent, HostedGateway, startHostedGateway, stopHostedGateway, treeLeftEmptyThenRemoved, waitNoMarked } from '../support/gatewayHost';
import { isAlive, killTracked, readLineMatching, spawnTracked, track, waitFor } from '../support/processes';

const noCgroups = cgroupsUnavailable();
if (noCgroups) console.log(`# cgroup containment tests skipped: ${noCgroups}`);
const linux = process.platform === 'linux';

afterEach(cleanupCgroupTrees);
after(() => {
  cleanupCgroupTrees();
  killTracked();
});

type Mode = 'cgroup' | 'off';

/**
 * Fallback: the workers' SIGTERM handlers find a setsid escapee by its marker (a /proc scan);
 * on a loaded machine the default 100 ms lifeline grace can end a worker before its scan does,
 * and the escapee survives (a hole of the fallback the cgroup path does not have), so the
 * fallback runs here with a grace that lets the scan finish.
 */
const FALLBACK_ARGS = ['--lifeline-grace-ms', '3000'];

async function start(mode: Mode): Promise<{ g: HostedGateway; ready: GatewayEvent; tree?: string }> {
  const g = await startHostedGateway({ env: { GATEWAY_WARDEN_CGROUPS: mode === 'off' ? 'off' : '' }, args: mode === 'off' ? FALLBACK_ARGS : [] });
  const ready = g.events.find((e) => e.type === 'gateway.ready')!;
  if (mode === 'cgroup') {
    assert.equal(ready.containment, 'cgroup', `containment: ${JSON.stringify(ready)}`);
    const tree = ready.cgroup as string;
    trackTree(tree);
    assert.equal(path.basename(tree), `gateway-warden-${g.gatewayPid}`);
    const gwCgroup = readProcCgroupPath(g.gatewayPid);
    assert.ok(gwCgroup.state === 'found' && tree.endsWith(`${gwCgroup.value.replace(/\/gateway$/, '')}`) && gwCgroup.value.endsWith('/gateway'), `the gateway is in its own leaf: ${JSON.stringify(gwCgroup)}`);
    return { g, ready, tree };
  }
  assert.equal(ready.containment, 'process-group');
  assert.equal(ready.cgroup, null);
  assert.match(String(ready.containmentReason), /GATEWAY_WARDEN_CGROUPS=off/);
  return { g, ready };
}

/**
 * Two escapees of the session's worker: `setsid sleep 1000 &`, and a double fork (a subshell's
 * setsid child, re-parented away at once). With cgroups they drop every Warden marker.
 */
async function escapees(g: HostedGateway, sessionId: string, mode: Mode): Promise<number[]> {
  const strip = mode === 'cgroup' ? 'env -u GATEWAY_WARDEN_PARENT -u GATEWAY_WARDEN_OWNER ' : '';
  // The double fork's pid reaches the file whenever its shell runs: wait for it (up to 10 s), not a fixed 0.2 s.
  const dbl = '/tmp/.gw-dbl-$$';
  const waitDbl = `i=0; until grep -q dbl= ${dbl} 2>/dev/null || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done`;
  const out = await exec(g, sessionId, `/run ${strip}setsid sleep 1000 >/dev/null 2>&1 & echo bg=$!; ( ${strip}setsid sh -c 'sleep 1000 & echo dbl=$!' >${dbl} & ); ${waitDbl}; cat ${dbl}; rm -f ${dbl}`);
  const pids = [/bg=(\d+)/.exec(out)?.[1], /dbl=(\d+)/.exec(out)?.[1]].map(Number);
  assert.ok(pids.every((p) => p > 0), `two escapee pids in ${JSON.stringify(out)}`);
  for (const p of pids) track(p);
  await waitFor(() => pids.every(isAlive), 'both escapees alive');
  // The pids are printed before they exec sleep (the first is `env`/`setsid` until then, with
  // the markers in its environment): wait until each is the sleep whose environment is checked.
  await waitFor(() => pids.every((p) => readProcCmdline(p)[0] === 'sleep'), `escapees ${pids} to exec sleep`);
  return pids;
}

function assertInLeaf(pids: number[], tree: string, sessionId: string): void {
  const leaf = `/${path.basename(tree)}/${sessionLeafName(sessionId)}`;
  for (const p of pids) {
    const cg = readProcCgroupPath(p);
    assert.ok(cg.state === 'found' && cg.value.endsWith(leaf), `pid ${p} is in the session leaf ${leaf}: ${JSON.stringify(cg)}`);
    const env = fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0');
    assert.ok(!env.some((v) => v.startsWith(`${OWNER_ENV}=`) || v.startsWith(`${PARENT_ENV}=`)), `pid ${p} carries no Warden marker`);
  }
}

const modes: Mode[] = ['cgroup', 'off'];
for (const mode of modes) {
  const skip = !linux ? 'Linux only (setsid, /proc)' : mode === 'cgroup' ? noCgroups : undefined;
  const what = mode === 'cgroup' ? 'cgroups on' : 'GATEWAY_WARDEN_CGROUPS=off';

  test(`${what}: session.close ends the worker's setsid and double-forked escapees`, { skip }, async () => {
    const { g, tree } = await start(mode);
    const s = await createSession(g);
    const pids = await escapees(g, s, mode);
    if (tree) {
      assertInLeaf(pids, tree, s);
      assert.ok(fs.existsSync(path.join(tree, sessionLeafName(s))));
    }
    assert.deepEqual(await g.rpc.request('session.close', { sessionId: s }), { closed: true });
    await waitFor(() => !pids.some(isAlive), `escapees ${pids} gone after session.close`, 10_000);
    if (tree) assert.equal(fs.existsSync(path.join(tree, sessionLeafName(s))), false, 'the session leaf was removed');
    // The host's deactivate: gateway.shutdown, then the gateway exits and removes its tree.
    await g.rpc.request('gateway.shutdown', { graceMs: 500 });
    await waitFor(() => !isAlive(g.gatewayPid), 'the gateway to exit');
    if (tree) assert.equal(fs.existsSync(tree), false, 'the tree was removed at exit');
    await stopHostedGateway(g);
  });

  test(`${what}: a worker SIGTERMed from outside ends, and its escapees are gone (in its leaf: at once, the gateway takes the leaf)`, { skip }, async () => {
    const { g } = await start(mode);
    const s = await createSession(g);
    const pids = await escapees(g, s, mode);
    const worker = g.workerPids()[0];
    process.kill(worker, 'SIGTERM');
    const exited = await g.waitEvent((e) => e.type === 'worker.exited' && e.pid === worker, 'worker.exited');
    // In its leaf the worker has no SIGTERM handler (the kernel's default ends it); without cgroups it runs its own teardown and exits 0.
    if (mode === 'cgroup') assert.equal(exited.signal, 'SIGTERM', JSON.stringify(exited));
    else assert.equal(exited.code, 0, JSON.stringify(exited));
    await waitFor(() => !pids.some(isAlive), `escapees ${pids} gone after the worker's SIGTERM`, 10_000);
    assert.ok(isAlive(g.gatewayPid), 'the gateway runs on');
    assert.match(await exec(g, s, '/echo again'), /again/, 'the session gets a new worker');
    await stopHostedGateway(g);
  });

  test(`${what}: the gateway's stdin ends (host gone): escapees of two sessions are gone, the tree left empty and removed by the next start`, { skip }, async () => {
    const { g, tree } = await start(mode);
    const a = await createSession(g);
    const b = await createSession(g);
    const pids = [...(await escapees(g, a, mode)), ...(await escapees(g, b, mode))];
    if (tree) {
      assertInLeaf(pids.slice(0, 2), tree, a);
      assertInLeaf(pids.slice(2), tree, b);
    }
    g.host.stdin!.end();
    await waitFor(() => !pids.some(isAlive), `escapees ${pids} gone after stdin EOF`, 10_000);
    await waitFor(() => !isAlive(g.gatewayPid), 'the gateway to exit');
    await waitNoMarked(g.hostFp);
    if (tree) await treeLeftEmptyThenRemoved(tree);
  });

  test(`${what}: the host SIGKILLed: escapees gone, no process left, the tree left empty and removed by the next start`, { skip }, async (t) => {
    const { g, tree } = await start(mode);
    const s = await createSession(g);
    const pids = await escapees(g, s, mode);
    const worker = g.workerPids()[0];
    // In its leaf a worker leaves SIGTERM to the kernel's default, and its mask says so (node
    // itself catches it from start-up): the host-gone sweep then ends the tree with one write.
    const st = readProcStat(worker);
    assert.equal(st && catchesSignal(st, 15), mode === 'cgroup' ? false : true, `the worker's SIGTERM mask: ${st?.sigCatch}`);
    const killedAt = Date.now();
    g.host.kill('SIGKILL');
    await waitFor(() => ![...pids, worker, g.gatewayPid].some(isAlive), `escapees ${pids}, worker and gateway gone after the host's SIGKILL`, 10_000);
    t.diagnostic(`${what}: host SIGKILL → escapees, worker and gateway gone in ${Date.now() - killedAt} ms`);
    await waitNoMarked(g.hostFp);
    if (tree) await treeLeftEmptyThenRemoved(tree);
  });
}

test('cgroups on: the host SIGKILLed: a process of a session that handles SIGTERM gets it (and the grace) before the tree ends', { skip: !linux ? 'Linux only' : noCgroups }, async (t) => {
  const dir = fs.mkdtempSync('/tmp/gw-term-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const mark = path.join(dir, 'term');
  const { g } = await start('cgroup');
  const s = await createSession(g);
  const out = await exec(g, s, `/run sh -c 'trap "echo term > ${mark}; exit 0" TERM; while :; do sleep 0.05; done' >/dev/null 2>&1 & echo pid=$!`);
  const handler = Number(/pid=(\d+)/.exec(out)?.[1]);
  assert.ok(handler > 0, out);
  track(handler);
  await waitFor(() => { const st = readProcStat(handler); return st !== undefined && catchesSignal(st, 15) === true; }, 'the shell to set its trap');
  const worker = g.workerPids()[0];
  g.host.kill('SIGKILL');
  await waitFor(() => ![handler, worker, g.gatewayPid].some(isAlive), 'the handler, the worker and the gateway gone after the host\'s SIGKILL', 10_000);
  assert.equal(fs.readFileSync(mark, 'utf8').trim(), 'term', 'the handler got SIGTERM');
  await waitNoMarked(g.hostFp);
});

test('cgroups on: the gateway SIGKILLed, nobody sweeping: the worker\'s group keeper, become its reaper, takes the session leaf — escapees with no marker gone', { skip: !linux ? 'Linux only' : noCgroups ?? (parentDeathSignalPrefix().prefix ? undefined : 'no parent-death signal here (no group keeper)') }, async () => {
  // The host (this test) does not sweep the tree, the gateway is dead: only the worker's own
  // chain is left — the kernel's parent-death SIGKILL (or the worker exiting at once on its
  // gateway's end of stdin) and its keeper. Escapees without a marker are found by the kernel's
  // list of the leaf alone.
  const { g, tree } = await start('cgroup');
  const s = await createSession(g);
  const pids = await escapees(g, s, 'cgroup');
  assertInLeaf(pids, tree!, s);
  const worker = g.workerPids()[0];
  process.kill(g.gatewayPid, 'SIGKILL');
  await waitFor(() => ![...pids, worker].some(isAlive), `escapees ${pids} and worker ${worker} gone after the gateway's SIGKILL`, 10_000);
  g.host.kill('SIGKILL');
});

test('a worker refuses a --cgroup leaf outside the tree it was born in, says so, and runs contained by its group', { skip: !linux ? 'Linux only' : noCgroups }, async () => {
  const dist = path.resolve(__dirname, '../../../dist/worker.js');
  const bogus = '/sys/fs/cgroup/unified/gateway-warden-1/s-not-mine';
  const w = spawnTracked(process.execPath, [dist, '--session', 'x', '--cgroup', bogus], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  w.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const ready = await readLineMatching(w.stdout!, (l) => {
    try {
      const m = JSON.parse(l);
      return m.method === 'ready' ? m.params : undefined;
    } catch {
      return undefined;
    }
  });
  assert.equal(ready.cgroup, null, 'not contained by the bogus leaf');
  assert.match(err, /not contained by cgroup .*s-not-mine/);
  const own = readProcCgroupPath(w.pid!);
  assert.ok(own.state === 'found' && !own.value.includes('gateway-warden-1'), `still where it was born: ${JSON.stringify(own)}`);
  assert.equal(fs.existsSync(bogus), false, 'nothing was created');
  w.stdin!.end();
  await waitFor(() => !isAlive(w.pid!), 'the worker to exit on stdin EOF');
});

test('a harness removes only the empty trees its own run left (madeSince), old enough, never a live gateway\'s', { skip: !linux ? 'Linux only' : noCgroups }, async () => {
  // A tree made before the run and one made during it, both empty with their gateway dead; a
  // third made during it whose gateway lives.
  const before = await startCgroupGateway();
  await waitFor(() => Date.now() > fs.statSync(before.tree.path).ctimeMs + 5, 'the clock to move past the first tree');
  const since = Date.now();
  const during = await startCgroupGateway();
  const alive = await startCgroupGateway();
  for (const gw of [before, during]) {
    gw.child.kill('SIGKILL');
    await waitFor(() => !isAlive(gw.child.pid!), `stand-in ${gw.child.pid} gone`);
  }
  await waitFor(() => Date.now() - fs.statSync(during.tree.path).ctimeMs >= EMPTY_TREE_MIN_AGE_MS + 100, 'the trees to be old enough', EMPTY_TREE_MIN_AGE_MS + 5000);
  const logged: string[] = [];
  const { removed, young } = removeEmptyDeadTrees({ madeSince: since, log: (m) => logged.push(m) });
  // Ours only: another run on the machine may have a young tree of its own.
  assert.deepEqual(young.filter((t) => [before, during, alive].some((g) => g.tree.path === t)), []);
  assert.ok(removed.includes(during.tree.path), `the run's empty tree removed: ${JSON.stringify({ removed, logged })}`);
  assert.equal(fs.existsSync(during.tree.path), false);
  assert.ok(!removed.includes(before.tree.path) && fs.existsSync(before.tree.path), 'a tree made before the run is not the run\'s to remove');
  assert.ok(fs.existsSync(alive.tree.path), 'a live gateway\'s tree stays');
});

test('an empty tree whose name\'s pid is a live process outside it, older than the tree (owner "unknown": a reused pid), is removed once old enough; that process is untouched', { skip: !linux ? 'Linux only' : noCgroups }, async () => {
  const since = Date.now();
  const other = spawnTracked('sleep', ['600'], { stdio: 'ignore' });
  await waitFor(() => Date.now() > since + 20, 'the sleep to be older than the tree');
  const probe = probeCgroups({});
  assert.ok(probe.available, probe.available ? '' : probe.reason);
  const made = createTree(probe, { gatewayPid: other.pid!, moveSelf: false });
  assert.ok(made.ok, made.ok ? '' : made.why);
  trackTree(made.tree.path);
  const listed = findLeftoverTrees({}).trees.find((t) => t.path === made.tree.path);
  assert.equal(listed?.owner, 'unknown', `the premise: ${JSON.stringify(listed)}`);
  assert.deepEqual(listed?.members, []);
  await waitFor(() => Date.now() - fs.statSync(made.tree.path).ctimeMs >= EMPTY_TREE_MIN_AGE_MS + 100, 'the tree to be old enough', EMPTY_TREE_MIN_AGE_MS + 5000);
  const r = removeEmptyDeadTrees({ madeSince: since });
  assert.ok(r.removed.includes(made.tree.path), JSON.stringify(r));
  assert.equal(fs.existsSync(made.tree.path), false);
  assert.ok(isAlive(other.pid!), 'the process its name points at is untouched');
});

test('a starting gateway removes the empty trees of dead gateways beside its own, and leaves a live one, a populated one and a young one alone', { skip: !linux ? 'Linux only' : noCgroups }, async (t) => {
  // Two stand-in gateways make their trees; one is SIGKILLed with nothing in its tree (what a
  // gateway killed together with its host leaves), one with a process left in a leaf.
  const empty = await startCgroupGateway();
  const populated = await startCgroupGateway();
  const leaf = await populated.request<{ ok: boolean; path: string; why?: string }>({ op: 'leaf', sessionId: 'kept' });
  assert.ok(leaf.ok, leaf.why);
  const sleeper = shellInLeaf(leaf.path, 'echo $$; exec sleep 600');
  await pidLine(sleeper);
  const alive = await startCgroupGateway();
  for (const gw of [empty, populated]) {
    gw.child.kill('SIGKILL');
    await waitFor(() => !isAlive(gw.child.pid!), `stand-in ${gw.child.pid} gone`);
  }
  // An empty tree is removed only once it is old enough: a young one may be a gateway's between
  // its mkdir and its move in whose pid we cannot see (another pid namespace). Its stand-in is as
  // dead as the first's.
  await waitFor(() => Date.now() - fs.statSync(empty.tree.path).ctimeMs >= EMPTY_TREE_MIN_AGE_MS + 100, 'the empty tree to be old enough', EMPTY_TREE_MIN_AGE_MS + 5000);
  const young = await startCgroupGateway();
  young.child.kill('SIGKILL');
  await waitFor(() => !isAlive(young.child.pid!), `stand-in ${young.child.pid} gone`);
  const youngMadeMs = fs.statSync(young.tree.path).ctimeMs;
  const g = await startHostedGateway({ env: { GATEWAY_WARDEN_CGROUPS: '' } });
  const readyAt = Date.now();
  try {
    assert.equal(g.events.find((e) => e.type === 'gateway.ready')?.containment, 'cgroup');
    await waitFor(() => !fs.existsSync(empty.tree.path), `the empty tree ${empty.tree.path} removed`);
    assert.match(g.stderr(), new RegExp(`removed the empty tree of dead gateway ${empty.child.pid}`));
    assert.ok(fs.existsSync(populated.tree.path), 'a tree with a live member is an orphan\'s, not removed here');
    assert.ok(isAlive(sleeper.pid!));
    assert.ok(fs.existsSync(alive.tree.path), 'a live gateway\'s tree stays');
    // Start-up is over (ready came after it): the young tree was looked at and left — unless the
    // start itself took longer than the minimum age (a loaded machine): then it was old enough.
    if (!fs.existsSync(young.tree.path)) {
      assert.ok(readyAt - youngMadeMs >= EMPTY_TREE_MIN_AGE_MS, `the young tree was removed ${readyAt - youngMadeMs} ms after it was made`);
      t.diagnostic(`inconclusive for the young tree: the gateway took ${readyAt - youngMadeMs} ms to start`);
      return;
    }
    assert.ok(g.stderr().includes(`left the empty tree ${young.tree.path} for a later start: made less than`), g.stderr());
  } finally {
    await stopHostedGateway(g);
  }
});
