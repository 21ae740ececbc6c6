// Parsers and name rules of the cgroup primitives: pure, run everywhere (fixtures captured on a
// real hybrid machine, plus the unified and container layouts written out by hand).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseControllerList, parseKeyValues, parsePidList } from '../../src/core/cgroup/cgroupFiles';
import { cgroupDir, locateCgroup, parseMountInfo, parseProcCgroup } from '../../src/core/cgroup/cgroupMount';
import { GATEWAY_LEAF, isLeafName, PROGRAM_LEAF, ourCgroupPath, parseTreeName, sessionLeafName, treeName } from '../../src/core/cgroup/cgroupNames';
import { cgroupsForcedOff, kernelAtLeast, probeCgroups } from '../../src/core/cgroup/cgroupProbe';
import { probeSystemdScope } from '../../src/core/cgroup/systemdScope';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/cgroup');

test('hybrid mountinfo (captured): the cgroup2 mount is found beside the v1 hierarchies', () => {
  const t = parseMountInfo(fs.readFileSync(path.join(FIXTURES, 'mountinfo-hybrid.txt'), 'utf8'));
  assert.deepEqual(t.cgroup2, [{ mountPoint: '/sys/fs/cgroup/unified', root: '/', readOnly: false }]);
  assert.equal(t.hasV1, true);
  const own = parseProcCgroup(fs.readFileSync(path.join(FIXTURES, 'proc-cgroup-hybrid.txt'), 'utf8'));
  assert.deepEqual(own, { path: '/' });
  assert.equal(locateCgroup(t, '/')?.dir, '/sys/fs/cgroup/unified');
});

test('unified, read-only and bind-mounted layouts; escaped mount points', () => {
  const t = parseMountInfo([
    '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot',
    '40 23 0:27 /docker/abc /mnt/cg\\040x ro,relatime - cgroup2 cgroup2 rw',
    'garbage line',
    '',
  ].join('\n'));
  assert.equal(t.hasV1, false);
  assert.deepEqual(t.cgroup2[0], { mountPoint: '/sys/fs/cgroup', root: '/', readOnly: false });
  assert.deepEqual(t.cgroup2[1], { mountPoint: '/mnt/cg x', root: '/docker/abc', readOnly: true });
  assert.equal(cgroupDir(t.cgroup2[0], '/user.slice/app.scope'), '/sys/fs/cgroup/user.slice/app.scope');
  assert.equal(cgroupDir(t.cgroup2[1], '/docker/abc/x'), '/mnt/cg x/x');
  assert.equal(cgroupDir(t.cgroup2[1], '/docker/abc'), '/mnt/cg x');
  assert.equal(cgroupDir(t.cgroup2[1], '/docker/abcd'), undefined, 'a sibling with a common prefix is not under the mount');
  assert.equal(cgroupDir(t.cgroup2[1], '/other'), undefined);
});

test('/proc/PID/cgroup: the 0:: line; a path outside the namespace or removed is refused', () => {
  assert.deepEqual(parseProcCgroup('12:pids:/x\n0::/user.slice/app-code.scope\n'), { path: '/user.slice/app-code.scope' });
  assert.deepEqual(parseProcCgroup('0::/a:b\n'), { path: '/a:b' });
  assert.match((parseProcCgroup('0::/../../x\n') as { problem: string }).problem, /outside this cgroup namespace/);
  assert.match((parseProcCgroup('0::/gone (deleted)\n') as { problem: string }).problem, /removed/);
  assert.match((parseProcCgroup('1:cpu:/\n') as { problem: string }).problem, /no cgroup v2 entry/);
});

test('interface file parsers', () => {
  assert.deepEqual([...parseKeyValues('populated 1\nfrozen 0\nbogus\nx y\n')], [['populated', 1], ['frozen', 0]]);
  assert.deepEqual(parsePidList('12\n 34\nx\n-1\n0\n'), [12, 34, 0]);
  assert.deepEqual(parseControllerList('cpuset cpu io memory hugetlb pids rdma misc\n'), ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc']);
  assert.deepEqual(parseControllerList('\n'), []);
});

test('tree names carry the gateway pid; anything else is not ours', () => {
  assert.equal(treeName(4242), 'gateway-warden-4242');
  assert.equal(treeName(4242, 3), 'gateway-warden-4242-3');
  assert.equal(parseTreeName('gateway-warden-4242'), 4242);
  assert.equal(parseTreeName('gateway-warden-4242-3'), 4242);
  for (const bad of ['gateway-warden-', 'gateway-warden-0', 'gateway-warden-01', 'gateway-warden-12-1', 'gateway-warden-12-10', 'gateway-warden-12/x', 'xgateway-warden-1', 'gateway-warden-1 ']) {
    assert.equal(parseTreeName(bad), undefined, bad);
  }
  assert.throws(() => treeName(0), RangeError);
  assert.throws(() => treeName(1, 1), RangeError);
});

test('hostile session ids always become one safe leaf name, distinct ids distinct leaves', () => {
  const uuid = '3b241101-e2bb-4255-8caf-4136c566a962';
  assert.equal(sessionLeafName(uuid), `s-${uuid}`);
  const hostile = ['../../etc', '..', '.', '/', 'a/b', 'cgroup.procs', '', 'x'.repeat(65), 'a\nb', 'gateway', 'program', '\u0000', 'ü', ' s', `${'../'.repeat(100)}root`];
  const leaves = new Set<string>();
  for (const id of hostile) {
    const leaf = sessionLeafName(id);
    assert.ok(isLeafName(leaf), `${JSON.stringify(id)} → ${leaf}`);
    assert.ok(!leaf.includes('/') && !leaf.includes('.') && leaf.length <= 66, leaf);
    assert.notEqual(leaf, GATEWAY_LEAF);
    assert.notEqual(leaf, PROGRAM_LEAF);
    leaves.add(leaf);
  }
  assert.equal(leaves.size, hostile.length);
  assert.throws(() => sessionLeafName(42 as unknown as string), TypeError);
});

test('ourCgroupPath accepts only a tree or a leaf of one, normalised', () => {
  const root = '/sys/fs/cgroup';
  assert.deepEqual(ourCgroupPath(`${root}/gateway-warden-7`), { tree: `${root}/gateway-warden-7`, leaf: undefined });
  assert.deepEqual(ourCgroupPath(`${root}/gateway-warden-7/gateway`, root), { tree: `${root}/gateway-warden-7`, leaf: 'gateway' });
  assert.deepEqual(ourCgroupPath(`${root}/gateway-warden-7/${PROGRAM_LEAF}`, root), { tree: `${root}/gateway-warden-7`, leaf: PROGRAM_LEAF });
  for (const bad of [root, `${root}/gateway-warden-7/../x`, `${root}/gateway-warden-7/`, 'gateway-warden-7', `${root}/x/gateway`, `${root}/gateway-warden-7/cgroup.procs`, `${root}/gateway-warden-7/s-a/s-b`]) {
    assert.ok('problem' in ourCgroupPath(bad), bad);
  }
  assert.ok('problem' in ourCgroupPath(`${root}/gateway-warden-7`, '/elsewhere'));
});

test('GATEWAY_WARDEN_CGROUPS=off forces the fallback; kernel versions', async () => {
  for (const v of ['off', 'OFF', '0', 'false', 'no']) assert.equal(cgroupsForcedOff({ GATEWAY_WARDEN_CGROUPS: v }), true, v);
  for (const v of [undefined, '', 'on', 'auto']) assert.equal(cgroupsForcedOff({ GATEWAY_WARDEN_CGROUPS: v }), false, String(v));
  const p = probeCgroups({ GATEWAY_WARDEN_CGROUPS: 'off' });
  assert.equal(p.available, false);
  assert.equal(!p.available && p.forced, true);
  assert.match(!p.available ? p.reason : '', /GATEWAY_WARDEN_CGROUPS=off/);
  const scope = await probeSystemdScope({ env: { ...process.env, GATEWAY_WARDEN_CGROUPS: 'off' } });
  assert.equal(scope.prefix, undefined);
  assert.equal(kernelAtLeast('5.14.0-362.el9', 5, 14), true);
  assert.equal(kernelAtLeast('5.13.19', 5, 14), false);
  assert.equal(kernelAtLeast('6.1.0', 5, 14), true);
  assert.equal(kernelAtLeast('garbage', 5, 14), false);
});

test('the systemd scope probe answers within its deadline, and says no without systemd-run', async () => {
  const none = await probeSystemdScope({ env: { ...process.env, PATH: '/nonexistent' } });
  assert.deepEqual(none, { why: process.platform === 'linux' ? 'no systemd-run on PATH' : 'not Linux' });
  const t0 = Date.now();
  const here = await probeSystemdScope({ timeoutMs: 3000 });
  assert.ok(Date.now() - t0 < 8000, 'bounded');
  if (here.prefix) {
    assert.match(here.prefix[0], /systemd-run$/);
    assert.deepEqual(here.prefix.slice(1), ['--user', '--scope', '-p', 'Delegate=yes', '--quiet', '--collect', '--']);
  } else assert.ok(here.why.length > 0);
});
