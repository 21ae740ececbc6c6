import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as path from 'node:path';
import { isAlive, killTracked, readLineMatching, spawnNode, track, waitFor } from '../support/processes';

after(killTracked);

// Runs in a detached child (its own group), so a mistake cannot take the test runner down.
const SELF_TEARDOWN = `
const { spawn } = require('child_process');
const k = require(process.argv[1]);
const m = spawn('sh', ['-c', 'trap "" TERM HUP; echo ready; while :; do sleep 1; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
m.stdout.once('data', async () => {
  const refused = await k.killGroup(k.ownProcessGroup(), { graceMs: 0 });
  console.log(JSON.stringify({ member: m.pid, refused: refused.refused, sent: refused.signals.length }));
  const r = await k.killGroup(k.ownProcessGroup(), { includeSelf: true, graceMs: 100 });
  console.log('RETURNED ' + JSON.stringify(r));
});
`;

test('killGroup on our own group: refused by default; with includeSelf the members die and the caller is SIGKILLed last', { skip: process.platform === 'win32' }, async () => {
  const killModule = path.resolve(__dirname, '../../src/core/kill.js');
  const child = spawnNode(SELF_TEARDOWN, { args: [killModule], detached: true });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = once(child, 'exit');
  const first = await readLineMatching(child.stdout!, (l) => (l.startsWith('{') ? JSON.parse(l) as { member: number; refused?: string; sent: number } : undefined));
  track(first.member);
  assert.match(first.refused ?? '', /own group/);
  assert.equal(first.sent, 0);
  const [code, signal] = await exited;
  assert.deepEqual([code, signal], [null, 'SIGKILL'], `caller killed itself last; output: ${out}`);
  assert.doesNotMatch(out, /RETURNED/);
  await waitFor(() => !isAlive(first.member), 'the SIGTERM-ignoring member to be gone', 2000);
});
