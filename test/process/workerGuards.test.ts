// A worker whose event loop is blocked (test command /busy) must still die with its gateway and
// with its owner, and take its children along — through the kernel's parent-death signal plus the
// group keeper (Linux, setpriv present), and through the guard thread when that is switched off
// (GATEWAY_WARDEN_PDEATHSIG=off). Everything is observed in the real process table.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fingerprintOf, formatFingerprint } from '../../src/core/fingerprint';
import { isAlive, killTracked, readLineMatching, spawnTracked, testMarker, track, waitFor, waitForExit } from '../support/processes';
import { JsonRpcConnection } from '../../src/core/rpc';
import { catchesSignal, readProcCmdline, readProcStat, scanLiveStats } from '../../src/core/procfs';
import { parentDeathSignalPrefix, PDEATHSIG_ENV } from '../../src/core/parentDeathSignal';
import { GROUP_KEEPER_NAME, OWNER_ENV } from '../../src/core/ownerMarker';
import { backgroundGrandchild, createSession, DIST, exec, HostedGateway, startHostedGateway, waitNoMarked } from '../support/gatewayHost';

after(killTracked);

const linux = process.platform === 'linux';
const pdeathsig = linux && parentDeathSignalPrefix().prefix !== undefined;
const TEST_COMMANDS = { GATEWAY_WARDEN_TEST_COMMANDS: '1' };
const FALLBACK = { ...TEST_COMMANDS, [PDEATHSIG_ENV]: 'off' };
const WORKER_JS = path.join(DIST, 'worker.js');

/** Whether the worker was started with the parent-death signal (the gateway tells it in argv). */
function startedWithPdeathsig(worker: number): boolean {
  const argv = readProcCmdline(worker);
  assert.ok(argv.length > 0, `worker ${worker} cmdline readable`);
  return argv.join(' ').includes('--parent-death-signal KILL');
}

/** The worker's group keeper (a child of the worker), if any. */
function keeperOf(worker: number): number | undefined {
  return scanLiveStats().find((s) => s.ppid === worker && readProcCmdline(s.pid).includes(GROUP_KEEPER_NAME))?.pid;
}

/** A session whose worker has a /run background grandchild, then blocks its event loop in /busy. */
async function blockedWorker(g: HostedGateway): Promise<{ worker: number; grandchild: number }> {
  const s = await createSession(g);
  const grandchild = await backgroundGrandchild(g, s);
  const worker = g.workerPids()[0];
  const idleTicks = readProcStat(worker)!.cpuTicks;
  void exec(g, s, '/busy').catch(() => undefined);
  // Blocked for sure once it has spun 0.5 s of CPU since it was idle (state R alone may still be
  // the worker reading the request), longer than the guard's grace at a 200 ms poll.
  await waitFor(() => readProcStat(worker)!.cpuTicks - idleTicks >= 50, 'worker spinning in /busy', 20_000, 50);
  return { worker, grandchild };
}

test('the parent-death signal is found on this machine (Linux with util-linux setpriv)', { skip: !linux }, () => {
  const r = parentDeathSignalPrefix();
  assert.ok(r.prefix, `no parent-death signal: ${r.why}`);
  assert.deepEqual(r.prefix.slice(1), ['--pdeathsig', 'KILL', '--']);
  assert.equal(parentDeathSignalPrefix({ [PDEATHSIG_ENV]: 'off' }).prefix, undefined, 'the switch turns it off');
});

test('parent-death signal: a blocked worker dies with its SIGKILLed gateway (the kernel, not a poll) and its keeper takes the grandchild down', { skip: !pdeathsig }, async (t) => {
  // A 60 s poll: neither the main loop's poll nor a guard thread could act within the deadline below.
  const g = await startHostedGateway({ env: TEST_COMMANDS, args: ['--poll-ms', '60000'] });
  const { worker, grandchild } = await blockedWorker(g);
  assert.equal(startedWithPdeathsig(worker), true, 'the worker was started through setpriv --pdeathsig KILL');
  const keeper = keeperOf(worker);
  assert.ok(keeper, 'a group keeper runs beside the /run child');
  const killedAt = Date.now();
  process.kill(g.gatewayPid, 'SIGKILL');
  await waitForExit(worker, 10_000);
  const workerMs = Date.now() - killedAt;
  await waitNoMarked(g.hostFp, 10_000);
  t.diagnostic(`gateway SIGKILL → blocked worker gone in ${workerMs} ms, its group in ${Date.now() - killedAt} ms`);
  assert.ok(workerMs < 10_000);
  await waitForExit(grandchild, 5000); // the keeper took the worker's group down
  await waitForExit(keeper, 5000);
  g.host.kill('SIGKILL');
});

test('fallback (GATEWAY_WARDEN_PDEATHSIG=off): a blocked worker is killed by its guard thread after the gateway dies, grandchild included', async (t) => {
  const g = await startHostedGateway({ env: FALLBACK, args: ['--poll-ms', '200'] });
  const { worker, grandchild } = await blockedWorker(g);
  if (linux) {
    assert.equal(startedWithPdeathsig(worker), false, 'no parent-death signal when switched off');
    assert.equal(keeperOf(worker), undefined, 'no group keeper in the fallback');
  }
  const killedAt = Date.now();
  process.kill(g.gatewayPid, 'SIGKILL');
  await waitForExit(worker, 10_000);
  await waitNoMarked(g.hostFp);
  t.diagnostic(`gateway SIGKILL → blocked worker and group gone in ${Date.now() - killedAt} ms (guard thread, 200 ms poll)`);
  await waitForExit(grandchild, 5000); // the guard took the worker's group down (see the owner test on exiting processes)
  g.host.kill('SIGKILL');
});

for (const [mode, env] of [['parent-death signal', TEST_COMMANDS], ['fallback', FALLBACK]] as const) {
  test(`${mode}: owner (host) SIGKILLed with the gateway alive: a blocked worker and its grandchild are gone`, { skip: mode === 'parent-death signal' && !pdeathsig }, async (t) => {
    const g = await startHostedGateway({ env, args: ['--poll-ms', '200'] });
    const { worker, grandchild } = await blockedWorker(g);
    const killedAt = Date.now();
    g.host.kill('SIGKILL');
    await waitForExit(worker, 10_000);
    await waitNoMarked(g.hostFp);
    t.diagnostic(`host SIGKILL → blocked worker, grandchild and gateway gone in ${Date.now() - killedAt} ms`);
    // A process in the middle of exiting has no environment to read (so no marker) before it is
    // a zombie: each one's own exit is waited for, with a deadline.
    for (const pid of [g.gatewayPid, worker, grandchild]) await waitForExit(pid, 5000);
  });
}

test('parent-death signal: a worker SIGKILLed on its own takes its group along (the keeper), and a new keeper comes with the next /run', { skip: !pdeathsig }, async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  assert.match(await exec(g, s, '/echo x'), /x/);
  const first = g.workerPids()[0];
  assert.equal(keeperOf(first), undefined, 'no keeper before the first /run: nothing to take down');
  const grandchild = await backgroundGrandchild(g, s);
  assert.ok(keeperOf(first), 'a keeper once /run started something');
  process.kill(first, 'SIGKILL');
  await waitForExit(grandchild, 10_000);
  // The next command gets a fresh worker, whose first /run starts its own keeper.
  const second = await waitFor(async () => {
    await exec(g, s, '/run true').catch(() => undefined);
    return g.workerPids().find((p) => p !== first && isAlive(p));
  }, 'a replacement worker');
  await waitFor(() => keeperOf(second), 'the replacement worker\'s keeper');
  g.host.stdin!.end();
  await waitNoMarked(g.hostFp);
});

for (const [mode, env] of [['parent-death signal', {}], ['fallback', { [PDEATHSIG_ENV]: 'off' }]] as const) {
  test(`${mode}: gateway SIGKILLed with an idle worker: a /run setsid escapee carrying the worker's marker is gone too`, { skip: (mode === 'parent-death signal' && !pdeathsig) || (!linux && 'markers are read from /proc') }, async (t) => {
    const g = await startHostedGateway({ env });
    const s = await createSession(g);
    const escapee = Number(/bg=(\d+)/.exec(await exec(g, s, '/run setsid sleep 1000 >/dev/null 2>&1 & echo bg=$!'))?.[1]);
    assert.ok(escapee > 0);
    track(escapee);
    const worker = g.workerPids()[0];
    await waitFor(() => readProcStat(escapee)?.sid === escapee, 'the escapee left the worker\'s session');
    const killedAt = Date.now();
    process.kill(g.gatewayPid, 'SIGKILL');
    await waitForExit(worker, 10_000);
    await waitNoMarked(g.hostFp);
    t.diagnostic(`gateway SIGKILL → worker and setsid escapee gone in ${Date.now() - killedAt} ms`);
    g.host.kill('SIGKILL');
  });
}

test('parent-death signal: when its gateway is gone the worker exits at once and its keeper, as the reaper, takes the group and a setsid escapee down', { skip: !pdeathsig }, async () => {
  // The gateway's end of the worker's stdin closes before the kernel's SIGKILL arrives; a teardown
  // the worker began itself could take the keeper down and then be cut short by that SIGKILL
  // (seen under load: a setsid escapee left running). Here the "gateway" (this test) only closes
  // the worker's stdin and stays alive: no SIGKILL comes, and what the worker does is visible.
  const worker = spawnTracked(process.execPath, [WORKER_JS, '--session', 's', '--parent-death-signal', 'KILL', '--poll-ms', '60000']);
  let stderr = '';
  worker.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const rpc = new JsonRpcConnection(worker.stdout!, worker.stdin!);
  const run = async (command: string) => Number(/bg=(\d+)/.exec((await rpc.request<{ output: string }>('exec', { command }, { timeoutMs: 20_000 })).output)?.[1]);
  const grandchild = await run('/run sleep 1000 >/dev/null 2>&1 & echo bg=$!');
  const escapee = await run('/run setsid sleep 1000 >/dev/null 2>&1 & echo bg=$!');
  for (const pid of [grandchild, escapee]) track(pid);
  await waitFor(() => readProcStat(escapee)?.sid === escapee, 'the escapee left the worker\'s session');
  const keeper = keeperOf(worker.pid!);
  assert.ok(keeper, 'the worker has a group keeper');
  rpc.dispose('test done');
  worker.stdin!.end();
  await waitForExit(worker.pid!, 10_000);
  await waitForExit(grandchild, 10_000);
  await waitForExit(escapee, 10_000);
  await waitForExit(keeper, 10_000);
  assert.match(stderr, new RegExp(`exiting: .*; group keeper ${keeper} takes the rest down`), stderr);
  assert.doesNotMatch(stderr, /took down \d+ process\(es\) of mine/, 'the worker signalled nothing itself');
  assert.match(stderr, new RegExp(`worker reaper\\[${keeper}\\]: worker ${worker.pid} died: took down [2-9] process`), stderr);
});

test('the reaper acts only on proof: for a live worker it refuses and signals nothing; malformed arguments are refused', { skip: !linux }, async () => {
  const g = await startHostedGateway();
  const s = await createSession(g);
  const grandchild = await backgroundGrandchild(g, s);
  const worker = g.workerPids()[0];
  const fp = formatFingerprint(fingerprintOf(worker)!);
  const reaper = (args: string[]) => spawnSync(process.execPath, [WORKER_JS, ...args], { encoding: 'utf8', timeout: 30_000 });
  const live = reaper(['--reap-group', String(worker), '--reap-leader', fp]);
  assert.equal(live.status, 1, live.stderr);
  assert.match(live.stderr, /is alive: nothing to reap/);
  const bad = reaper(['--reap-group', '1', '--reap-leader', fp]);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /nothing reaped/);
  assert.equal(isAlive(worker), true);
  assert.equal(isAlive(grandchild), true, 'nothing was signalled');
  g.host.stdin!.end();
  await waitNoMarked(g.hostFp);
});

test('a reaper leaves SIGTERM to the kernel: its signal mask says it does not catch it while it reaps (a host-gone end that finds it does not wait a grace for it)', { skip: !linux }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-reaper-mask-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const mark = path.join(dir, 'term');
  // A dead "worker": a group leader that exits at once, leaving a member that notes SIGTERM and
  // lives on. Both carry the host's marker, as a worker and the reaper its keeper becomes do: with
  // its leader gone, the group is signalled only on its members' markers (core/kill/safety.ts).
  const env = { ...process.env, [OWNER_ENV]: testMarker('reaper-mask') };
  const leader = spawnTracked('/bin/sh', ['-c', `sh -c 'trap "echo term >> ${mark}" TERM; while :; do sleep 0.05; done' & echo $!; read _`], { detached: true, stdio: ['pipe', 'pipe', 'ignore'], env });
  const member = Number(await readLineMatching(leader.stdout!, (l) => Number(l) || undefined));
  track(member);
  const fp = formatFingerprint(fingerprintOf(leader.pid!)!);
  await waitFor(() => readProcStat(member)?.comm === 'sh' && catchesSignal(readProcStat(member)!, 15) === true, 'the member to set its trap');
  leader.stdin!.end();
  await waitForExit(leader.pid!, 5000);
  const reaper = spawnTracked(process.execPath, [WORKER_JS, '--reap-group', String(leader.pid), '--reap-leader', fp], { stdio: 'ignore', env });
  // Once the member has its SIGTERM the reaper's code runs, in its grace (the member lives on).
  await waitFor(() => fs.existsSync(mark), 'the reaper to SIGTERM the group', 10_000);
  const st = readProcStat(reaper.pid!);
  assert.ok(st && st.comm === 'node', `the reaper is running: ${JSON.stringify(st)}`);
  assert.equal(catchesSignal(st, 15), false, `the reaper's mask leaves SIGTERM to the kernel: ${st.sigCatch}`);
  await waitForExit(member, 10_000); // SIGKILLed after the grace
  await waitForExit(reaper.pid!, 10_000);
});

for (const [waits, pollMs] of [['ends itself when its gateway has not ended it', 100], ['is ended by its gateway meanwhile', 2500]] as const) {
  test(`only its owner (the host) dies: the worker waits 2 × pollMs for its live gateway to end it, and ${waits}`, { skip: !linux }, async () => {
    // Exiting at once would race the gateway's own end of the tree (see ownerGone in workerApp.ts).
    const owner = spawnTracked('sleep', ['1000']);
    const ownerFp = formatFingerprint(fingerprintOf(owner.pid!)!);
    const worker = spawnTracked(process.execPath, [WORKER_JS, '--session', 's', '--owner', ownerFp, '--poll-ms', String(pollMs)], { env: { ...process.env, ...TEST_COMMANDS } });
    let stderr = '';
    worker.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const rpc = new JsonRpcConnection(worker.stdout!, worker.stdin!);
    const out = await rpc.request<{ output: string }>('exec', { command: '/run sleep 1000 >/dev/null 2>&1 & echo bg=$!' }, { timeoutMs: 20_000 });
    const grandchild = Number(/bg=(\d+)/.exec(out.output)?.[1]);
    track(grandchild);
    owner.kill('SIGKILL');
    await waitFor(() => new RegExp(`owner ${owner.pid} is gone .*; my gateway ends me \\(waiting up to ${2 * pollMs} ms\\)`).test(stderr), 'the worker to see its owner gone and wait', 10_000);
    // The "gateway" (this test) ends it now, well inside its 5 s wait; or lets the 200 ms pass.
    if (pollMs > 100) worker.kill('SIGTERM');
    await waitForExit(worker.pid!, 10_000);
    await waitForExit(grandchild, 10_000); // its own teardown either way
    rpc.dispose('test done');
    if (pollMs > 100) {
      assert.match(stderr, /exiting: received SIGTERM/, stderr);
      assert.doesNotMatch(stderr, /has not ended me/, stderr);
    } else {
      assert.match(stderr, new RegExp(`exiting: lifeline: owner ${owner.pid} is gone .*, and my gateway has not ended me in 200 ms`), stderr);
    }
  });
}
