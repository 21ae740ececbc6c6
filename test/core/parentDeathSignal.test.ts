// The kernel's parent-death signal through setpriv, with real processes: it follows the THREAD
// that forked the child (prctl(2)), so a child spawned from node's main thread outlives a
// worker_threads thread's exit and dies with the process — and one spawned from a thread dies
// with that thread (why the gateway spawns workers from its main thread only).
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { isAlive, killTracked, readLineMatching, spawnNode, track, waitForExit } from '../support/processes';
import { parentDeathSignalPrefix, PDEATHSIG_ENV } from '../../src/core/parentDeathSignal';

after(killTracked);

const prefix = process.platform === 'linux' ? parentDeathSignalPrefix().prefix : undefined;
const PDS = JSON.stringify(path.join(__dirname, '../../src/core/parentDeathSignal.js'));

/** A node process that spawns `sleep 300` through the prefix from `where`, and a thread that exits (the spawning one, from a thread). */
function parentSource(where: 'main' | 'thread'): string {
  return `
const { Worker } = require('worker_threads');
const { parentDeathSignalPrefix } = require(${PDS});
const prefix = parentDeathSignalPrefix().prefix;
const sleepArgs = [...prefix.slice(1), 'sleep', '300'];
// setpriv sets the signal, then execs: until the child is \`sleep\` the signal may not be set yet
// (a parent, or forking thread, gone before that is a race the test must not run into).
function execed(pid) {
  const deadline = Date.now() + 20000;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let comm = '';
    try { comm = require('fs').readFileSync('/proc/' + pid + '/comm', 'utf8').trim(); } catch (e) { /* not yet, or gone */ }
    if (comm === 'sleep' || Date.now() > deadline) return;
    Atomics.wait(nap, 0, 0, 5);
  }
}
if (${JSON.stringify(where)} === 'main') {
  const c = require('child_process').spawn(prefix[0], sleepArgs, { stdio: 'ignore' });
  execed(c.pid);
  process.stdout.write('child ' + c.pid + '\\n');
  // Another thread comes and goes; the process lives on.
  new Worker('setTimeout(() => {}, 10)', { eval: true }).on('exit', () => process.stdout.write('thread exited\\n'));
} else {
  // The thread spawns, reports, and ends (its loop would otherwise wait for the child).
  const w = new Worker("const { parentPort, workerData } = require('worker_threads'); const c = require('child_process').spawn(workerData.file, workerData.args, { stdio: 'ignore' }); c.unref(); (" + execed.toString() + ")(c.pid); parentPort.postMessage(c.pid);", { eval: true, workerData: { file: prefix[0], args: sleepArgs } });
  w.once('message', (pid) => process.stdout.write('child ' + pid + '\\n'));
  w.on('exit', () => process.stdout.write('thread exited\\n'));
}
setInterval(() => {}, 1000);
`;
}

async function start(where: 'main' | 'thread') {
  const parent = spawnNode(parentSource(where));
  // One reader for both lines: they may arrive in one chunk.
  let child: number | undefined;
  await readLineMatching(parent.stdout!, (l) => {
    const m = /^child (\d+)$/.exec(l);
    if (m) track((child = Number(m[1])));
    return l === 'thread exited' ? true : undefined;
  });
  assert.ok(child, 'the child\'s pid was reported');
  return { parent, child };
}

test('the switch turns the parent-death signal off', () => {
  for (const v of ['off', 'OFF', '0', 'false', 'no']) assert.equal(parentDeathSignalPrefix({ [PDEATHSIG_ENV]: v }).prefix, undefined, v);
  assert.match(parentDeathSignalPrefix({ [PDEATHSIG_ENV]: 'off' }).why, /GATEWAY_WARDEN_PDEATHSIG=off/);
});

test('spawned from the main thread: the child outlives a worker thread\'s exit, and dies the moment its parent is SIGKILLed', { skip: !prefix && 'no setpriv --pdeathsig here' }, async (t) => {
  const { parent, child } = await start('main');
  assert.equal(isAlive(child), true, 'a thread of the parent exiting does not signal the child');
  const killedAt = Date.now();
  parent.kill('SIGKILL');
  await waitForExit(child, 5000);
  t.diagnostic(`parent SIGKILL → child gone in ${Date.now() - killedAt} ms (kernel parent-death signal; nothing else watches it)`);
});

test('spawned from a worker thread: the child dies when that thread exits (the kernel follows the forking thread)', { skip: !prefix && 'no setpriv --pdeathsig here' }, async () => {
  const { parent, child } = await start('thread');
  await waitForExit(child, 5000);
  assert.equal(parent.exitCode, null, 'the parent process is still running');
  parent.kill('SIGKILL');
});
