// Leftover discovery (cgroupLeftovers.ts) against a fake cgroup tree in a temporary directory:
// plain files named cgroup.procs stand in for the kernel's lists, so the listing, the recursion
// over leaves, the name rule and the owner rule run everywhere, with gateway pids we control.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listCgroupTrees, treeOwnerState } from '../../src/core/cgroup/cgroupLeftovers';
import type { Cgroup2Mount } from '../../src/core/cgroup/cgroupMount';
import { spawnSync } from 'node:child_process';
import { scanLiveStats } from '../../src/core/procfs';
import { killTracked, spawnTracked, track, waitFor, waitForExit } from '../support/processes';

const linux = process.platform === 'linux';
const roots: string[] = [];
after(() => {
  killTracked();
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function fakeRoot(): { root: string; mount: Cgroup2Mount } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-fakecg-'));
  roots.push(root);
  return { root, mount: { mountPoint: root, root: '/', readOnly: false } };
}

function cgroup(dir: string, pids: number[] = []): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), pids.map((p) => `${p}\n`).join(''));
}

/** A pid that existed a moment ago and does not now (a dead gateway). */
async function deadPid(): Promise<number> {
  const c = spawnTracked('sleep', ['60'], { stdio: 'ignore' });
  const reaped = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await reaped; // reaped, not only dead: a zombie's pid still exists
  await waitForExit(c.pid!);
  return c.pid!;
}

test('a dead gateway\'s tree: members from every leaf (nested too), leaves named, owner dead with the reason', { skip: !linux }, async () => {
  const { root, mount } = fakeRoot();
  const gw = await deadPid();
  const tree = path.join(root, `gateway-warden-${gw}`);
  cgroup(tree);
  cgroup(path.join(tree, 'gateway'));
  cgroup(path.join(tree, 's-one'), [4001, 4002]);
  cgroup(path.join(tree, 's-one', 'nested'), [4003]);
  cgroup(path.join(tree, 'h-0123456789abcdef0123456789abcdef01234567'), [4004]);
  // Not ours: wrong names, a file with our name, a suffix past 9.
  cgroup(path.join(root, 'gateway-warden-x'), [5001]);
  cgroup(path.join(root, `gateway-warden-${gw}-10`), [5002]);
  cgroup(path.join(root, 'other.slice'), [5003]);
  fs.writeFileSync(path.join(root, 'gateway-warden-7'), '');

  const r = listCgroupTrees(mount, root);
  assert.equal(r.state, 'found');
  if (r.state !== 'found') return;
  assert.deepEqual(r.value.map((t) => t.name), [`gateway-warden-${gw}`]);
  const t = r.value[0];
  assert.equal(t.gatewayPid, gw);
  assert.equal(t.owner, 'dead');
  assert.match(t.ownerWhy ?? '', new RegExp(`pid ${gw} does not exist`));
  assert.deepEqual([...(t.members ?? [])].sort(), [4001, 4002, 4003, 4004]);
  assert.deepEqual(t.leaves.sort(), ['gateway', 'h-0123456789abcdef0123456789abcdef01234567', 's-one']);
  assert.equal(t.uid, process.getuid!());
  assert.ok(t.createdMs !== undefined && Math.abs(Date.now() - t.createdMs) < 60_000, `createdMs ${t.createdMs}`);
});

test('a member list that cannot be read, or is past its bound, is unknown — never a short list', { skip: !linux }, async () => {
  const { root, mount } = fakeRoot();
  const gw = await deadPid();
  const tree = path.join(root, `gateway-warden-${gw}`);
  cgroup(tree);
  const leaf = path.join(tree, 's-x');
  fs.mkdirSync(leaf);
  fs.symlinkSync('/dev/zero', path.join(leaf, 'cgroup.procs')); // O_NOFOLLOW refuses it
  const r = listCgroupTrees(mount, root);
  assert.equal(r.state, 'found');
  const t = r.state === 'found' ? r.value[0] : undefined;
  assert.equal(t?.members, undefined);
  assert.match(t?.membersWhy ?? '', /ELOOP|symbolic|too many/i);
});

test('owner rule: alive only inside the tree; a live pid outside is dead only when provably younger than the tree', { skip: !linux }, () => {
  const { root, mount } = fakeRoot();
  const tree = path.join(root, `gateway-warden-${process.pid}`);
  cgroup(tree);
  // This process is alive and (seen from the fake mount) outside the tree.
  const madeNow = treeOwnerState(mount, tree, process.pid, Date.now());
  assert.equal(madeNow.owner, 'unknown', 'older than a tree made just now: maybe its gateway before it moved in');
  assert.match(madeNow.why ?? '', /not provably younger/);
  assert.equal(treeOwnerState(mount, tree, process.pid).owner, 'unknown', 'no creation time: no proof');
  const made30DaysAgo = treeOwnerState(mount, tree, process.pid, Date.now() - 30 * 86_400_000);
  // This process started after a tree made 30 days ago: the pid was reused, that tree's gateway is gone.
  assert.equal(made30DaysAgo.owner, 'dead', made30DaysAgo.why);
  assert.match(made30DaysAgo.why ?? '', /another process now/);
});

const canUnsharePid = linux && spawnSync('unshare', ['--pid', '--fork', 'true']).status === 0;

test('a tree with a member in another pid namespace is never dead: the pid in its name may be that namespace\'s (a container\'s gateway)', { skip: !canUnsharePid && 'needs unshare --pid (root)' }, async () => {
  const { root, mount } = fakeRoot();
  const gw = await deadPid();
  const tree = path.join(root, `gateway-warden-${gw}`);
  cgroup(tree);
  // A process of our own namespace: the verdict stands.
  const here = spawnTracked('sleep', ['60'], { stdio: 'ignore' });
  cgroup(path.join(tree, 's-here'), [here.pid!]);
  assert.equal(treeOwnerState(mount, tree, gw).owner, 'dead');
  // A process in a pid namespace of its own (unshare's child, pid 1 in there): unknown.
  const unshare = spawnTracked('unshare', ['--pid', '--fork', 'sleep', '60'], { stdio: 'ignore' });
  const inner = await waitFor(() => scanLiveStats().find((st) => st.ppid === unshare.pid)?.pid, 'the process in the new pid namespace');
  track(inner);
  cgroup(path.join(tree, 's-there'), [inner]);
  const foreign = treeOwnerState(mount, tree, gw);
  assert.equal(foreign.owner, 'unknown');
  assert.match(foreign.why ?? '', new RegExp(`pid ${gw} does not exist, but member ${inner} is in another pid namespace`));
  // A member the kernel lists as 0 (outside the reader's namespace): unknown too.
  cgroup(path.join(tree, 's-there'), [0]);
  assert.match(treeOwnerState(mount, tree, gw).why ?? '', /outside our pid namespace \(listed as pid 0\)/);
  const listed = listCgroupTrees(mount, root);
  assert.equal(listed.state === 'found' && listed.value[0].owner, 'unknown', 'the orphan scan sees it the same way');
});

test('a parent that does not exist is gone; one with no trees lists none', { skip: !linux }, () => {
  const { root, mount } = fakeRoot();
  assert.deepEqual(listCgroupTrees(mount, path.join(root, 'missing')), { state: 'gone' });
  assert.deepEqual(listCgroupTrees(mount, root), { state: 'found', value: [] });
});
