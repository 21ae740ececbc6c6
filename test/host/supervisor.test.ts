import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ownCgroupDir } from '../../src/core/cgroup/cgroupMount';
import { readProcEnvVar, readProcStat } from '../../src/core/procfs';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { GatewayEvent } from '../../src/host/gatewayProcess';
import type { LaunchSpec } from '../../src/host/launchSpec';
import { GatewayStatus, GatewaySupervisor, SupervisorOptions } from '../../src/host/supervisor';
import { cgroupsUnavailable, cleanupCgroupTrees, trackTree } from '../support/cgroups';
import { GATEWAY_JS } from '../support/gatewayHost';
import { isAlive, killTracked, pidsWithMarker, testMarker, track, waitFor } from '../support/processes';
import { sampleContinuously } from '../support/marker';
import { delay } from '../../src/core/emitter';
import { fakeSpec, memoryLog } from './fakeGatewaySpec';
import { DEFAULT_TIMEOUTS } from '../../src/core/timeouts';

after(killTracked); // (and the cgroup trees tracked: killTracked runs that cleanup too)
const linux = process.platform === 'linux';

function supervise(name: string, env: Record<string, string> = {}, extra: Partial<SupervisorOptions> = {}, backend?: LaunchSpec['backend']) {
  const { spec: fake, marker } = fakeSpec(name, env);
  const spec: LaunchSpec = backend ? { ...fake, backend } : fake;
  const log = memoryLog();
  const states: GatewayStatus[] = [];
  const events: GatewayEvent[] = [];
  let starts = 0;
  const sup = new GatewaySupervisor({
    launch: () => {
      starts++;
      return spec;
    },
    log,
    readyTimeoutMs: 5000,
    crashPolicy: { initialBackoffMs: 50, maxBackoffMs: 400 },
    timeouts: () => ({ ...DEFAULT_TIMEOUTS, shutdownGraceMs: 200 }),
    ...extra,
  });
  sup.onDidChangeState((s) => states.push(s));
  sup.onDidStart((gw) => track(gw.pid, true));
  sup.onEvent((e) => {
    events.push(e);
    if (e.type === 'worker.started') track(e.pid as number, true);
  });
  return { sup, marker, log, states, events, starts: () => starts };
}

test('start: the gateway runs as a group leader with the owner marker and answers requests; stop ends its whole tree', { skip: !linux }, async () => {
  const { sup, marker, events } = supervise('start-stop');
  await sup.start();
  const st = sup.current;
  assert.equal(st.state, 'running');
  assert.ok(st.pid && isAlive(st.pid));
  assert.equal(readProcStat(st.pid)!.pgid, st.pid, 'gateway leads its own process group');
  assert.equal(readProcEnvVar(st.pid, OWNER_ENV), marker);
  const { sessionId } = await sup.request<{ sessionId: string }>('session.create', { label: 'a' });
  const r = await sup.request<{ output: string }>('slash.exec', { sessionId, command: '/echo hi' });
  assert.equal(r.output, 'hi');
  await waitFor(() => events.find((e) => e.type === 'worker.started'), 'worker.started event');
  assert.ok(pidsWithMarker(marker).length >= 2, 'gateway and worker carry the marker');
  await sup.stop();
  assert.equal(sup.current.state, 'stopped');
  await waitFor(() => pidsWithMarker(marker).length === 0, 'every marked process gone', 5000);
  await sup.dispose();
});

test('an unexpected exit is restarted after a backoff, with a new pid; the status keeps naming the backend throughout', { skip: !linux }, async () => {
  const { sup, states, starts } = supervise('crash-restart', {}, {}, 'command');
  await sup.start();
  const first = sup.current.pid!;
  process.kill(first, 'SIGKILL');
  await waitFor(() => sup.current.state === 'running' && sup.current.pid !== first, 'a restarted gateway', 10_000);
  const restarting = states.find((s) => s.state === 'restarting');
  assert.ok(restarting, 'went through restarting');
  assert.ok(restarting.nextAttemptAt, 'with a scheduled next attempt');
  assert.match(restarting.error ?? '', /SIGKILL/);
  // The tree, the status bar and the context keys read the backend from the status.
  assert.deepEqual([...new Set(states.map((st) => st.backend))], ['command'], 'every state named the backend');
  assert.equal(starts(), 2);
  assert.ok(!isAlive(first));
  await sup.dispose();
});

test('deactivate right after a crash: the crash sweep\'s targets are the deactivate\'s too — a SIGTERM-ignoring process in the dead gateway\'s group is gone when dispose resolves', { skip: !linux }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-crash-dispose-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pidFile = path.join(dir, 'stubborn');
  // A long grace: the crash sweep is still in it (SIGTERM ignored) when the window closes.
  const { sup } = supervise('crash-dispose', { FAKE_GATEWAY_STUBBORN_CHILD_FILE: pidFile }, { timeouts: () => ({ ...DEFAULT_TIMEOUTS, shutdownGraceMs: 5000 }) });
  await sup.start();
  const stubborn = await waitFor(() => (fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : undefined), 'the stubborn child');
  track(stubborn);
  assert.equal(readProcStat(stubborn)?.pgid, sup.current.pgid, 'in the gateway\'s group');
  process.kill(sup.current.pid!, 'SIGKILL');
  await waitFor(() => sup.current.state === 'restarting', 'the crash seen');
  assert.ok(isAlive(stubborn), 'the crash sweep gives it its grace');
  await sup.dispose(1000);
  // The host is about to exit: a sweep still waiting out its grace would never get to SIGKILL.
  assert.equal(isAlive(stubborn), false, 'gone when dispose resolves');
});

test('a crash loop stops after 5 crashes, reports it once, and leaves nothing running', { skip: !linux }, async () => {
  const { sup, marker, starts } = supervise('crash-loop', { FAKE_GATEWAY_MODE: 'crash-after-ready' }, {}, 'hermes');
  const gaveUp: string[] = [];
  sup.onDidGiveUp((g) => gaveUp.push(g.message));
  await sup.start();
  await waitFor(() => sup.current.state === 'failed', 'supervisor to give up', 20_000);
  assert.equal(starts(), 5, 'started once plus four restarts');
  assert.equal(sup.current.backend, 'hermes', 'given up, the status still names the backend');
  assert.equal(gaveUp.length, 1);
  assert.match(gaveUp[0], /5 times/);
  assert.match(sup.current.error ?? '', /automatic restarts are stopped/);
  await waitFor(() => pidsWithMarker(marker).length === 0, 'nothing left running', 5000);
  await sup.dispose();
});

test('a custom command that does not exist fails with a clear error and starts nothing', async () => {
  const log = memoryLog();
  const sup = new GatewaySupervisor({
    launch: () => ({ command: '/nonexistent/gateway-warden-test-binary', args: ['--x'], env: process.env, display: '/nonexistent/gateway-warden-test-binary --x', embedded: false }),
    log,
  });
  await assert.rejects(sup.start(), /gateway-warden-test-binary.*not found/);
  assert.equal(sup.current.state, 'failed');
  assert.equal(sup.current.pid, undefined);
  assert.match(sup.current.error ?? '', /not found/);
  await sup.dispose();
});

test('a command that exits at once reports its exit code and stderr', { skip: !linux }, async () => {
  const { sup, marker } = supervise('exit-now', { FAKE_GATEWAY_MODE: 'exit-now' });
  await assert.rejects(sup.start(), /exited with code 2 before it was ready.*exiting at once/);
  assert.equal(sup.current.state, 'failed');
  assert.deepEqual(pidsWithMarker(marker), []);
  await sup.dispose();
});

test('a 4 MB stderr line is dropped with a note, not buffered; the last line without a newline is kept', { skip: !linux }, async () => {
  const { sup } = supervise('runaway-stderr', { FAKE_GATEWAY_MODE: 'runaway-stderr' });
  const err = await sup.start().then(() => undefined, (e: Error) => e);
  assert.ok(err, 'start fails: the command exits before gateway.ready');
  assert.match(err.message, /exited with code 3 before it was ready/);
  assert.match(err.message, /a stderr line longer than 65536 bytes was dropped/);
  assert.match(err.message, /last words/);
  assert.ok(err.message.length < 70_000, `the error carries no megabytes of stderr (${err.message.length} chars)`);
  await sup.dispose();
});

test('a command that never says gateway.ready times out and its whole group is stopped', { skip: !linux }, async () => {
  const { sup, marker } = supervise('never-ready', { FAKE_GATEWAY_MODE: 'never-ready' }, { readyTimeoutMs: 1500 });
  const started = sup.start();
  // The fixture starts a child in its group; wait until both exist, so the cleanup is real.
  const pids = await waitFor(() => (pidsWithMarker(marker).length >= 2 ? pidsWithMarker(marker) : undefined), 'gateway and its child', 5000);
  for (const p of pids) track(p);
  await assert.rejects(started, /did not report gateway\.ready within 2 s/);
  assert.equal(sup.current.state, 'failed');
  await waitFor(() => pidsWithMarker(marker).length === 0, 'the never-ready group gone', 5000);
  await sup.dispose();
});

test('commands run without a shell: shell syntax in arguments stays literal', { skip: !linux }, async () => {
  const probe = `/tmp/gw-no-shell-${process.pid}-${Date.now()}`;
  const { sup } = supervise('no-shell', { FAKE_GATEWAY_MODE: 'exit-now' }, {});
  const { spec } = fakeSpec('no-shell', { FAKE_GATEWAY_MODE: 'exit-now' });
  const withArg = new GatewaySupervisor({ launch: () => ({ ...spec, args: [...spec.args, `; touch ${probe}`, `$(touch ${probe})`] }), log: memoryLog() });
  await assert.rejects(withArg.start(), /exited with code 2/);
  assert.equal(fs.existsSync(probe), false, 'no shell interpreted the arguments');
  await withArg.dispose();
  await sup.dispose();
});

test('dispose of a SIGSTOPped gateway falls back to SIGKILL within the budget', { skip: !linux }, async () => {
  const { sup, marker, events, log } = supervise('hung', { FAKE_GATEWAY_WORKERS: '3' }, {
    workerGroups: () => events.filter((e) => e.type === 'worker.started').map((e) => ({ pgid: e.pgid as number, leader: { pid: e.pid as number, startTime: e.startTime as number, bootId: fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() } })),
  });
  await sup.start();
  await waitFor(() => events.filter((e) => e.type === 'worker.started').length === 3, 'three workers');
  process.kill(sup.current.pid!, 'SIGSTOP');
  const t0 = Date.now();
  await sup.dispose(1500);
  const elapsed = Date.now() - t0;
  await waitFor(() => pidsWithMarker(marker).length === 0, 'gateway and workers gone', 5000);
  assert.ok(elapsed < 5000, `dispose took ${elapsed} ms`);
  // It did not answer: the host swept the gateway's group and, itself, the worker groups.
  assert.ok(log.lines.some((l) => /did not answer/.test(l)), log.lines.join('\n'));
  assert.ok(log.lines.some((l) => /^debug teardown: 4 group\(s\)/.test(l)), log.lines.join('\n')); // the gateway's and its 3 workers'
});

test('after a crash the dead gateway\'s worker groups are swept (they have no lifeline here), then it restarts', { skip: !linux }, async () => {
  const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  // What the registry would hold: the workers seen so far.
  const known: GatewayEvent[] = [];
  const { sup } = supervise('crash-sweep', { FAKE_GATEWAY_WORKERS: '3' }, {
    workerGroups: () => known.map((e) => ({ pgid: e.pgid as number, leader: { pid: e.pid as number, startTime: e.startTime as number, bootId } })),
  });
  sup.onEvent((e) => {
    if (e.type === 'worker.started') known.push(e);
  });
  await sup.start();
  await waitFor(() => known.length === 3, 'three workers');
  const first = sup.current.pid!;
  const workers = known.map((e) => e.pid as number);
  process.kill(first, 'SIGKILL');
  // The fixture's workers are plain `sleep`s in their own groups: only the host's sweep ends them.
  for (const pid of workers) await waitFor(() => !isAlive(pid), `worker ${pid} of the crashed gateway gone`, 8000);
  await waitFor(() => sup.current.state === 'running' && sup.current.pid !== first, 'restarted');
  await sup.dispose();
});

test('deactivate with a gateway that answers: it gets the user\'s grace (no 150 ms cap), and the host sweeps no worker group itself — each group is swept once', { skip: !linux }, async () => {
  const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const known: GatewayEvent[] = [];
  const { sup, marker, log } = supervise('deactivate-once', { FAKE_GATEWAY_WORKERS: '3' }, {
    // A gateway that answers, even on a loaded machine (at the default 150 ms a slow answer counts as hung).
    timeouts: () => ({ ...DEFAULT_TIMEOUTS, shutdownGraceMs: 400, stopProbeMs: 2000 }),
    workerGroups: () => known.map((e) => ({ pgid: e.pgid as number, leader: { pid: e.pid as number, startTime: e.startTime as number, bootId } })),
  });
  sup.onEvent((e) => {
    if (e.type === 'worker.started') known.push(e);
  });
  await sup.start();
  await waitFor(() => known.length === 3, 'three workers');
  const t0 = Date.now();
  await sup.dispose(2500);
  const elapsed = Date.now() - t0;
  await waitFor(() => pidsWithMarker(marker).length === 0, 'gateway and workers gone', 5000);
  assert.ok(elapsed < 2500, `within the budget: ${elapsed} ms`);
  // graceMs means the workers' SIGTERM→SIGKILL gap on both sides: the user's 400 ms as is.
  assert.ok(log.lines.some((l) => l.includes('gateway.shutdown graceMs=400')), log.lines.join('\n'));
  const sweeps = log.lines.filter((l) => /^debug teardown: \d+ group\(s\)/.test(l));
  assert.deepEqual(sweeps.map((l) => /(\d+) group/.exec(l)![1]), ['1'], `only the gateway's own group, by the host: ${sweeps.join(' | ')}`);
});

test('deactivate uses at most 1000 ms of a longer grace (the setting says so)', { skip: !linux }, async () => {
  const { sup, marker, log } = supervise('deactivate-bound', {}, { timeouts: () => ({ ...DEFAULT_TIMEOUTS, shutdownGraceMs: 3000 }) });
  await sup.start();
  await sup.dispose(2500);
  await waitFor(() => pidsWithMarker(marker).length === 0, 'gateway gone', 5000);
  assert.ok(log.lines.some((l) => l.includes('gateway.shutdown graceMs=1000')), log.lines.join('\n'));
});

/**
 * Watches the process table from now until `op` (a start or restart begun before a dispose) has
 * settled — by then any spawn it could make has happened: the most marked processes seen at once
 * (must be 0) and how `op` ended. Bounded: `op` must settle within 15 s.
 */
async function watchUntilSettled(marker: string, op: Promise<void>): Promise<{ seen: number; outcome: string }> {
  const watch = sampleContinuously(() => pidsWithMarker(marker).length);
  const outcome = await Promise.race([
    op.then(() => 'resolved', (e: Error) => `rejected: ${e.message}`),
    delay(15_000, true).then(() => 'did not settle within 15 s'),
  ]);
  const { max } = await watch.stop();
  return { seen: max, outcome };
}

/**
 * A supervisor of fake gateways that never say ready (a stray spawn lives long enough to be seen),
 * except the first with `firstReady`; `building` runs while each launch spec is being built.
 */
function superviseLaunches(name: string, opts: { firstReady?: boolean; building?: () => Promise<void> } = {}) {
  const { spec, marker } = fakeSpec(name);
  let launches = 0;
  const s = supervise(name, {}, {
    readyTimeoutMs: 5000,
    launch: async () => {
      await opts.building?.();
      return ++launches === 1 && opts.firstReady ? spec : { ...spec, env: { ...spec.env, FAKE_GATEWAY_MODE: 'never-ready' } };
    },
  });
  return { ...s, marker, launches: () => launches };
}

test('deactivate during a restart: once dispose() resolves, no gateway of this supervisor runs, and the restart spawns none afterwards', { skip: !linux }, async () => {
  const { sup, marker, launches } = superviseLaunches('dispose-in-restart', { firstReady: true });
  await sup.start();
  track(sup.current.pid!, true);
  const restart = sup.restart();
  // Deactivate while the restart is tearing the old gateway down (the reviewer's 20 ms, as an event).
  const disposed = new Promise<void>((resolve) => {
    const sub = sup.onDidChangeState((s) => {
      if (s.state !== 'stopping') return;
      sub.dispose();
      queueMicrotask(() => resolve(sup.dispose(2500)));
    });
  });
  await disposed;
  const { seen, outcome } = await watchUntilSettled(marker, restart);
  assert.equal(seen, 0, `a gateway ran after dispose() resolved (restart ${outcome})`);
  assert.match(outcome, /rejected: Gateway Warden is shutting down/);
  assert.equal(launches(), 1, 'no launch spec is built once disposed');
  assert.equal(sup.current.state, 'stopped');
});

test('deactivate while the launch spec is being built: the spec is never spawned', { skip: !linux }, async () => {
  let building!: () => void;
  let release!: () => void;
  const built = new Promise<void>((r) => (building = r));
  const { sup, marker } = superviseLaunches('dispose-in-spec', {
    building: () => {
      building();
      return new Promise<void>((r) => (release = r));
    },
  });
  const start = sup.start();
  await built;
  await sup.dispose(2500);
  release();
  const { seen, outcome } = await watchUntilSettled(marker, start);
  assert.equal(seen, 0, `a gateway was spawned after dispose() resolved (start ${outcome})`);
  assert.match(outcome, /rejected: Gateway Warden is shutting down/);
  assert.equal(sup.current.state, 'stopped');
});

/** Starts a gateway that never says ready and waits until it and its child exist: a start still pending. */
async function pendingStart(name: string) {
  const { sup, marker } = superviseLaunches(name);
  const start = sup.start();
  const pids = await waitFor(() => (pidsWithMarker(marker).length >= 2 ? pidsWithMarker(marker) : undefined), 'the starting gateway and its child', 5000);
  for (const p of pids) track(p);
  assert.equal(sup.current.state, 'starting');
  return { sup, marker, start, pids };
}

test('deactivate while the gateway starts (not yet ready): dispose() resolves only once its group is gone', { skip: !linux }, async () => {
  const { sup, marker, start, pids } = await pendingStart('dispose-starting');
  await sup.dispose(2500);
  assert.deepEqual(pids.filter(isAlive), [], 'the starting gateway and its child are gone when dispose() resolves');
  const { seen, outcome } = await watchUntilSettled(marker, start);
  assert.equal(seen, 0, `a gateway ran after dispose() resolved (start ${outcome})`);
  assert.match(outcome, /rejected: Gateway Warden is shutting down/);
  assert.equal(sup.current.state, 'stopped', 'not "failed": the start was cut short by the shutdown');
});

test('the exit hook (disposeSync) while the gateway starts: its group is SIGKILLed before it returns', { skip: !linux }, async () => {
  const { sup, marker, start, pids } = await pendingStart('dispose-sync-starting');
  sup.disposeSync();
  assert.deepEqual(pids.filter(isAlive), [], 'the starting gateway and its child are gone when disposeSync() returns');
  const { seen, outcome } = await watchUntilSettled(marker, start);
  assert.equal(seen, 0, `a gateway ran after disposeSync() (start ${outcome})`);
  assert.match(outcome, /rejected: Gateway Warden is shutting down/);
});

/**
 * A gateway with cgroups crashes with a stopped worker whose setsid escapee dropped every marker:
 * only the host's sweep of the tree can end them. `scope`: the gateway is started the way a
 * delegated `systemd-run --scope` starts it — a wrapper moves itself into another cgroup (a
 * sibling of ours, as a scope is elsewhere in the hierarchy) and execs the gateway there.
 */
async function crashWithTree(name: string, scope?: string): Promise<void> {
  const marker = testMarker(name);
  const gateway = [process.execPath, GATEWAY_JS];
  const { sup, log } = supervise(name, {}, {
    launch: () => ({
      ...(scope
        ? { command: '/bin/sh', args: ['-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', scope, ...gateway] }
        : { command: gateway[0], args: gateway.slice(1) }),
      env: { ...process.env, [OWNER_ENV]: marker, GATEWAY_WARDEN_CGROUPS: '' }, display: `node gateway.js (${name})`, embedded: true,
    }),
  });
  // Every gateway it starts (the restarted one too) has a tree: removed at the end even on failure.
  sup.onDidStart((gw) => typeof gw.readyEvent?.cgroup === 'string' && trackTree(gw.readyEvent.cgroup));
  await sup.start();
  const tree = sup.gateway?.readyEvent?.cgroup;
  assert.equal(typeof tree, 'string', `gateway.ready names its tree: ${JSON.stringify(sup.gateway?.readyEvent)}`);
  trackTree(tree as string);
  if (scope) assert.equal(path.dirname(tree as string), scope, 'the tree is in the scope, not beside us');
  const { sessionId } = await sup.request<{ sessionId: string }>('session.create', {});
  const { output } = await sup.request<{ output: string }>('slash.exec', { sessionId, command: '/run env -u GATEWAY_WARDEN_PARENT -u GATEWAY_WARDEN_OWNER setsid sleep 1000 >/dev/null 2>&1 & echo bg=$!' });
  const escapee = Number(/bg=(\d+)/.exec(output)?.[1]);
  track(escapee);
  const { sessions } = await sup.request<{ sessions: { worker: { pid: number } }[] }>('session.list', {});
  const worker = sessions[0].worker.pid;
  // The worker cannot act (stopped): only the host's sweep of the tree can end it and the escapee.
  process.kill(worker, 'SIGSTOP');
  const first = sup.current.pid!;
  process.kill(first, 'SIGKILL');
  await waitFor(() => !isAlive(escapee) && !isAlive(worker), 'the stopped worker and its escapee gone', 8000).catch((e: Error) => {
    throw new Error(`${e.message}\n${log.lines.join('\n')}`);
  });
  await waitFor(() => !fs.existsSync(tree as string), 'the crashed gateway\'s tree removed by the host', 5000).catch((e: Error) => {
    throw new Error(`${e.message}\n${log.lines.join('\n')}`);
  });
  await waitFor(() => sup.current.state === 'running' && sup.current.pid !== first, 'restarted');
  await sup.dispose();
  assert.equal(pidsWithMarker(marker).length, 0);
}

const cgroupSkip = !linux ? 'Linux only' : cgroupsUnavailable();

test('after a crash of a gateway with cgroups, the host takes its tree down with cgroup.kill (a stopped worker\'s setsid escapee included) and removes it', { skip: cgroupSkip }, async () => {
  await crashWithTree('cgroup-crash');
});

test('the same when the gateway ran in another cgroup (as in a delegated systemd scope): the tree elsewhere is corroborated and taken down', { skip: cgroupSkip }, async () => {
  const own = ownCgroupDir();
  assert.equal(typeof own, 'string', JSON.stringify(own));
  const scope = path.join(own as string, `gw-test-scope-${process.pid}`);
  fs.mkdirSync(scope);
  try {
    await crashWithTree('cgroup-crash-scope', scope);
  } finally {
    // Empty once every gateway in it has exited and its trees are gone (taken down here on failure).
    cleanupCgroupTrees();
    await waitFor(() => {
      try {
        fs.rmdirSync(scope);
        return true;
      } catch {
        return false;
      }
    }, `the test scope ${scope} removed`, 5000).catch(() => undefined);
  }
});
