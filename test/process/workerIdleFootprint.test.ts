// An idle worker evaluates only what an idle worker needs (issue 13 item 4: its private memory
// ≤ 1.25× a bare node's, bench/guardMemory.bench.ts). The teardown engine, the group keeper, /run
// and node's child_process are loaded on the first /run (worker/lazyChildren.ts), and a worker
// that never started a child exits without loading them. Observed from outside the bundle: a
// preload records the node modules the real worker program loaded when it exits.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JsonRpcConnection } from '../../src/core/rpc';
import { formatFingerprint, selfFingerprint } from '../../src/core/fingerprint';
import { PARENT_DEATH_SIGNAL, parentDeathSignalPrefix } from '../../src/core/parentDeathSignal';
import { DIST } from '../support/gatewayHost';
import { killTracked, spawnTracked, track, waitFor, waitForExit } from '../support/processes';

after(killTracked);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-idle-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Started as the gateway starts it: through setpriv --pdeathsig where there is one, so without
// its guard thread (the thread is the fallback, and loads worker_threads).
const pdeathsig = parentDeathSignalPrefix().prefix;
/** Loaded by none of an idle worker's code; child_process by every spawn, perf_hooks by the teardown engine. */
const CHILDREN_ONLY = ['child_process', 'perf_hooks', ...(pdeathsig ? ['worker_threads'] : [])];

/** Runs the worker program, sends `commands`, closes its stdin (its lifeline); the node modules it had loaded at exit. */
async function modulesAtExit(name: string, commands: string[]): Promise<{ loaded: Set<string>; outputs: string[]; stderr: string }> {
  const probe = path.join(tmp, `${name}.probe.js`);
  const out = path.join(tmp, `${name}.modules.json`);
  // First 'exit' listener: it sees what the worker had loaded before its own exit handlers ran.
  fs.writeFileSync(probe, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.moduleLoadList)));\n`);
  const me = formatFingerprint(selfFingerprint());
  const argv = [process.execPath, '--require', probe, path.join(DIST, 'worker.js'), '--session', name, '--parent', me, '--owner', me];
  if (pdeathsig) {
    argv.unshift(...pdeathsig);
    argv.push('--parent-death-signal', PARENT_DEATH_SIGNAL);
  }
  const worker = spawnTracked(argv[0], argv.slice(1), { detached: true });
  let stderr = '';
  worker.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-50_000)));
  const rpc = new JsonRpcConnection(worker.stdout!, worker.stdin!, { log: () => undefined });
  let ready = false;
  rpc.onNotification((method) => {
    if (method === 'ready') ready = true;
  });
  try {
    await waitFor(() => ready, `worker ${name} to be ready`, 15_000);
    const outputs: string[] = [];
    for (const command of commands) outputs.push((await rpc.request<{ output: string }>('exec', { command }, { timeoutMs: 10_000 })).output);
    worker.stdin!.end(); // the lifeline pipe: the worker exits through its own exit path
    await waitForExit(worker.pid!);
    const list = JSON.parse(fs.readFileSync(out, 'utf8')) as string[];
    return { loaded: new Set(list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length))), outputs, stderr };
  } finally {
    rpc.dispose('test over');
  }
}

test('an idle worker never loads the teardown engine, /run or child_process, and exits without them', async (t) => {
  const { loaded, outputs, stderr } = await modulesAtExit('idle', ['/echo x', '/pid', '/help']);
  assert.equal(outputs[0], 'x');
  assert.match(outputs[1], /^pid \d+ pgid \d+$/);
  t.diagnostic(`node modules loaded: ${loaded.size}`);
  assert.ok(loaded.has('net'), 'the probe saw the modules the worker did load (its stdin pipe needs net)');
  for (const m of CHILDREN_ONLY) assert.ok(!loaded.has(m), `an idle worker loaded ${m}`);
  assert.match(stderr, /exiting: lifeline: stdin closed/);
  assert.doesNotMatch(stderr, /teardown|took down/);
});

test('the first /run loads them, and the worker still takes its children down when it exits', async () => {
  const { loaded, outputs, stderr } = await modulesAtExit('run', ['/echo x', '/run echo hi; sleep 30 & echo bg=$!']);
  assert.match(outputs[1], /^hi\nbg=\d+\n$/);
  const sleeper = Number(/bg=(\d+)/.exec(outputs[1])![1]);
  track(sleeper);
  assert.ok(loaded.has('child_process') && loaded.has('perf_hooks'), `after /run: child_process and the teardown engine's perf_hooks are loaded (${[...loaded].filter((m) => !m.startsWith('internal/')).join(', ')})`);
  // The background sleep is ours: the exit path took it down through the lazily loaded engine —
  // or, with the parent-death signal, the worker left that to its group keeper (the reaper).
  if (pdeathsig) assert.match(stderr, /group keeper \d+ takes the rest down/);
  else assert.match(stderr, /took down [1-9]\d* process\(es\) of mine/);
  await waitForExit(sleeper, 10_000);
});
