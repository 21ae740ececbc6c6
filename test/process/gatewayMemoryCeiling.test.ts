// gatewayWarden.limits.workerMemoryMB (--worker-memory-mb): a session whose worker and what it
// started use more than the ceiling is restarted — the worker and the memory hog gone (seen in
// /proc), `worker.restarted` with the numbers, the session kept, the next command in a new
// worker. With the ceiling off nothing is restarted.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { delay } from '../../src/core/emitter';
import { performance } from 'node:perf_hooks';
import { readProcRss } from '../../src/core/procfs';
import { RpcError } from '../../src/core/rpc';
import { cgroupsUnavailable, cleanupCgroupTrees, trackTree } from '../support/cgroups';
import { isAlive, killTracked, track, waitFor } from '../support/processes';
import { createSession, exec, GatewayEvent, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';

after(() => {
  cleanupCgroupTrees();
  killTracked();
});
const LINUX = process.platform === 'linux';
const MB = 1024 * 1024;

/** A node process that touches `mb` MB (Buffer.alloc fills it: resident) and then idles; started in the background by /run. */
function hogCommand(mb: number): string {
  const js = `const b=Buffer.alloc(${mb}*1024*1024,1);setInterval(()=>b[0]++,60000)`;
  return `/run ${JSON.stringify(process.execPath)} -e "${js}" >/dev/null 2>&1 & echo hog=$!`;
}

const noCgroups = LINUX ? cgroupsUnavailable() : 'not Linux';

for (const mode of ['cgroup', 'off'] as const) {
test(`above --worker-memory-mb the session is restarted: worker and hog gone, worker.restarted with the numbers, session kept, next command in a new worker (${mode === 'cgroup' ? 'members from the session\'s cgroup leaf' : 'GATEWAY_WARDEN_CGROUPS=off: the worker\'s group from /proc'})`, { skip: !LINUX || (mode === 'cgroup' && noCgroups) }, async () => {
  const g = await startHostedGateway({ args: ['--worker-memory-mb', '60'], env: { GATEWAY_WARDEN_CGROUPS: mode === 'off' ? 'off' : '' } });
  const ready = g.events.find((e) => e.type === 'gateway.ready')!;
  if (mode === 'cgroup') {
    assert.equal(ready.containment, 'cgroup');
    trackTree(ready.cgroup as string);
  } else assert.equal(ready.containment, 'process-group');
  try {
    const s = await createSession(g);
    assert.equal(await exec(g, s, '/echo first'), 'first');
    const [worker] = g.workerPids();
    const hog = Number(/hog=(\d+)/.exec(await exec(g, s, hogCommand(200)))?.[1]);
    assert.ok(hog > 0, 'the hog started');
    track(hog);
    // When the hog crossed the line (as /proc says), then how long until the restart.
    let crossedAt: number | undefined;
    await waitFor(() => {
      const rss = readProcRss(hog);
      if (rss !== undefined && rss > 60 * MB && crossedAt === undefined) crossedAt = performance.now();
      return crossedAt !== undefined || !isAlive(hog);
    }, 'the hog above 60 MB', 20_000, 5);
    const ev = await g.waitEvent((e) => e.type === 'worker.restarted' && e.sessionId === s, 'worker.restarted', 20_000);
    const restartMs = crossedAt !== undefined ? Math.round(performance.now() - crossedAt) : undefined;
    console.log(`# hog crossed 60 MB → worker.restarted in ${restartMs} ms; event ${JSON.stringify(ev)}`);
    console.log(`# ${/memory ceiling: session [^\n]*/.exec(g.stderr())?.[0] ?? '(no log line)'}`);
    assert.equal(ev.pid, worker);
    assert.equal(ev.reason, 'memory-limit');
    assert.equal(ev.setting, 'gatewayWarden.limits.workerMemoryMB');
    assert.equal(ev.limitBytes, 60 * MB);
    assert.ok(typeof ev.memoryBytes === 'number' && ev.memoryBytes > 60 * MB, `memoryBytes ${String(ev.memoryBytes)} above the limit`);
    assert.equal(ev.startTime !== undefined && typeof ev.members === 'number', true);
    assert.equal(ev.membersFrom, mode === 'cgroup' ? 'cgroup' : 'process-group', 'members from the leaf with cgroups, else the group');
    await waitFor(() => !isAlive(hog) && !isAlive(worker), 'the worker and the hog gone', 10_000);
    await g.waitEvent((e) => e.type === 'worker.exited' && e.pid === worker, 'worker.exited');
    assert.ok(g.events.findIndex((e) => e.type === 'worker.restarted') < g.events.findIndex((e) => e.type === 'worker.exited' && e.pid === worker), 'worker.restarted comes before its worker.exited');
    const goneAt = performance.now();
    console.log(`# worker and hog gone ${crossedAt !== undefined ? Math.round(goneAt - crossedAt) : '?'} ms after the hog crossed the limit`);
    assert.ok(!g.events.some((e) => e.type === 'session.closed'), 'the session was not closed');
    const list = await g.rpc.request<{ sessions: { sessionId: string }[] }>('session.list', {});
    assert.ok(list.sessions.some((x) => x.sessionId === s), 'the session is still listed');
    assert.equal(await exec(g, s, '/echo again'), 'again');
    const next = g.workerPids().at(-1)!;
    assert.notEqual(next, worker, 'a new worker');
    assert.equal(g.events.filter((e: GatewayEvent) => e.type === 'worker.restarted').length, 1, 'restarted once');
    // Which mechanism: memory.max where the leaf has a memory controller, else the gateway's sampling.
    console.log(`# ${/memory ceiling: (sampled by|memory\.max set)[^\n]*/.exec(g.stderr())?.[0] ?? '(no mechanism line)'}`);
    if (mode === 'cgroup') assert.match(g.stderr(), /memory ceiling: (sampled by the gateway \(no memory\.max: no memory controller|memory\.max set)/);
  } finally {
    await stopHostedGateway(g);
  }
});
}

test('a command running when its worker is restarted fails saying why (the figures and the setting); the session\'s next command runs in a new worker', { skip: !LINUX }, async () => {
  const g = await startHostedGateway({ args: ['--worker-memory-mb', '60'] });
  const tree = g.events.find((e) => e.type === 'gateway.ready')?.cgroup;
  if (typeof tree === 'string') trackTree(tree);
  try {
    const s = await createSession(g);
    // In the foreground: the /run is in flight when the ceiling acts.
    const js = 'const b=Buffer.alloc(200*1024*1024,1);setInterval(()=>b[0]++,60000)';
    const failed = await exec(g, s, `/run ${JSON.stringify(process.execPath)} -e "${js}"`, 30_000).then(() => undefined, (e: unknown) => e as RpcError);
    assert.ok(failed instanceof RpcError, 'the command failed');
    assert.match(failed.message, /^the worker \d+ of session [\w-]+ was restarted during the command: its processes together used \d+ MB, above gatewayWarden\.limits\.workerMemoryMB \(60 MB\)\. The session stays; the next command starts a new worker\.$/);
    assert.deepEqual([(failed.data as { reason?: string }).reason, (failed.data as { limitBytes?: number }).limitBytes], ['memory-limit', 60 * MB]);
    assert.equal(await exec(g, s, '/echo after'), 'after');
  } finally {
    await stopHostedGateway(g);
  }
});

test('with the ceiling off (the default) a session above 60 MB is not restarted', { skip: !LINUX }, async () => {
  const g = await startHostedGateway();
  try {
    const s = await createSession(g);
    const hog = Number(/hog=(\d+)/.exec(await exec(g, s, hogCommand(120)))?.[1]);
    track(hog);
    await waitFor(() => (readProcRss(hog) ?? 0) > 100 * MB, 'the hog above 100 MB', 20_000);
    const [worker] = g.workerPids();
    // Several sampling periods' worth (1 s each when on): nothing happens.
    await delay(2500);
    assert.ok(isAlive(hog) && isAlive(worker), 'worker and hog still there');
    assert.ok(!g.events.some((e) => e.type === 'worker.restarted'), 'no worker.restarted');
  } finally {
    await stopHostedGateway(g);
  }
});
