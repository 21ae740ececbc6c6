// Orphans from the kernel's own list, on the real kernel: a stand-in gateway (its real
// gateway-warden-<pid> tree) is SIGKILLed with a setsid escapee left in a session leaf that
// dropped its marker — nothing but the leftover cgroup's cgroup.procs can find it. Every scan is
// scoped to this test's trees (onlyCgroupTrees) and to a dead owner no process carries, so
// nothing outside the test is listed or signalled. Skipped (with the reason) where cgroup v2 is
// not writable.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cgroupProcs } from '../../src/core/cgroup/cgroupMembers';
import { CGROUPS_ENV, cgroupsForcedOff, probeCgroups } from '../../src/core/cgroup/cgroupProbe';
import { findLeftoverTrees } from '../../src/core/cgroup/cgroupLeftovers';
import { Fingerprint, fingerprintOf, formatFingerprint } from '../../src/core/fingerprint';
import { clearOrphans } from '../../src/core/orphansClear';
import { findOrphans, FindOrphansOptions } from '../../src/core/orphansFind';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { readProcCmdline } from '../../src/core/procfs';
import { cgroupsUnavailable, cleanupCgroupTrees, pidLine, shellInLeaf, startCgroupGateway, trackTree } from '../support/cgroups';
import { isAlive, killTracked, spawnNode, track, waitFor, waitForExit } from '../support/processes';
import { deadFingerprint } from './orphansScene';

// Run with GATEWAY_WARDEN_CGROUPS=off (the fallback pass), the finder uses no cgroups by design.
const skip = cgroupsUnavailable() ?? (cgroupsForcedOff() ? `${CGROUPS_ENV}=${process.env[CGROUPS_ENV]}: the orphan scan uses no cgroups` : undefined);
if (skip) console.log(`# cgroup orphan tests skipped: ${skip}`);

const dirs: string[] = [];
afterEach(cleanupCgroupTrees);
after(() => {
  cleanupCgroupTrees();
  killTracked();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function emptyDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cgorphans-'));
  dirs.push(d);
  return d;
}

/** Scoped to `trees` and to a dead owner that no process carries; no patterns. */
async function scoped(trees: string[], extra: Partial<FindOrphansOptions> = {}) {
  return findOrphans({ checkpointDirs: [emptyDir()], patterns: [], owners: [await nobody], onlyCgroupTrees: trees, ...extra });
}
const nobody: Promise<Fingerprint> = skip ? Promise.resolve({ pid: 1, startTime: 0, bootId: 'x' }) : deadFingerprint();

/** A stand-in gateway with a session leaf, SIGKILLed once `fill` has put its processes in the leaf. */
async function leftover(sessionId: string, fill: (leaf: string) => Promise<number[]>) {
  const gw = await startCgroupGateway();
  const leaf = await gw.request<{ ok: boolean; path: string; why?: string }>({ op: 'leaf', sessionId });
  assert.ok(leaf.ok, leaf.why);
  const pids = await fill(leaf.path);
  // The shells that started them may still be listed for a moment: settle on exactly these.
  await waitFor(() => {
    const p = cgroupProcs(leaf.path);
    return p.state === 'found' && [...p.value].sort().join() === [...pids].sort().join();
  }, `the leaf to hold exactly ${pids}`);
  gw.child.kill('SIGKILL');
  await waitForExit(gw.child.pid!);
  return { tree: gw.tree.path, leaf: leaf.path, gatewayPid: gw.child.pid!, pids };
}

/** `setsid sh -c '… &'` from inside the leaf: a double-forked escapee in its own session, whose own environment has no marker (it had one and dropped it). */
async function escapee(leaf: string, deadMarker: string): Promise<number> {
  const sh = shellInLeaf(leaf, `export ${OWNER_ENV}='${deadMarker}'; setsid sh -c 'env -u ${OWNER_ENV} sleep 1000 & echo $!' </dev/null; exit 0`);
  const pid = await pidLine(sh);
  // Printed before `env` ran: wait until the marker is really gone (sleep has replaced env).
  await waitFor(() => readProcCmdline(pid)[0] === 'sleep', `pid ${pid} to exec sleep without the marker`);
  return pid;
}

test('a setsid escapee that dropped its marker, left in a dead gateway\'s cgroup, is found by nothing but the kernel\'s list, and cleared with it', { skip }, async () => {
  const dead = formatFingerprint(await deadFingerprint());
  let pid = 0;
  const t = await leftover('escape', async (leaf) => [(pid = await escapee(leaf, dead))]);
  assert.notEqual(fingerprintOf(pid), undefined);

  // Without the cgroup path neither scan finds it: no marker, no record, no pattern.
  for (const scan of ['candidates', 'full'] as const) {
    const blind = await findOrphans({ checkpointDirs: [emptyDir()], patterns: [], cgroups: false, scan });
    const all = blind.orphans.flatMap((o) => [o.pid, ...o.descendants.map((d) => d.pid)]);
    assert.ok(!all.includes(pid), `${scan}: found without the cgroup (${JSON.stringify(blind.orphans.find((o) => o.pid === pid))})`);
  }

  for (const scan of ['candidates', 'full'] as const) {
    const found = await waitFor(async () => {
      const r = await scoped([t.tree], { scan });
      return r.orphans.length === 1 ? r : undefined;
    }, `${scan}: exactly one orphan in the leftover tree`);
    const o = found.orphans[0];
    assert.equal(o.pid, pid);
    assert.deepEqual(o.reasons, ['dead-owner-cgroup']);
    assert.equal(o.cgroup, t.tree);
    assert.equal(o.owner, undefined, 'no host vouches for it: the kernel does');
    assert.match(o.reasonText, new RegExp(`leftover cgroup gateway-warden-${t.gatewayPid} of gateway pid ${t.gatewayPid}, which is dead \\(pid ${t.gatewayPid} (does not exist|is a zombie)\\)`));
    const tree = found.leftovers.find((x) => x.path === t.tree);
    assert.equal(tree?.owner, 'dead');
    assert.deepEqual(tree?.members, [pid]);
  }

  // The environment switch that forces the fallback turns the kernel's list off here too.
  assert.deepEqual(findLeftoverTrees({ env: { [CGROUPS_ENV]: 'off' } }), { trees: [], problems: [] });
  assert.ok(findLeftoverTrees({ only: [t.tree] }).trees.length === 1);

  const found = await scoped([t.tree]);
  const summary = await clearOrphans(found.orphans, { graceMs: 200 });
  assert.deepEqual(summary.results.map((r) => [r.pid, r.outcome]), [[pid, 'killed']], JSON.stringify(summary.results));
  // A plain sleep honours SIGTERM: the engine's cgroup target ends it in the grace, before any cgroup.kill.
  assert.equal(summary.results[0].why, `ended with the leftover cgroup ${t.tree} (SIGTERM)`);
  assert.deepEqual(summary.remaining, []);
  assert.equal(isAlive(pid), false, 'the escapee is gone');
  assert.equal(fs.existsSync(t.tree), false, 'the leftover tree is removed');
  assert.deepEqual((await scoped([t.tree])).orphans, []);
});

test('an orphan only its leftover cgroup vouched for, moved out of that cgroup before the clear, is not signalled: the tree says nothing of it now', { skip }, async () => {
  const dead = formatFingerprint(await deadFingerprint());
  let pid = 0;
  const t = await leftover('moved', async (leaf) => [(pid = await escapee(leaf, dead))]);
  track(pid);
  const found = await waitFor(async () => {
    const r = await scoped([t.tree]);
    return r.orphans.length === 1 ? r : undefined;
  }, 'exactly one orphan in the leftover tree');
  assert.deepEqual(found.orphans[0].reasons, ['dead-owner-cgroup']);
  // Between the listing and the clear (the CLI's confirm prompt, say) root moves it elsewhere.
  fs.writeFileSync(path.join(path.dirname(t.tree), 'cgroup.procs'), String(pid));
  const summary = await clearOrphans(found.orphans, { graceMs: 200 });
  const row = summary.results.find((r) => r.pid === pid);
  assert.equal(row?.outcome, 'refused', JSON.stringify(summary.results));
  assert.match(row?.why ?? '', /not corroborated: .*no longer in/);
  assert.ok(isAlive(pid), 'it was not signalled');
});

test('a live gateway\'s tree is not a leftover, nor is one whose gateway pid is alive outside it and older than it', { skip }, async () => {
  const live = await startCgroupGateway();
  const leaf = await live.request<{ ok: boolean; path: string }>({ op: 'leaf', sessionId: 'alive' });
  const inLive = await pidLine(shellInLeaf(leaf.path, 'echo $$; exec sleep 1000'));

  // A tree named after this (live, older) process, made now, with a sleep in it: maybe a gateway
  // between mkdir and moving itself in — unknown, so never an orphan.
  const support = probeCgroups({});
  assert.ok(support.available);
  const mine = path.join(support.parentDir, `gateway-warden-${process.pid}`);
  fs.mkdirSync(mine, { mode: 0o700 });
  trackTree(mine);
  fs.mkdirSync(path.join(mine, 's-u'));
  const inMine = await pidLine(shellInLeaf(path.join(mine, 's-u'), 'echo $$; exec sleep 1000'));

  for (const scan of ['candidates', 'full'] as const) {
    const r = await scoped([live.tree.path, mine], { scan });
    assert.deepEqual(r.orphans, [], `${scan}: ${JSON.stringify(r.orphans)}`);
    assert.equal(r.leftovers.find((t) => t.path === live.tree.path)?.owner, 'alive');
    const u = r.leftovers.find((t) => t.path === mine);
    assert.equal(u?.owner, 'unknown', u?.ownerWhy);
    assert.deepEqual(u?.members, [inMine]);
  }
  assert.ok(isAlive(inLive) && isAlive(inMine));
});

test('a member another live host owns stops the whole-tree kill: the escapee goes by the teardown engine, that member and the tree stay', { skip }, async () => {
  const dead = formatFingerprint(await deadFingerprint());
  const host = spawnNode('setInterval(() => {}, 1000)', { stdio: 'ignore' });
  const liveHost = await waitFor(() => fingerprintOf(host.pid!), 'the live host');
  let esc = 0;
  let owned = 0;
  const t = await leftover('mixed', async (leaf) => {
    esc = await escapee(leaf, dead);
    owned = await pidLine(shellInLeaf(leaf, `echo $$; export ${OWNER_ENV}='${formatFingerprint(liveHost)}'; exec sleep 1001`));
    return [esc, owned];
  });

  const found = await waitFor(async () => {
    const r = await scoped([t.tree]);
    return r.orphans.length === 1 ? r : undefined;
  }, 'the escapee alone to be listed');
  assert.equal(found.orphans[0].pid, esc, 'the live host\'s process is never an orphan');
  const summary = await clearOrphans(found.orphans, { graceMs: 200 });
  const r = summary.results.find((x) => x.pid === esc);
  assert.equal(r?.outcome, 'killed', JSON.stringify(summary.results));
  assert.doesNotMatch(r!.why, /cgroup\.kill/, 'not through the cgroup: a live host owns a member');
  assert.ok(!summary.results.some((x) => x.pid === owned), 'the live-owned member is not even signalled');
  await waitForExit(esc);
  assert.ok(isAlive(owned), 'the live host\'s process is alive');
  assert.ok(fs.existsSync(t.tree), 'a tree that still holds it stays');
});
