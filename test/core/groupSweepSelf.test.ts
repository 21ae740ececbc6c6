// The sweep, like killGroup, never signals the caller's own process group: the targets come from
// events a (possibly custom) gateway reports, and a wrong pgid must not take the host down.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as path from 'node:path';
import { killTracked, spawnNode } from '../support/processes';

after(killTracked);

// Runs in a detached child (its own group, which it leads), so a mistake kills only the child.
const SWEEP_OWN_GROUP = `
const { sweepGroupsSync, sweepGroups } = require(process.argv[1]);
const { selfFingerprint } = require(process.argv[2]);
const target = [{ pgid: process.pid, leader: selfFingerprint() }];
const sync = sweepGroupsSync(target, { graceMs: 0, timeoutMs: 500, firstSignal: 'SIGKILL' });
sweepGroups(target, { graceMs: 0, timeoutMs: 500 }).then((async_) => console.log(JSON.stringify({ sync, async_ })));
`;

test('sweepGroups / sweepGroupsSync refuse the caller\'s own group', { skip: process.platform !== 'linux' }, async () => {
  const out = path.resolve(__dirname, '../../src');
  const child = spawnNode(SWEEP_OWN_GROUP, { args: [path.join(out, 'core/groupSweep.js'), path.join(out, 'core/fingerprint.js')], detached: true });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  const [code, signal] = await once(child, 'close');
  assert.deepEqual([code, signal], [0, null], `the sweeping process survived its own sweep; output: ${text}`);
  const r = JSON.parse(text) as Record<string, { refused: string[] }>;
  for (const k of ['sync', 'async_']) assert.match(r[k].refused.join('\n'), /own group/, `${k}: refused`);
});
