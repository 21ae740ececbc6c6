// cgroup v2 primitives on the real kernel: trees, moves, escapees, removal, leftovers, totals,
// and refusals; taking a cgroup down is the teardown engine's cgroup target (a fork loop racing
// cgroup.kill, the freeze + SIGKILL fallback, another uid's member: test/core/kill/cgroupTarget.test.ts). Skipped (with the reason) only where this
// machine gives us no writable cgroup v2. Every tree and process is taken down in the after-hooks.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCgroupFile, readPopulated } from '../../src/core/cgroup/cgroupFiles';
import { CgroupTreeInfo, listCgroupTrees } from '../../src/core/cgroup/cgroupLeftovers';
import { cgroupProcs, listMembers } from '../../src/core/cgroup/cgroupMembers';
import { readProcCgroupPath } from '../../src/core/cgroup/cgroupMount';
import { CgroupSupport, probeCgroups } from '../../src/core/cgroup/cgroupProbe';
import { targetProblem } from '../../src/core/cgroup/cgroupSafety';
import { readCgroupTotals, setMemoryMax } from '../../src/core/cgroup/cgroupTotals';
import { createSessionLeaf, createTree, moveInto, moveMember, removeCgroups, sessionLeafPath } from '../../src/core/cgroup/cgroupTree';
import { cgroupTarget, teardown, teardownSync } from '../../src/core/kill';
import { readProcStat } from '../../src/core/procfs';
import { cgroupsUnavailable, cleanupCgroupTrees, pidLine, shellInLeaf, startCgroupGateway, trackTree } from '../support/cgroups';
import { isAlive, killTracked, spawnTracked, startOtherUsersSleep, waitFor } from '../support/processes';

const skip = cgroupsUnavailable();
if (skip) console.log(`# cgroup tests skipped: ${skip}`);
const support = (skip ? undefined : probeCgroups({})) as CgroupSupport;

afterEach(cleanupCgroupTrees);
after(() => {
  cleanupCgroupTrees();
  killTracked();
});

/** A session leaf in a fresh stand-in gateway's tree. */
async function leafOf(sessionId = `t${Date.now()}`) {
  const gw = await startCgroupGateway();
  const leaf = await gw.request<{ ok: boolean; path: string; why?: string }>({ op: 'leaf', sessionId });
  assert.ok(leaf.ok, leaf.why);
  return { gw, leaf: leaf.path };
}

function members(dir: string): number[] {
  const m = listMembers(dir);
  assert.equal(m.state, 'found', JSON.stringify(m));
  return m.state === 'found' ? m.value.pids.sort((a, b) => a - b) : [];
}

test('probe: the v2 mount from mountinfo, our cgroup from /proc/self/cgroup', { skip }, () => {
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  assert.ok(mountinfo.split('\n').some((l) => l.includes(` ${support.mount.mountPoint} `) && l.includes(' - cgroup2 ')), 'a cgroup2 mount');
  const own = /^0::(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))![1];
  assert.equal(support.ownCgroup, own);
  assert.ok(fs.statSync(support.parentDir).isDirectory());
  assert.equal(support.layout, fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(' - cgroup ') ? 'hybrid' : 'unified');
  console.log(`# cgroup2 at ${support.mount.mountPoint} (${support.layout}), own cgroup ${support.ownCgroup}, cgroup.kill ${support.killFile}, delegated [${support.delegated}], controllers [${support.controllers}], kernel ${os.release()}`);
});

test('a gateway creates its tree (0700) and lives in its gateway leaf', { skip }, async () => {
  const gw = await startCgroupGateway();
  const { tree } = gw;
  assert.equal(path.dirname(tree.path), support.parentDir);
  assert.equal(path.basename(tree.path), `gateway-warden-${gw.child.pid}`);
  assert.equal(fs.statSync(tree.path).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(tree.path, 'gateway')).mode & 0o777, 0o700);
  assert.deepEqual(members(path.join(tree.path, 'gateway')), [gw.child.pid]);
  const cg = readProcCgroupPath(gw.child.pid!);
  assert.ok(cg.state === 'found' && cg.value.endsWith(`/gateway-warden-${gw.child.pid}/gateway`), JSON.stringify(cg));
  assert.equal(tree.killFile, fs.existsSync(path.join(tree.path, 'cgroup.kill')));
  // The tree holds no process itself (v2: no internal processes once controllers are enabled).
  const procs = readCgroupFile(path.join(tree.path, 'cgroup.procs'));
  assert.equal(procs.state === 'found' && procs.value.trim(), '');
});

test('a sleep moved into a session leaf is listed there, and nowhere else in the tree', { skip }, async () => {
  const { gw, leaf } = await leafOf();
  const sleep = spawnTracked('sleep', ['1000'], { stdio: 'ignore' });
  assert.deepEqual(moveInto(leaf, sleep.pid!), { ok: true });
  assert.deepEqual(members(leaf), [sleep.pid]);
  assert.deepEqual(members(gw.tree.path), [gw.child.pid!, sleep.pid!].sort((a, b) => a - b));
  const gone = moveInto(leaf, 4_000_000);
  assert.equal(gone.ok, false);
  // A read past its bound proves nothing (unknown); a missing cgroup is gone, and holds nothing.
  const bounded = readCgroupFile(path.join(leaf, 'cgroup.procs'), 2);
  assert.equal(bounded.state, 'unknown');
  assert.deepEqual(listMembers(path.join(gw.tree.path, 's-nonexistent')), { state: 'gone' });
  assert.equal(teardownSync([cgroupTarget(path.join(gw.tree.path, 's-nonexistent'))]).cgroups?.[0].outcome, 'gone');
});

test('moveMember moves a member of one leaf into another only while it is that process and in that leaf', { skip }, async () => {
  const { gw, leaf: from } = await leafOf(`from${Date.now()}`);
  const to = await gw.request<{ ok: boolean; path: string; why?: string }>({ op: 'leaf', sessionId: `to${Date.now()}` });
  assert.ok(to.ok, to.why);
  const sleep = spawnTracked('sleep', ['1000'], { stdio: 'ignore' });
  const startTime = readProcStat(sleep.pid!)!.startTime;
  // Not (yet) a member of `from`: refused, not moved.
  const outside = moveMember({ pid: sleep.pid!, startTime }, from, to.path);
  assert.equal(outside.ok, false);
  assert.match(outside.ok ? '' : outside.why, /is not in/);
  assert.deepEqual(members(to.path), []);
  assert.deepEqual(moveInto(from, sleep.pid!), { ok: true });
  // Another start time is another process: refused as gone, not moved.
  const reused = moveMember({ pid: sleep.pid!, startTime: startTime + 1 }, from, to.path);
  assert.deepEqual(reused.ok ? reused : { gone: reused.gone }, { gone: true });
  assert.deepEqual(members(from), [sleep.pid]);
  assert.deepEqual(moveMember({ pid: sleep.pid!, startTime }, from, to.path), { ok: true });
  assert.deepEqual(members(to.path), [sleep.pid]);
  assert.deepEqual(members(from), []);
  const dead = moveMember({ pid: 4_000_000, startTime: 1 }, from, to.path);
  assert.deepEqual(dead.ok ? dead : { gone: dead.gone }, { gone: true });
  // Another user's process (a setuid program's, say) is never moved, even by root.
  if (process.getuid?.() === 0) {
    const theirs = await startOtherUsersSleep();
    assert.deepEqual(moveInto(from, theirs.pid!), { ok: true });
    const refused = moveMember({ pid: theirs.pid!, startTime: readProcStat(theirs.pid!)!.startTime }, from, to.path);
    assert.match(refused.ok ? '' : refused.why, /belongs to uid 65534/);
    assert.ok(!members(to.path).includes(theirs.pid!));
  }
});

test('a double-forked setsid escapee started inside the leaf stays in it, and the leaf kill ends it', { skip }, async () => {
  const { leaf } = await leafOf();
  const sh = shellInLeaf(leaf, "setsid sh -c 'sleep 1000 & echo $!' </dev/null\nexec sleep 1000");
  const escapee = await pidLine(sh);
  const st = await waitFor(() => {
    const s = readProcStat(escapee);
    return s && s.ppid !== sh.pid && s;
  }, 'the escapee to be re-parented');
  assert.notEqual(st.sid, readProcStat(sh.pid!)!.sid, 'its own session');
  assert.notEqual(st.pgid, readProcStat(sh.pid!)!.pgid, 'its own group');
  assert.ok(members(leaf).includes(escapee), 'still a member of the leaf');
  const r = await teardown([cgroupTarget(leaf)], { timeoutMs: 10_000 });
  assert.equal(r.cgroups?.[0].outcome, 'empty', JSON.stringify(r));
  await waitFor(() => !isAlive(escapee) && !isAlive(sh.pid!), 'escapee and shell dead');
  assert.equal(fs.existsSync(leaf), false, 'the empty leaf was removed');
});

test('removal is bottom-up and stops at a populated cgroup; the engine removes the emptied leaf and its nested cgroup', { skip }, async () => {
  const { gw, leaf } = await leafOf();
  // A member made a cgroup of its own inside the leaf: removal must go deepest first.
  const nested = path.join(leaf, 'inner');
  fs.mkdirSync(nested);
  const sleep = shellInLeaf(nested, 'echo $$; exec sleep 1000');
  const pid = await pidLine(sleep);
  assert.deepEqual(readPopulated(leaf), { state: 'found', value: true });
  const busy = removeCgroups(gw.tree.path);
  assert.equal(busy.removed, false);
  assert.ok(busy.left.some((l) => l.dir === nested && /EBUSY/.test(l.why)), JSON.stringify(busy));
  assert.ok(fs.existsSync(nested) && fs.existsSync(path.join(gw.tree.path, 'gateway')));
  const r = teardownSync([cgroupTarget(leaf)], { timeoutMs: 10_000 });
  assert.deepEqual(r.cgroups, [{ path: leaf, outcome: 'empty', method: 'none', removed: true }], 'a plain sleep ends in the grace');
  assert.equal(isAlive(pid), false);
  assert.equal(fs.existsSync(leaf), false, 'leaf and its nested cgroup removed');
  assert.deepEqual(readPopulated(leaf), { state: 'gone' });
});

test('leftover discovery: a dead gateway\'s tree lists its setsid escapee from the kernel\'s list alone', { skip }, async () => {
  const live = await startCgroupGateway();
  const { gw, leaf } = await leafOf('leaky');
  const sh = shellInLeaf(leaf, "setsid sh -c 'sleep 1000 & echo $!' </dev/null; exit 0");
  const escapee = await pidLine(sh);
  await waitFor(() => !isAlive(sh.pid!), 'the shell to exit');
  // `setsid` may fork: the inner shell that printed $! can outlive the outer one for a moment.
  await waitFor(() => {
    const procs = cgroupProcs(leaf);
    return procs.state === 'found' && procs.value.length === 1 && procs.value[0] === escapee;
  }, 'the escapee to be the leaf\'s only member');
  gw.child.kill('SIGKILL');
  await waitFor(() => !isAlive(gw.child.pid!), 'the gateway to die');
  // A process SIGKILLed a moment ago can still be listed in cgroup.procs while the kernel
  // finishes its exit: poll until the listing settles on the escapee.
  let all: CgroupTreeInfo[] = [];
  await waitFor(() => {
    const trees = listCgroupTrees(support.mount, support.parentDir);
    all = trees.state === 'found' ? trees.value : [];
    const t = all.find((x) => x.path === gw.tree.path);
    return t?.members?.length === 1;
  }, 'the leaked tree to list exactly one member');
  const dead = all.find((t) => t.path === gw.tree.path);
  assert.ok(dead, 'the leaked tree is listed');
  assert.equal(dead.gatewayPid, gw.child.pid);
  assert.equal(dead.owner, 'dead', dead.ownerWhy);
  assert.deepEqual(dead.members, [escapee]);
  assert.deepEqual(dead.leaves.sort(), ['gateway', 's-leaky']);
  assert.equal(dead.uid, process.getuid!());
  const alive = all.find((t) => t.path === live.tree.path);
  assert.equal(alive?.owner, 'alive');
  assert.deepEqual(alive?.members, [live.child.pid]);
  const r = teardownSync([cgroupTarget(dead.path, { parent: support.parentDir })], { timeoutMs: 10_000 });
  assert.equal(r.cgroups?.[0].outcome, 'empty', JSON.stringify(r));
  assert.equal(isAlive(escapee), false);
  assert.equal(fs.existsSync(dead.path), false, 'the whole leftover tree is removed');
});

test('totals without a /proc scan: CPU from cpu.stat, memory from memory.current or the members', { skip }, async () => {
  const { leaf } = await leafOf();
  const burn = shellInLeaf(leaf, 'echo $$; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 1000');
  const pid = await pidLine(burn);
  const first = readCgroupTotals(leaf);
  assert.equal(first.state, 'found');
  const t1 = await waitFor(() => {
    const t = readCgroupTotals(leaf);
    return t.state === 'found' && first.state === 'found' && t.value.cpuUsageUsec! > first.value.cpuUsageUsec! + 20_000 && t.value;
  }, 'CPU use to show in cpu.stat', 30_000);
  assert.deepEqual(t1.pids, [pid]);
  assert.ok(t1.memoryBytes! > 100_000, `memory ${t1.memoryBytes} from ${t1.memorySource}`);
  const limit = setMemoryMax(leaf, 256 * 2 ** 20);
  if (support.delegated.includes('memory')) {
    assert.deepEqual(limit, { ok: true });
    const t2 = readCgroupTotals(leaf);
    assert.equal(t2.state === 'found' && t2.value.memoryMax, 256 * 2 ** 20);
  } else {
    assert.equal(t1.memorySource, 'rss-sum');
    assert.equal(limit.ok, false);
    assert.match(!limit.ok ? limit.why : '', /no memory controller/);
  }
  console.log(`# totals: cpu ${t1.cpuUsageUsec} µs, memory ${t1.memoryBytes} bytes (${t1.memorySource}), memory.max: ${limit.ok ? 'set' : (limit as { why: string }).why}`);
});

test('refusals: not ours, a hostile session id, ourselves', { skip }, async () => {
  const { gw } = await leafOf();
  // Paths outside our trees are refused before anything is written.
  assert.equal((await teardown([cgroupTarget(support.parentDir)])).cgroups?.[0].outcome, 'refused');
  const dotdot = teardownSync([cgroupTarget(path.join(support.parentDir, 'gateway-warden-1', '..'))]);
  assert.equal(dotdot.cgroups?.[0].outcome, 'refused');
  assert.equal(dotdot.refusals[0]?.reason, 'protected', JSON.stringify(dotdot.refusals));
  const fakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cg-'));
  try {
    fs.mkdirSync(path.join(fakeDir, 'gateway-warden-1', 'gateway'), { recursive: true });
    fs.symlinkSync(support.parentDir, path.join(fakeDir, 'gateway-warden-2'));
    const plain = targetProblem(path.join(fakeDir, 'gateway-warden-1', 'gateway'));
    assert.ok(plain !== 'gone' && plain?.reason === 'not-ours' && /not on a cgroup2/.test(plain.why), JSON.stringify(plain));
    const link = targetProblem(path.join(fakeDir, 'gateway-warden-2'));
    assert.ok(link !== 'gone' && /symbolic link/.test(link?.why ?? ''), JSON.stringify(link));
    assert.equal(moveInto(path.join(fakeDir, 'gateway-warden-1', 'gateway'), process.pid).ok, false);
  } finally {
    fs.rmSync(fakeDir, { recursive: true, force: true });
  }
  // A hostile session id makes a leaf inside the tree, never a path elsewhere.
  const before = fs.readdirSync(support.parentDir).sort();
  const hostile = await gw.request<{ ok: boolean; path: string }>({ op: 'leaf', sessionId: '../../../../escape' });
  assert.ok(hostile.ok);
  assert.equal(path.dirname(hostile.path), gw.tree.path);
  assert.equal(hostile.path, sessionLeafPath(gw.tree, '../../../../escape'));
  assert.deepEqual(fs.readdirSync(support.parentDir).sort(), before, 'nothing new beside the trees');
  // The gateway, a member of its own leaf, never writes cgroup.kill there (it would die too): it
  // takes the other members down by pid and keeps the leaf.
  const gwLeaf = path.join(gw.tree.path, 'gateway');
  const self = await gw.request<{ result: { signals: { signal: string }[]; cgroups: { outcome: string; removed: boolean }[] } }>({ op: 'kill', path: gwLeaf });
  assert.ok(!self.result.signals.some((x) => x.signal === 'cgroup.kill'), JSON.stringify(self.result));
  assert.deepEqual(self.result.cgroups.map((c) => [c.outcome, c.removed]), [['empty', false]]);
  assert.ok(isAlive(gw.child.pid!));
  assert.ok(fs.existsSync(gwLeaf));
});

test('GATEWAY_WARDEN_CGROUPS=off: a gateway started with it makes no tree, even here', { skip }, async () => {
  const p = probeCgroups({ GATEWAY_WARDEN_CGROUPS: 'off' });
  assert.equal(p.available, false);
  const off = await startCgroupGateway({ GATEWAY_WARDEN_CGROUPS: 'off' }).catch((e: Error) => e);
  assert.ok(off instanceof Error);
  assert.match(off.message, /GATEWAY_WARDEN_CGROUPS=off/);
  const names = fs.readdirSync(support.parentDir).filter((n) => /^gateway-warden-/.test(n));
  const offPid = Number(/pid (\d+)/.exec(off.message)?.[1]);
  assert.ok(offPid > 0, off.message);
  assert.ok(!names.some((n) => n.startsWith(`gateway-warden-${offPid}`)), 'no tree for the gateway that was told off');
});

test('a tree of the same name left by a dead process is removed when empty, skipped when populated', { skip }, async () => {
  const stale = path.join(support.parentDir, `gateway-warden-${process.pid}`);
  fs.mkdirSync(stale);
  trackTree(stale);
  const made = createTree(support, { moveSelf: false });
  assert.ok(made.ok, !made.ok ? made.why : '');
  assert.equal(made.tree.path, stale, 'the empty leftover was replaced');
  trackTree(made.tree.path);
  const leaf = createSessionLeaf(made.tree, 'x');
  assert.ok(leaf.ok);
  const sh = shellInLeaf(leaf.path, 'echo $$; exec sleep 1000');
  await pidLine(sh);
  const second = createTree(support, { moveSelf: false });
  assert.ok(second.ok, !second.ok ? second.why : '');
  trackTree(second.tree.path);
  assert.equal(second.tree.path, `${stale}-2`);
  assert.deepEqual(second.tree.skipped, [stale]);
});
