// The host side with the REAL embedded gateway (dist/gateway.js, built by npm run test:unit):
// registry bound to the host, checkpoint named by the host's fingerprint, clean dispose.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatFingerprint, selfFingerprint } from '../../src/core/fingerprint';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { readProcEnvVar, readProcStat } from '../../src/core/procfs';
import { DEFAULT_SETTINGS } from '../../src/host/settings';
import { WardenHost } from '../../src/host/wardenHost';
import { killWorker, sessionLeafOf } from '../../src/host/workerKill';
import { RpcError, RpcErrorCode } from '../../src/core/rpc';
import { cgroupsUnavailable, trackTree } from '../support/cgroups';
import { isAlive, killTracked, track, waitFor } from '../support/processes';
import { FAKE_GATEWAY, memoryLog } from './fakeGatewaySpec';
import { outputLog } from '../../src/ui/outputLog';
import { DEFAULT_TIMEOUTS } from '../../src/core/timeouts';

after(killTracked);
const linux = process.platform === 'linux';
const root = path.resolve(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-host-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function newHost(name: string) {
  const checkpointDir = path.join(tmp, name, 'registry');
  const log = memoryLog();
  const host = new WardenHost({ extensionPath: root, checkpointDir, log, settings: () => ({ ...DEFAULT_SETTINGS, timeouts: { ...DEFAULT_TIMEOUTS, shutdownGraceMs: 200 } }) });
  host.supervisor.onDidStart((gw) => track(gw.pid, true));
  host.supervisor.onEvent((e) => {
    if (e.type === 'worker.started') track(e.pid as number, true);
  });
  return { host, checkpointDir, log };
}

test('embedded gateway: owner marker is this host, workers are recorded, checkpoint is 0600 and named by the host fingerprint; dispose removes it', { skip: !linux }, async () => {
  assert.ok(fs.existsSync(path.join(root, 'dist', 'gateway.js')), 'dist/gateway.js is built');
  const { host, checkpointDir } = newHost('embedded');
  await host.supervisor.start();
  const gwPid = host.supervisor.current.pid!;
  assert.equal(readProcEnvVar(gwPid, OWNER_ENV), formatFingerprint(selfFingerprint()));
  const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', { label: 't' });
  const r = await host.supervisor.request<{ output: string }>('slash.exec', { sessionId, command: '/echo hello' });
  assert.match(r.output, /hello/);
  await waitFor(() => host.model.get(sessionId)?.worker, 'worker in the model');
  const worker = host.model.get(sessionId)!.worker!;
  await waitFor(() => host.registry.live().some((x) => x.role === 'worker' && x.fingerprint.pid === worker.pid), 'worker in the registry');
  assert.ok(host.registry.live().some((x) => x.role === 'gateway' && x.fingerprint.pid === gwPid));

  const file = path.join(checkpointDir, `${formatFingerprint(selfFingerprint()).replace(/:/g, '_')}.json`);
  await host.registry.flush();
  assert.ok(fs.existsSync(file), 'checkpoint written');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);

  await host.dispose();
  assert.ok(!isAlive(gwPid) && !isAlive(worker.pid), 'gateway and worker gone after dispose');
  assert.equal(fs.existsSync(file), false, 'clean deactivate removes the checkpoint');
});

test('checkpoints of dead hosts are kept for orphan detection; live neighbours are left alone', { skip: !linux }, () => {
  const dir = path.join(tmp, 'stale', 'registry');
  fs.mkdirSync(dir, { recursive: true });
  const boot = selfFingerprint().bootId;
  const dead = { pid: 999_999_0, startTime: 1, bootId: boot };
  const write = (owner: typeof dead) =>
    fs.writeFileSync(path.join(dir, `${formatFingerprint(owner).replace(/:/g, '_')}.json`), JSON.stringify({ version: 1, owner, writtenAt: Date.now(), records: [] }), { mode: 0o600 });
  write(dead);
  write({ pid: process.ppid, startTime: readProcStat(process.ppid)!.startTime, bootId: boot });
  const log = memoryLog();
  const host = new WardenHost({ extensionPath: root, checkpointDir: dir, log, settings: () => DEFAULT_SETTINGS });
  assert.deepEqual(host.staleCheckpoints.map((c) => c.owner.pid), [dead.pid]);
  host.disposeSync();
  assert.equal(fs.readdirSync(dir).length, 2, 'neither the dead host\'s nor the neighbour\'s checkpoint was removed');
});

test('activation never blocks on a checkpoint that is not a regular file, and tightens a registry folder others could write', { skip: !linux }, () => {
  const dir = path.join(tmp, 'hostile', 'registry');
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o777);
  assert.equal(spawnSync('mkfifo', ['-m', '600', path.join(dir, '1_2_x.json')]).status, 0, 'mkfifo');
  fs.symlinkSync('/dev/zero', path.join(dir, '3_4_x.json'));
  // The constructor reads checkpoints synchronously: in a child with a deadline, so a regression
  // fails here instead of hanging the test run.
  const hostJs = path.resolve(__dirname, '..', '..', 'src', 'host', 'wardenHost.js');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['-e', `
    const { WardenHost } = require(${JSON.stringify(hostJs)});
    const lines = [];
    const at = (level) => (m) => lines.push(level + ' ' + m);
    const log = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const host = new WardenHost({ extensionPath: process.argv[1], checkpointDir: process.argv[2], log, settings: () => ({}) });
    host.disposeSync();
    process.stdout.write(JSON.stringify(lines));
  `, root, dir], { timeout: 10_000, encoding: 'utf8' });
  const ms = Date.now() - t0;
  assert.equal(r.signal, null, `activation blocked: killed after ${ms} ms`);
  assert.equal(r.status, 0, r.stderr);
  const lines = JSON.parse(r.stdout) as string[];
  assert.ok(lines.includes(`warn registry: tightened ${dir} from mode 0777 to 0700`), lines.join('\n'));
  assert.ok(lines.some((l) => /^warn registry: skipped checkpoint .*1_2_x\.json: it is a FIFO/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^warn registry: skipped checkpoint .*3_4_x\.json: it is a symbolic link/.test(l)), lines.join('\n'));
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
});

test('Kill Worker asks the gateway (worker.kill), which ends the worker group (its /run child included), reports the exit and keeps the session; on the replaced worker\'s row it kills nothing', { skip: !linux }, async () => {
  const { host } = newHost('kill-worker');
  await host.supervisor.start();
  const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', {});
  await host.supervisor.request('slash.exec', { sessionId, command: '/run sleep 1000 >/dev/null 2>&1 &' }, 30_000);
  const worker = await waitFor(() => host.model.get(sessionId)?.worker, 'worker in the model');
  const table = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  const groupMembers = table.filter((n) => readProcStat(Number(n))?.pgid === worker.pgid).map(Number);
  assert.ok(groupMembers.length >= 2, `worker group has the worker and its child (${groupMembers})`);
  const asked: string[] = [];
  const request = <T>(method: string, params?: unknown, timeoutMs?: number) => {
    asked.push(method);
    return host.supervisor.request<T>(method, params, timeoutMs);
  };
  const r = await killWorker({ request, bootId: host.owner.bootId, graceMs: 200 }, sessionId, worker);
  assert.equal(r.ok, true, r.message);
  assert.deepEqual(asked, ['worker.kill'], 'the host asked the gateway; it signalled nothing itself');
  assert.match(r.message, /the gateway ended/);
  for (const pid of groupMembers) await waitFor(() => !isAlive(pid), `group member ${pid} gone`);
  await waitFor(() => host.model.get(sessionId) && !host.model.get(sessionId)!.worker, 'worker.exited applied to the model');
  assert.equal(host.supervisor.current.state, 'running');
  const out = await host.supervisor.request<{ output: string }>('slash.exec', { sessionId, command: '/echo again' }, 30_000);
  assert.match(out.output, /again/, 'the session starts a new worker on next use');
  // Kill Worker on the old row (the worker it names was replaced): the new worker is left alone, and the user is told.
  const fresh = await waitFor(() => host.model.get(sessionId)?.worker, 'the new worker in the model');
  assert.notEqual(fresh.pid, worker.pid);
  const stale = await killWorker({ request, bootId: host.owner.bootId, graceMs: 200 }, sessionId, worker);
  assert.deepEqual([stale.ok, stale.message], [false, `worker ${worker.pid} had already exited; the session's worker is now ${fresh.pid}, which was not killed`]);
  assert.equal(readProcStat(fresh.pid)?.startTime, fresh.startTime, 'the new worker lives, the same process');
  await host.dispose();
});

/** A host whose gateway runs, in a cgroup tree of its own (taken down after the test). */
async function startContainedHost(name: string) {
  const { host } = newHost(name);
  await host.supervisor.start();
  const tree = host.supervisor.gateway?.readyEvent?.cgroup;
  assert.equal(typeof tree, 'string', 'the gateway made a cgroup tree');
  trackTree(tree as string);
  return { host, gwPid: host.supervisor.current.pid! };
}

test('Kill Worker with a hung gateway and cgroups: the host takes the worker group and its session leaf (a setsid escapee is only there)', { skip: !linux ? 'Linux only' : cgroupsUnavailable() }, async () => {
  const { host, gwPid } = await startContainedHost('kill-worker-hung');
  const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', {});
  const out = await host.supervisor.request<{ output: string }>('slash.exec', { sessionId, command: '/run setsid sleep 1000 >/dev/null 2>&1 & echo bg=$!' }, 30_000);
  const escapee = Number(/bg=(\d+)/.exec(out.output)?.[1]);
  assert.ok(escapee > 0, out.output);
  track(escapee);
  const worker = await waitFor(() => host.model.get(sessionId)?.worker, 'worker in the model');
  const leaf = sessionLeafOf(host.supervisor.gateway, sessionId);
  assert.ok(leaf && fs.existsSync(leaf.path), `the session leaf: ${JSON.stringify(leaf)}`);
  // Hung: stopped, it can neither answer nor take the leaf down after the worker's SIGTERM.
  process.kill(gwPid, 'SIGSTOP');
  try {
    const hung = () => Promise.reject(new RpcError(RpcErrorCode.RequestTimeout, 'timed out (test: the gateway is stopped)'));
    const r = await killWorker({ request: hung, bootId: host.owner.bootId, graceMs: 200, sessionLeaf: leaf, ownerMarker: host.ownerMarker }, sessionId, worker);
    assert.equal(r.ok, true, r.message);
    assert.match(r.message, /did not answer; the host ended process group \d+ and its cgroup leaf/);
    await waitFor(() => !isAlive(worker.pid) && !isAlive(escapee), 'the worker and its setsid escapee gone');
  } finally {
    process.kill(gwPid, 'SIGCONT');
  }
  await host.dispose();
});

test('Kill Worker on a stale row with a hung gateway signals nothing: the session\'s new worker in the same cgroup leaf lives on', { skip: !linux ? 'Linux only' : cgroupsUnavailable() }, async () => {
  const { host, gwPid } = await startContainedHost('kill-worker-stale-hung');
  const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', {});
  await host.supervisor.request('slash.exec', { sessionId, command: '/echo first' });
  const first = await waitFor(() => host.model.get(sessionId)?.worker, 'the first worker in the model');
  const row = { ...first }; // what the user's tree row still names
  const ended = await host.supervisor.request<{ killed?: boolean }>('worker.kill', { sessionId, pid: first.pid, startTime: first.startTime }, 15_000);
  assert.equal(ended.killed, true);
  await host.supervisor.request('slash.exec', { sessionId, command: '/echo second' });
  const second = await waitFor(() => {
    const w = host.model.get(sessionId)?.worker;
    return w && w.pid !== first.pid ? w : undefined;
  }, 'the session\'s new worker');
  const leaf = sessionLeafOf(host.supervisor.gateway, sessionId);
  assert.ok(leaf && fs.existsSync(leaf.path), `the session leaf: ${JSON.stringify(leaf)}`);
  assert.match(fs.readFileSync(path.join(leaf.path, 'cgroup.procs'), 'utf8'), new RegExp(`^${second.pid}$`, 'm'), 'the new worker is in the same leaf');
  process.kill(gwPid, 'SIGSTOP');
  try {
    const hung = () => Promise.reject(new RpcError(RpcErrorCode.RequestTimeout, 'timed out (test: the gateway is stopped)'));
    const r = await killWorker({ request: hung, bootId: host.owner.bootId, graceMs: 200, sessionLeaf: leaf, ownerMarker: host.ownerMarker }, sessionId, row);
    assert.equal(r.ok, true, r.message);
    assert.match(r.message, /worker \d+ had already exited \(nothing was signalled\)/);
    assert.ok(isAlive(second.pid), 'the session\'s new worker was not touched');
  } finally {
    process.kill(gwPid, 'SIGCONT');
  }
  await host.dispose();
});

test('process exit during an async dispose still SIGKILLs the gateway and its workers synchronously', { skip: !linux }, async () => {
  const { host } = newHost('exit-during-dispose');
  await host.supervisor.start();
  const gwPid = host.supervisor.current.pid!;
  const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', {});
  await host.supervisor.request('slash.exec', { sessionId, command: '/echo hi' });
  const worker = await waitFor(() => host.model.get(sessionId)?.worker, 'worker in the model');
  await waitFor(() => host.registry.live().some((x) => x.fingerprint.pid === worker.pid), 'worker in the registry');
  // A stopped gateway cannot end anything by itself, so only our signals can.
  process.kill(gwPid, 'SIGSTOP');
  const disposing = host.dispose(5000);
  host.disposeSync(); // what the 'exit' hook runs if the host exits now
  assert.equal(isAlive(gwPid), false, 'gateway killed before disposeSync returned');
  assert.equal(isAlive(worker.pid), false, 'worker killed before disposeSync returned');
  await disposing;
});

test('the extension\'s log over a channel VS Code closes as deactivate begins (it disposes the subscriptions without waiting) cuts nothing short: a hung gateway and its worker are SIGKILLed, the checkpoint removed', { skip: !linux }, async () => {
  const checkpointDir = path.join(tmp, 'closed-log', 'registry');
  let closed = false;
  let refused = 0;
  const at = () => () => {
    if (closed && ++refused) throw new Error('Channel has been closed');
  };
  const channel = { trace: at(), debug: at(), info: at(), warn: at(), error: at(), show: at(), dispose: at() };
  const fallback: string[] = [];
  const log = outputLog(channel, (l) => fallback.push(l));
  const host = new WardenHost({ extensionPath: root, checkpointDir, log, settings: () => ({ ...DEFAULT_SETTINGS, timeouts: { ...DEFAULT_TIMEOUTS, shutdownGraceMs: 200 } }) });
  host.supervisor.onDidStart((gw) => track(gw.pid, true));
  await host.supervisor.start();
  const gwPid = host.supervisor.current.pid!;
  track(gwPid, true);
  const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', {});
  await host.supervisor.request('slash.exec', { sessionId, command: '/echo hi' });
  const worker = await waitFor(() => host.model.get(sessionId)?.worker, 'worker in the model');
  track(worker.pid, true);
  await waitFor(() => host.registry.live().some((x) => x.fingerprint.pid === worker.pid), 'worker in the registry');
  await host.registry.flush();
  const file = path.join(checkpointDir, `${formatFingerprint(selfFingerprint()).replace(/:/g, '_')}.json`);
  assert.ok(fs.existsSync(file), 'checkpoint written');
  // Hung: only the host's own sweep can end it.
  process.kill(gwPid, 'SIGSTOP');
  const disposing = host.dispose(3000);
  closed = true;
  await disposing;
  assert.ok(refused > 0, 'the teardown logged after the channel closed (the case under test)');
  assert.equal(isAlive(gwPid), false, 'the hung gateway was killed');
  assert.equal(isAlive(worker.pid), false, 'its worker was killed');
  assert.equal(fs.existsSync(file), false, 'the registry\'s last write ran: the checkpoint is gone');
});

/**
 * A gateway that says ready and then answers nothing, ignoring stdin's end, SIGTERM and SIGHUP:
 * run as another user, the host's teardown may not end it. Self-contained, in a directory any
 * user can read (the repository's need not be).
 */
const LINGERING_GATEWAY = `
const fs = require('fs');
const st = fs.readFileSync('/proc/self/stat', 'utf8');
const startTime = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[19]);
for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => undefined);
process.stdout.write(JSON.stringify({ jsonrpc: '2.0', method: 'event', params: { type: 'gateway.ready', pid: process.pid, pgid: process.pid, startTime } }) + '\\n');
process.stdin.resume();
setInterval(() => undefined, 1000);
`;

test('a gateway that outlives a restart\'s teardown (another user\'s: not ours to signal) and exits later leaves its successor\'s view alone', { skip: !linux || process.getuid?.() !== 0 ? 'Linux, as root (the old gateway runs as nobody)' : undefined }, async () => {
  const checkpointDir = path.join(tmp, 'linger', 'registry');
  // /tmp itself: TMPDIR may point into a directory only we can enter.
  const shared = fs.mkdtempSync('/tmp/gw-linger-');
  fs.chmodSync(shared, 0o755);
  const script = path.join(shared, 'lingering-gateway.js');
  fs.writeFileSync(script, LINGERING_GATEWAY, { mode: 0o644 });
  const log = memoryLog();
  let launches = 0;
  const settings = () => ({
    ...DEFAULT_SETTINGS, backend: 'warden' as const,
    // The first gateway runs as nobody and ignores every request to stop; the second is ordinary.
    ...(launches === 0
      ? { gatewayCommand: '/usr/bin/setpriv', gatewayArgs: ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, script] }
      : { gatewayCommand: process.execPath, gatewayArgs: [FAKE_GATEWAY] }),
    timeouts: { ...DEFAULT_TIMEOUTS, shutdownGraceMs: 200 },
  });
  const host = new WardenHost({ extensionPath: root, checkpointDir, log, settings });
  host.supervisor.onDidStart((gw) => {
    launches++;
    track(gw.pid, true);
  });
  try {
    await host.supervisor.start();
    const old = host.supervisor.gateway!;
    await host.supervisor.restart();
    assert.ok(isAlive(old.pid), 'the old gateway outlived the teardown (the case under test)');
    const current = host.supervisor.gateway!;
    assert.notEqual(current.pid, old.pid);
    const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', { label: 'kept' });
    await host.supervisor.request('slash.exec', { sessionId, command: '/echo hi' });
    const worker = await waitFor(() => host.model.get(sessionId)?.worker, 'the new gateway\'s worker in the model');
    track(worker.pid, true);
    const oldExit = new Promise<void>((resolve) => host.supervisor.onDidExit(({ gateway }) => gateway === old && resolve()));
    process.kill(old.pid, 'SIGKILL');
    await oldExit;
    assert.equal(host.model.get(sessionId)?.worker?.pid, worker.pid, 'the session and its worker are still in the view');
    assert.equal(host.supervisor.current.state, 'running');
  } catch (e) {
    console.log(log.lines.join('\n'));
    throw e;
  } finally {
    await host.dispose();
    fs.rmSync(shared, { recursive: true, force: true });
  }
});

test('Recently exited with the real gateway: a worker SIGKILLed from outside is listed with SIGKILL and how long it ran, also after the gateway stopped', { skip: !linux }, async () => {
  const { host } = newHost('recent');
  try {
    await host.supervisor.start();
    const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', { label: 'doomed' });
    await host.supervisor.request('slash.exec', { sessionId, command: '/echo hi' });
    const worker = await waitFor(() => host.model.get(sessionId)?.worker, 'worker in the model');
    process.kill(worker.pid, 'SIGKILL');
    const e = await waitFor(() => host.model.recentlyExited().find((x) => x.pid === worker.pid), 'the worker in Recently exited');
    assert.deepEqual([e.kind, e.signal, e.code, e.sessionId], ['worker', 'SIGKILL', null, sessionId]);
    assert.ok(e.startedAt !== undefined && e.exitedAt >= e.startedAt, `ran from ${e.startedAt} to ${e.exitedAt}`);
    await host.supervisor.stop();
    assert.ok(host.model.recentlyExited().some((x) => x.pid === worker.pid), 'kept after the gateway stopped');
  } finally {
    await host.dispose();
  }
});
