// Which cgroup files the host reads a session's totals from: only a tree the gateway named for its own pid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ownCgroupDir } from '../../src/core/cgroup/cgroupMount';
import { gatewayCgroupPlace, gatewayCgroupTree, sessionCgroup } from '../../src/host/sessionCgroups';
import { sessionLeafOf } from '../../src/host/workerKill';
import { cgroupsUnavailable } from '../support/cgroups';

test('the gateway\'s tree from gateway.ready: absolute, normalised, named gateway-warden-<its pid>; anything else is none', () => {
  const tree = '/sys/fs/cgroup/unified/user.slice/gateway-warden-42';
  assert.equal(gatewayCgroupTree({ pid: 42, readyEvent: { cgroup: tree } }), tree);
  assert.equal(gatewayCgroupTree({ pid: 42, readyEvent: { cgroup: `${tree}-2` } }), `${tree}-2`, 'a suffixed tree of the same pid');
  for (const bad of [null, 7, 'gateway-warden-42', '/sys/fs/cgroup/gateway-warden-43', '/sys/fs/cgroup/x/../gateway-warden-42', '/sys/fs/cgroup/evil']) {
    assert.equal(gatewayCgroupTree({ pid: 42, readyEvent: { cgroup: bad } }), undefined, String(bad));
  }
  assert.equal(gatewayCgroupTree(undefined), undefined);
  assert.equal(gatewayCgroupTree({ pid: 42 }), undefined, 'no ready event');
  assert.equal(sessionCgroup(tree, 'abc-1'), `${tree}/s-abc-1`);
  assert.match(sessionCgroup(tree, '../x')!, new RegExp(`^${tree}/h-[0-9a-f]{40}$`), 'an id that is not plain is hashed, never a path');
  assert.equal(sessionCgroup(undefined, 'abc'), undefined);
});

test('a tree outside our own cgroup (a gateway started in a delegated scope): its place is where the kernel bears it out, for the sweeps and Kill Worker\'s leaf alike; a directory that is no cgroup is none', { skip: process.platform !== 'linux' ? 'Linux only' : cgroupsUnavailable() }, (t) => {
  const own = ownCgroupDir();
  assert.equal(typeof own, 'string');
  // A "scope" that is not our own cgroup (a child of it here), holding a tree named for some pid
  // (nothing runs in it).
  const scope = path.join(own as string, `gw-test-scope-${process.pid}`);
  const pid = 4_000_000 + (process.pid % 100_000);
  const tree = path.join(scope, `gateway-warden-${pid}`);
  fs.mkdirSync(tree, { recursive: true });
  t.after(() => {
    // cgroup directories go with rmdir, innermost first (their files cannot be removed).
    for (const d of [path.join(tree, 's-s1'), tree, scope]) if (fs.existsSync(d)) fs.rmdirSync(d);
  });
  fs.mkdirSync(path.join(tree, 's-s1'));
  const gw = { pid, readyEvent: { cgroup: tree } };
  assert.deepEqual(gatewayCgroupPlace(gw), { tree, parent: scope });
  assert.deepEqual(sessionLeafOf(gw, 's1'), { path: path.join(tree, 's-s1'), parent: scope }, 'the leaf\'s parent is the scope, not our own cgroup');
  // Not a cgroup (a plain directory with the right name): not ours to write in.
  const fake = fs.mkdtempSync('/tmp/gw-not-cgroup-');
  t.after(() => fs.rmSync(fake, { recursive: true, force: true }));
  const plain = path.join(fake, `gateway-warden-${pid}`);
  fs.mkdirSync(plain);
  assert.equal(gatewayCgroupPlace({ pid, readyEvent: { cgroup: plain } }), undefined);
  assert.equal(sessionLeafOf({ pid, readyEvent: { cgroup: plain } }, 's1'), undefined);
});
