// Which cgroup files the host reads a session's totals from: only a tree the gateway named for its own pid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayCgroupTree, sessionCgroup } from '../../src/host/sessionCgroups';

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
