// Orphans in a tree that lives outside the scanner's own cgroup directory (a delegated systemd
// scope's, a CLI run from another terminal scope), found because a dead host's checkpoint records
// the gateway's tree — and only once the kernel bears the record out. Real cgroups, real processes:
// a tree `<own>/gw-elsewhere-<pid>/gateway-warden-<dead pid>` (one level too deep for the listing
// of our own cgroup's children) with a marker-less sleep in a leaf. Every scan is scoped to this
// test's trees and its dead host. Skipped (with the reason) where cgroup v2 is not writable.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { OrphansJson } from '../../src/cli/jsonShapes';
import { findLeftoverTrees } from '../../src/core/cgroup/cgroupLeftovers';
import { cgroupProcs } from '../../src/core/cgroup/cgroupMembers';
import { CGROUPS_ENV, cgroupsForcedOff, probeCgroups } from '../../src/core/cgroup/cgroupProbe';
import { CHECKPOINT_VERSION, checkpointPath, writeCheckpointSync } from '../../src/core/checkpoint';
import { Fingerprint, fingerprintOf } from '../../src/core/fingerprint';
import type { Orphan } from '../../src/core/orphans';
import { clearOrphans } from '../../src/core/orphansClear';
import { findOrphans } from '../../src/core/orphansFind';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { readProcCmdline } from '../../src/core/procfs';
import type { ProcessRecord } from '../../src/core/registry';
import { cgroupsUnavailable, cleanupCgroupTrees, pidLine, shellInLeaf, trackTree } from '../support/cgroups';
import { isAlive, killTracked, spawnTracked, waitFor, waitForExit } from '../support/processes';
import { deadFingerprint } from './orphansScene';

const skip = cgroupsUnavailable() ?? (cgroupsForcedOff() ? `${CGROUPS_ENV}=${process.env[CGROUPS_ENV]}: the orphan scan uses no cgroups` : undefined);
if (skip) console.log(`# recorded-cgroup orphan tests skipped: ${skip}`);

const dirs: string[] = [];
const elsewheres: string[] = [];
afterEach(cleanupCgroupTrees);
after(() => {
  cleanupCgroupTrees();
  killTracked();
  for (const e of elsewheres) {
    try {
      fs.rmdirSync(e); // empty once the trees in it are removed
    } catch (err) {
      console.log(`# could not remove ${e}: ${(err as Error).message}`);
    }
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cprec-'));
  dirs.push(d);
  return d;
}

/** A cgroup beside ours (a child of our own cgroup's directory), standing for another scope. */
function elsewhere(): string {
  const support = probeCgroups({});
  assert.ok(support.available, support.available ? '' : support.reason);
  const dir = path.join(support.parentDir, `gw-elsewhere-${process.pid}-${elsewheres.length}`);
  fs.mkdirSync(dir, { mode: 0o755 });
  elsewheres.push(dir);
  return dir;
}

/** `<parent>/gateway-warden-<gatewayPid>/s-x` made by hand, with a sleep that carries no marker in the leaf. */
async function treeWithSleep(parent: string, gatewayPid: number): Promise<{ tree: string; sleep: number }> {
  const tree = path.join(parent, `gateway-warden-${gatewayPid}`);
  fs.mkdirSync(tree, { mode: 0o700 });
  trackTree(tree);
  const leaf = path.join(tree, 's-x');
  fs.mkdirSync(leaf);
  const sleep = await pidLine(shellInLeaf(leaf, `echo $$; exec env -u ${OWNER_ENV} sleep 1000`));
  await waitFor(() => readProcCmdline(sleep)[0] === 'sleep', `pid ${sleep} to exec sleep`);
  await waitFor(() => {
    const p = cgroupProcs(leaf);
    return p.state === 'found' && p.value.join() === String(sleep);
  }, `the leaf to hold exactly ${sleep}`);
  return { tree, sleep };
}

function gatewayRecord(gateway: Fingerprint, cgroup?: string): ProcessRecord {
  return { role: 'gateway', fingerprint: gateway, command: 'node dist/gateway.js', startedAt: Date.now() - 1000, ...(cgroup === undefined ? {} : { cgroup }) };
}

/** A 0600 checkpoint of the dead host `owner` in a fresh private directory. */
function checkpointDir(owner: Fingerprint, records: ProcessRecord[]): string {
  const dir = tempDir();
  writeCheckpointSync(checkpointPath(dir, owner), { version: CHECKPOINT_VERSION, owner, writtenAt: Date.now(), records });
  return dir;
}

const scoped = (owner: Fingerprint, dir: string, trees: string[]) => findOrphans({ checkpointDirs: [dir], patterns: [], owners: [owner], onlyCgroupTrees: trees });

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [path.resolve('dist/cli.js'), ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: child.exitCode ?? (err ? -1 : 0), stdout, stderr });
    });
    child.stdin?.end();
  });
}

test('a dead gateway\'s tree outside our own cgroup is found from the checkpoint that records it, listed by findOrphans and the CLI, and cleared with it', { skip }, async () => {
  const host = await deadFingerprint();
  const gateway = await deadFingerprint();
  const { tree, sleep } = await treeWithSleep(elsewhere(), gateway.pid);

  // The gap: neither our own cgroup's listing nor a checkpoint without the field sees the tree.
  assert.ok(!findLeftoverTrees().trees.some((t) => t.path === tree), 'not beside us');
  const without = await scoped(host, checkpointDir(host, [gatewayRecord(gateway)]), [tree]);
  assert.deepEqual(without.orphans, []);
  assert.deepEqual(without.leftovers, []);

  const dir = checkpointDir(host, [gatewayRecord(gateway, tree)]);
  const found = await scoped(host, dir, [tree]);
  assert.deepEqual(found.orphans.map((o) => [o.pid, o.reasons, o.cgroup]), [[sleep, ['dead-owner-cgroup'], tree]], JSON.stringify(found.problems));
  assert.match(found.orphans[0].reasonText, new RegExp(`leftover cgroup gateway-warden-${gateway.pid} of gateway pid ${gateway.pid}, which is dead`));
  assert.equal(found.leftovers.length, 1);
  assert.equal(found.leftovers[0].owner, 'dead');
  assert.deepEqual(found.problems, []);

  // The CLI (its --owner would turn the trees off; listing only, nothing is signalled).
  const listed = await cli(['orphans', '--json', '--pattern', `^no-such-process-${process.pid}$`], { GATEWAY_WARDEN_CHECKPOINTS: dir });
  assert.equal(listed.code, 1, `exit 1: orphans found; ${listed.stderr}`);
  const json = JSON.parse(listed.stdout) as OrphansJson;
  const row = json.orphans.find((o) => o.pid === sleep);
  assert.deepEqual(row?.reasons, ['dead-owner-cgroup'], listed.stdout.slice(0, 2000));

  const summary = await clearOrphans(found.orphans, { graceMs: 200 });
  assert.deepEqual(summary.results.map((r) => [r.pid, r.outcome, r.why]), [[sleep, 'killed', `ended with the leftover cgroup ${tree} (SIGTERM)`]]);
  await waitForExit(sleep);
  assert.equal(fs.existsSync(tree), false, 'the tree is removed');
  assert.deepEqual((await scoped(host, dir, [tree])).orphans, []);
});

test('forged records are refused and nothing they name is signalled: not a cgroup, a symlink, another pid\'s name, a live gateway, another uid, a path with ..', { skip }, async () => {
  const host = await deadFingerprint();
  const out = elsewhere();
  const tmp = tempDir();
  const records: ProcessRecord[] = [];
  const sleeps: number[] = [];
  const trees: string[] = [];
  const expect: RegExp[] = [];
  const forge = (gateway: Fingerprint, cgroup: string, why: RegExp) => {
    records.push(gatewayRecord(gateway, cgroup));
    trees.push(cgroup);
    expect.push(why);
  };

  // Not a cgroup: a plain directory with a tree's name.
  const plainGw = await deadFingerprint();
  fs.mkdirSync(path.join(tmp, `gateway-warden-${plainGw.pid}`));
  forge(plainGw, path.join(tmp, `gateway-warden-${plainGw.pid}`), /not under a cgroup2 mount/);

  // A symlink with a tree's name, pointing at a real dead tree with a sleep in it.
  const linkGw = await deadFingerprint();
  const linked = await treeWithSleep(out, linkGw.pid);
  sleeps.push(linked.sleep);
  fs.symlinkSync(linked.tree, path.join(tmp, `gateway-warden-${linkGw.pid}`));
  forge(linkGw, path.join(tmp, `gateway-warden-${linkGw.pid}`), /not under a cgroup2 mount|symbolic link/);

  // A real dead tree, recorded for another gateway pid than its name carries.
  const otherGw = await deadFingerprint();
  const named = await deadFingerprint();
  const misnamed = await treeWithSleep(out, named.pid);
  sleeps.push(misnamed.sleep);
  forge(otherGw, misnamed.tree, new RegExp(`named for pid ${named.pid}, not for the recorded gateway pid ${otherGw.pid}`));

  // A live gateway inside its own tree: alive, never a leftover (no problem line: just not dead).
  const liveGw = spawnTracked('sleep', ['1000'], { stdio: 'ignore' });
  const liveFp = await waitFor(() => fingerprintOf(liveGw.pid!), 'the live gateway');
  const live = await treeWithSleep(out, liveFp.pid);
  sleeps.push(live.sleep);
  fs.mkdirSync(path.join(live.tree, 'gateway'));
  fs.writeFileSync(path.join(live.tree, 'gateway', 'cgroup.procs'), String(liveFp.pid));
  records.push(gatewayRecord(liveFp, live.tree));
  trees.push(live.tree);

  // A path with `..` that resolves to a real dead tree.
  const dotGw = await deadFingerprint();
  const dotted = await treeWithSleep(out, dotGw.pid);
  sleeps.push(dotted.sleep);
  forge(dotGw, `${out}/s-x/../gateway-warden-${dotGw.pid}`, /not an absolute, normalised path/);

  // A real dead tree of another uid (only root can hand one over).
  let otherUid: { tree: string; sleep: number } | undefined;
  if (process.getuid?.() === 0) {
    const uidGw = await deadFingerprint();
    otherUid = await treeWithSleep(out, uidGw.pid);
    sleeps.push(otherUid.sleep);
    fs.chownSync(otherUid.tree, 65534, 65534);
    forge(uidGw, otherUid.tree, /belongs to uid 65534, not to us/);
  } else {
    console.log('# another uid\'s tree not tried: only root can chown one');
  }

  const dir = checkpointDir(host, records);
  const found = await scoped(host, dir, [...trees, linked.tree, misnamed.tree, dotted.tree]);
  assert.deepEqual(found.orphans, [], JSON.stringify(found.orphans));
  assert.deepEqual(found.leftovers, []);
  for (const why of expect) assert.ok(found.problems.some((p) => p.includes(`named by checkpoint ${path.join(dir, '')}`) && why.test(p)), `${why}: ${found.problems.join('\n')}`);

  // Clearing re-checks on its own: an orphan forged to point at the other uid's tree is refused.
  if (otherUid) {
    const fp = fingerprintOf(otherUid.sleep)!;
    const forged: Orphan = {
      pid: otherUid.sleep, ppid: 1, fingerprint: fp, command: 'sleep 1000', reason: 'dead-owner-cgroup', reasons: ['dead-owner-cgroup'],
      reasonText: 'forged', cgroup: otherUid.tree, descendants: [],
    };
    const summary = await clearOrphans([forged], { graceMs: 100 });
    assert.deepEqual(summary.results.map((r) => [r.pid, r.outcome]), [[otherUid.sleep, 'refused']], JSON.stringify(summary.results));
    assert.match(summary.results[0].why, /belongs to uid 65534, not to us/);
  }
  for (const pid of sleeps) assert.ok(isAlive(pid), `pid ${pid} was never signalled`);
});
