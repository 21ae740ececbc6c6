// The command backend's program in its own cgroup leaf (issue 13), with the real gateway, real
// signals and the kernel's own lists: the program, its child and a setsid double-forked escapee
// that dropped every Warden variable from its environment (so nothing but the leaf's cgroup.procs
// can find it) are all members of `<tree>/program` — joined before the program ran anything —
// and all gone after gateway.shutdown and after the gateway's stdin ends (the host gone), the
// tree removed — and SIGTERMed first (before the leaf, the program's teardown never found it: it
// died only by the final sweep's SIGKILL); and when the program exits on its own, the escapee goes with its leaf (before the
// leaf, the program's teardown found it by group, parentage or tag only: it stayed until the
// gateway's own exit). With the host gone the tree ends with the gateway in one cgroup.kill (hermes
// too). hermes: its workers are in the leaf too. With GATEWAY_WARDEN_CGROUPS=off the program runs as before (no leaf, `cgroup:
// null`) and the same family, its escapee keeping the markers, is gone the old way. process.tree
// lists the marker-less escapee from the tree's members.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readProcCgroupPath } from '../../src/core/cgroup/cgroupMount';
import { PROGRAM_LEAF, sessionLeafName } from '../../src/core/cgroup/cgroupNames';
import { readProcStat } from '../../src/core/procfs';
import { cgroupsUnavailable, cleanupCgroupTrees, trackTree } from '../support/cgroups';
import { FAKE_HERMES_DIR, fakeHermesUnavailable } from '../support/fakeHermes';
import { announcedPids, createSession, exec, HostedGateway, startHostedGateway, stopHostedGateway, treeLeftEmptyThenRemoved, waitNoMarked } from '../support/gatewayHost';
import { isAlive, killTracked, track, waitFor } from '../support/processes';

const noCgroups = cgroupsUnavailable();
const linux = process.platform === 'linux';

afterEach(cleanupCgroupTrees);
after(() => {
  cleanupCgroupTrees();
  killTracked();
});

/** Every Warden variable a process can drop from its environment. */
const WARDEN_VARS = ['GATEWAY_WARDEN_OWNER', 'GATEWAY_WARDEN_GATEWAY', 'GATEWAY_WARDEN_PARENT'];

/**
 * A program with a child and a double-forked setsid escapee (its parent exits at once, so it is
 * re-parented away from the program: neither in the gateway's group nor its tree). `strip`: the
 * escapee drops every Warden variable first. Each announces its pid on stdout (logged by the
 * gateway). The escapee (a shell waiting on a sleep) writes TERM to $TERM_FILE when SIGTERMed:
 * proof that the teardown was graceful with it, not a SIGKILL out of the blue.
 */
function family(strip: boolean): string[] {
  const env = strip ? `env ${WARDEN_VARS.map((v) => `-u ${v}`).join(' ')} ` : '';
  return ['sh', '-c', [
    'echo "PID program=$$"',
    'sleep 300 & echo "PID child=$!"',
    `( ${env}setsid sh -c 'trap "echo TERM >> \\"$TERM_FILE\\"; exit 0" TERM; echo "PID escapee=$$"; sleep 300 & wait' & )`,
    'wait',
  ].join('\n')];
}

let termFiles = 0;
function newTermFile(): string {
  return path.join(os.tmpdir(), `gw-progleaf-term-${process.pid}-${termFiles++}`);
}

interface Family { program: number; child: number; escapee: number }

async function familyPids(g: HostedGateway): Promise<Family> {
  const f: Family = await announcedPids(g, ['program', 'child', 'escapee']);
  const programSid = readProcStat(f.program)?.sid;
  await waitFor(() => {
    const st = readProcStat(f.escapee);
    return st && st.ppid !== f.program && st.sid !== programSid;
  }, 'the escapee to be re-parented, in a session of its own');
  return f;
}

function environOf(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
}

function readAndRemove(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function leafMembers(leaf: string): number[] {
  return fs.readFileSync(path.join(leaf, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
}

async function startContained(): Promise<{ g: HostedGateway; tree: string; leaf: string; f: Family; termFile: string }> {
  const termFile = newTermFile();
  const g = await startHostedGateway({ env: { GATEWAY_WARDEN_CGROUPS: '', TERM_FILE: termFile }, backend: { name: 'command', command: family(true) } });
  const ready = g.events.find((e) => e.type === 'gateway.ready')!;
  assert.equal(ready.containment, 'cgroup', JSON.stringify(ready));
  const tree = ready.cgroup as string;
  trackTree(tree);
  const leaf = path.join(tree, PROGRAM_LEAF);
  const f = await familyPids(g);
  await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'running', 'backend.state running');
  const status = await g.rpc.request<{ program: { pid: number; cgroup: string | null } }>('gateway.status');
  assert.equal(status.program.pid, f.program);
  assert.equal(status.program.cgroup, leaf, 'gateway.status names the program\'s leaf');
  // The kernel's list of the leaf holds all three; none of them is in the gateway's own leaf.
  const members = leafMembers(leaf);
  for (const [name, pid] of Object.entries(f)) assert.ok(members.includes(pid), `${name} ${pid} is in ${leaf}/cgroup.procs: ${members}`);
  assert.ok(!members.includes(g.gatewayPid), 'the gateway is not in the program\'s leaf');
  const own = readProcCgroupPath(g.gatewayPid);
  assert.ok(own.state === 'found' && own.value.endsWith('/gateway'), `the gateway stays in its own leaf: ${JSON.stringify(own)}`);
  // The escapee left the group, the tree and every variable: only the leaf can name it.
  assert.ok(!environOf(f.escapee).some((v) => WARDEN_VARS.some((w) => v.startsWith(`${w}=`))), 'the escapee carries no Warden variable');
  assert.ok(environOf(f.program).some((v) => v.startsWith('GATEWAY_WARDEN_GATEWAY=')), 'the program itself still gets the tag');
  // process.tree (what the view shows and process.kill may reach) lists it too, from the leaf.
  const shown = await g.rpc.request<{ processes: Array<{ pid: number; escaped?: true }> }>('process.tree');
  const node = shown.processes.find((p) => p.pid === f.escapee);
  assert.ok(node, `the marker-less escapee ${f.escapee} is in process.tree: ${shown.processes.map((p) => p.pid)}`);
  assert.equal(node.escaped, true);
  return { g, tree, leaf, f, termFile };
}

const cgroupSkip = !linux ? 'Linux only' : noCgroups;

test('cgroups on: the program, its child and a marker-less setsid escapee are in the program leaf, and all gone after gateway.shutdown; the tree removed', { skip: cgroupSkip }, async () => {
  const { g, tree, f, termFile } = await startContained();
  const r = await g.rpc.request<{ closedSessions: number }>('gateway.shutdown', { graceMs: 1000 });
  assert.equal(r.closedSessions, 0);
  await waitFor(() => !Object.values(f).some(isAlive), `program, child and escapee (${Object.values(f)}) gone after gateway.shutdown`, 10_000);
  await waitFor(() => !isAlive(g.gatewayPid), 'the gateway to exit');
  assert.equal(fs.existsSync(tree), false, 'the tree (and the program leaf) removed');
  assert.match(g.stderr(), /command: teardown \(shutdown\)/);
  assert.equal(readAndRemove(termFile), 'TERM\n', 'the marker-less escapee got SIGTERM first (the leaf\'s graceful teardown)');
});

test('cgroups on: the gateway\'s stdin ends (host gone): the program leaf\'s members, the marker-less escapee included, are gone, the tree left empty and removed by the next start', { skip: cgroupSkip }, async () => {
  const { g, tree, f, termFile } = await startContained();
  g.host.stdin!.end();
  await waitFor(() => !Object.values(f).some(isAlive), `program, child and escapee (${Object.values(f)}) gone after stdin EOF`, 10_000);
  await waitFor(() => !isAlive(g.gatewayPid), 'the gateway to exit');
  await waitNoMarked(g.hostFp);
  assert.equal(readAndRemove(termFile), 'TERM\n', 'the marker-less escapee got SIGTERM first, with the lifeline grace');
  // The whole tree's end (Containment.endHostGone): the gateway ended by the kernel with the
  // rest, its tree left behind — the per-leaf teardown exited normally and removed it.
  await waitFor(() => /HOST gateway exited null SIGKILL/.test(g.stderr()), 'the host to see the gateway end by SIGKILL', 5000);
  assert.ok(fs.existsSync(tree), 'the tree is left (emptied by its cgroup.kill)');
  await treeLeftEmptyThenRemoved(tree);
});

test('cgroups on: the program exits on its own: what it left (the escapee too) is taken down through its leaf, the leaf removed, the gateway stays', { skip: cgroupSkip }, async () => {
  const g = await startHostedGateway({
    env: { GATEWAY_WARDEN_CGROUPS: '' },
    backend: { name: 'command', command: ['sh', '-c', `( env ${WARDEN_VARS.map((v) => `-u ${v}`).join(' ')} setsid sh -c 'sleep 300 & echo "PID left=$!"' & ); sleep 1`] },
  });
  const tree = g.events.find((e) => e.type === 'gateway.ready')!.cgroup as string;
  trackTree(tree);
  const left = Number(await waitFor(() => /PID left=(\d+)/.exec(g.stderr())?.[1], 'the leftover pid'));
  track(left);
  assert.ok(leafMembers(path.join(tree, PROGRAM_LEAF)).includes(left));
  await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'exited', 'exited');
  await waitFor(() => !isAlive(left), 'the leftover to be taken down');
  await waitFor(() => !fs.existsSync(path.join(tree, PROGRAM_LEAF)), 'the program leaf removed');
  assert.ok(isAlive(g.gatewayPid), 'the gateway is still up');
  await stopHostedGateway(g);
});

for (const how of ['gateway.shutdown', 'stdin EOF'] as const) {
  test(`GATEWAY_WARDEN_CGROUPS=off: no leaf (cgroup: null); after ${how} the program, its child and a setsid escapee keeping the markers are gone`, { skip: !linux ? 'Linux only' : undefined }, async () => {
    const termFile = newTermFile();
    const g = await startHostedGateway({ env: { GATEWAY_WARDEN_CGROUPS: 'off', TERM_FILE: termFile }, backend: { name: 'command', command: family(false) } });
    const ready = g.events.find((e) => e.type === 'gateway.ready')!;
    assert.equal(ready.containment, 'process-group');
    const f = await familyPids(g);
    const status = await g.rpc.request<{ program: { cgroup: string | null } }>('gateway.status');
    assert.equal(status.program.cgroup, null);
    const cg = readProcCgroupPath(f.program);
    assert.ok(cg.state !== 'found' || !cg.value.includes('gateway-warden-'), `the program is in no cgroup of ours: ${JSON.stringify(cg)}`);
    if (how === 'gateway.shutdown') await g.rpc.request('gateway.shutdown', { graceMs: 1000 });
    else g.host.stdin!.end();
    await waitFor(() => !Object.values(f).some(isAlive), `program, child and escapee (${Object.values(f)}) gone after ${how}`, 10_000);
    await waitNoMarked(g.hostFp);
    readAndRemove(termFile);
  });
}

async function startHermesContained(args: string[] = [], env: Record<string, string> = {}): Promise<{ g: HostedGateway; tree: string; leaf: string; hermesPid: number }> {
  const g = await startHostedGateway({
    args,
    env: { GATEWAY_WARDEN_CGROUPS: '', PYTHONPATH: FAKE_HERMES_DIR, PYTHONDONTWRITEBYTECODE: '1', FAKE_HERMES_FLAVOR: 'cur', ...env },
    backend: { name: 'hermes', cwd: FAKE_HERMES_DIR },
  });
  const tree = g.events.find((e) => e.type === 'gateway.ready')!.cgroup as string;
  assert.equal(typeof tree, 'string');
  trackTree(tree);
  const state = await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'running', 'the hermes gateway to be running', 30_000);
  return { g, tree, leaf: path.join(tree, PROGRAM_LEAF), hermesPid: state.pid as number };
}

/** The session's worker (the latest worker.started for it after `since` events) once it is in the session's leaf. */
async function workerInSessionLeaf(g: HostedGateway, tree: string, s: string, since = 0): Promise<{ pid: number; sessionLeaf: string }> {
  const w = await g.waitEvent((e) => g.events.indexOf(e) >= since && e.type === 'worker.started' && e.sessionId === s, `worker.started for ${s}`, 20_000);
  const sessionLeaf = path.join(tree, sessionLeafName(s));
  await waitFor(() => fs.existsSync(sessionLeaf) && leafMembers(sessionLeaf).includes(w.pid as number), `worker ${String(w.pid)} moved into ${sessionLeaf}`);
  return { pid: w.pid as number, sessionLeaf };
}

test('cgroups on, hermes: the hermes gateway is in the program leaf, its slash worker moved into its session\'s leaf; gateway.shutdown with the worker busy leaves nothing, the tree removed', { skip: cgroupSkip ?? fakeHermesUnavailable(), timeout: 120_000 }, async () => {
  const { g, tree, leaf, hermesPid } = await startHermesContained();
  const s = await createSession(g);
  const { pid: workerPid, sessionLeaf } = await workerInSessionLeaf(g, tree, s);
  const members = leafMembers(leaf);
  assert.ok(members.includes(hermesPid) && !members.includes(workerPid), `hermes ${hermesPid} in ${leaf}, its worker ${workerPid} not: ${members}`);
  assert.deepEqual(leafMembers(sessionLeaf), [workerPid], 'the session\'s leaf holds its worker');
  const status = await g.rpc.request<{ program: { cgroup: string | null } }>('gateway.status');
  assert.equal(status.program.cgroup, leaf);
  void exec(g, s, '/fake-hold', 120_000).catch(() => undefined);
  await g.waitEvent((e) => e.type === 'worker.state' && e.sessionId === s && e.busy === true, 'busy');
  await g.rpc.request('gateway.shutdown', { graceMs: 1000 });
  await waitFor(() => ![hermesPid, workerPid].some(isAlive), 'hermes and its worker gone', 10_000);
  await waitFor(() => !isAlive(g.gatewayPid), 'the gateway to exit');
  await waitNoMarked(g.hostFp);
  assert.equal(fs.existsSync(tree), false, 'the tree removed');
  assert.match(g.stderr(), /hermes: teardown \(shutdown\): \d+ process\(es\), 0 worker group\(s\)/, 'leaves, no worker group targets');
});

test('cgroups on, hermes: the gateway\'s stdin ends (host gone) with the worker busy: hermes, its worker and an escapee end with the gateway in one cgroup.kill of the tree; session.closed (lifeline) said once; the tree left empty, then removed by the next start', { skip: cgroupSkip ?? fakeHermesUnavailable(), timeout: 120_000 }, async () => {
  const { g, tree, hermesPid } = await startHermesContained();
  const s = await createSession(g);
  const w = await workerInSessionLeaf(g, tree, s);
  const escapee = Number(await exec(g, s, '/fake-escapee 300'));
  track(escapee);
  void exec(g, s, '/fake-hold', 120_000).catch(() => undefined);
  await g.waitEvent((e) => e.type === 'worker.state' && e.sessionId === s && e.busy === true, 'busy');
  g.host.stdin!.end();
  await waitFor(() => ![hermesPid, w.pid, escapee, g.gatewayPid].some(isAlive), 'hermes, its worker, the escapee and the gateway gone', 15_000);
  await waitFor(() => /HOST gateway exited null SIGKILL/.test(g.stderr()), 'the host to see the gateway end by SIGKILL', 5000);
  assert.doesNotMatch(g.stderr(), /hermes: teardown \(lifeline\)/, 'no per-leaf program teardown ran');
  const closed = g.events.filter((e) => e.type === 'session.closed' && e.sessionId === s);
  assert.deepEqual(closed.map((e) => e.reason), ['lifeline'], 'session.closed said once, before the end');
  await waitNoMarked(g.hostFp);
  assert.ok(fs.existsSync(tree), 'the tree is left (emptied by its cgroup.kill)');
  await treeLeftEmptyThenRemoved(tree);
});

test('cgroups on, hermes: a stale worker keeps its leaf through the grace (its session gone inside hermes), then is taken down with it, its escapee too', { skip: cgroupSkip ?? fakeHermesUnavailable(), timeout: 120_000 }, async () => {
  const { g, tree } = await startHermesContained(['--poll-ms', '200', '--stale-worker-grace-ms', '1500']);
  try {
    const s = await createSession(g);
    const w = await workerInSessionLeaf(g, tree, s);
    const escapee = Number(await exec(g, s, '/fake-escapee 300'));
    track(escapee);
    // hermes #21467's end state: the session is gone inside hermes, its worker still runs.
    const left = await g.rpc.request<{ pid: number }>('backend.call', { method: 'fake.stale_worker', params: { session_id: s } });
    assert.equal(left.pid, w.pid);
    await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === s && e.reason === 'closed-by-backend', 'the session closed-by-backend');
    await g.waitEvent((e) => e.type === 'worker.stale' && e.pid === w.pid, 'worker.stale', 10_000);
    assert.ok(isAlive(w.pid) && isAlive(escapee), 'the grace is the stale rule\'s: nothing is taken down with the session');
    assert.ok(leafMembers(w.sessionLeaf).includes(escapee));
    const reaped = await g.waitEvent((e) => e.type === 'worker.reaped' && e.pid === w.pid, 'worker.reaped', 10_000);
    assert.ok(Number(reaped.staleForMs) >= 1500, 'not before the grace');
    await waitFor(() => !isAlive(w.pid) && !isAlive(escapee), 'the stale worker and its escapee gone', 10_000);
    await waitFor(() => !fs.existsSync(w.sessionLeaf), 'the leaf removed');
  } finally {
    await stopHostedGateway(g);
  }
});

test('cgroups on, hermes: what a worker leaves (a double-forked, marker-less escapee) is its session\'s: gone with Kill Worker and with session.close, the leaf removed; the next worker is moved into a new leaf', { skip: cgroupSkip ?? fakeHermesUnavailable(), timeout: 120_000 }, async () => {
  const { g, tree, leaf, hermesPid } = await startHermesContained();
  try {
    const s = await createSession(g);
    const first = await workerInSessionLeaf(g, tree, s);
    const escapee = Number(await exec(g, s, '/fake-escapee 300'));
    track(escapee);
    assert.ok(Number.isInteger(escapee) && isAlive(escapee), `an escapee pid: ${escapee}`);
    assert.notEqual(readProcStat(escapee)?.ppid, first.pid, 'the escapee was re-parented away from its worker');
    assert.ok(!environOf(escapee).some((v) => v.startsWith('GATEWAY_WARDEN_')), 'the escapee carries no Warden variable');
    assert.ok(leafMembers(first.sessionLeaf).includes(escapee), 'the escapee was born in the session\'s leaf');
    assert.ok(!leafMembers(leaf).includes(escapee), 'not in the program\'s');

    const killed = await g.rpc.request<{ killed: boolean; worker: { pid: number } | null }>('worker.kill', { sessionId: s }, { timeoutMs: 15_000 });
    assert.equal(killed.killed, true, JSON.stringify(killed));
    assert.equal(killed.worker?.pid, first.pid);
    await waitFor(() => !isAlive(escapee) && !isAlive(first.pid), 'the worker and its escapee gone with Kill Worker', 10_000);
    await waitFor(() => !fs.existsSync(first.sessionLeaf), 'the session\'s leaf removed');
    assert.ok(isAlive(hermesPid), 'hermes itself stays');

    // The session goes on: its next command starts a new worker, moved into a new leaf.
    const since = g.events.length;
    assert.match(await exec(g, s, '/help'), /Available Commands/);
    const second = await workerInSessionLeaf(g, tree, s, since);
    assert.notEqual(second.pid, first.pid);
    const escapee2 = Number(await exec(g, s, '/fake-escapee 300'));
    track(escapee2);
    assert.ok(leafMembers(second.sessionLeaf).includes(escapee2), 'the new worker\'s escapee is in the session\'s leaf');

    assert.deepEqual(await g.rpc.request('session.close', { sessionId: s }, { timeoutMs: 15_000 }), { closed: true });
    await waitFor(() => !isAlive(escapee2) && !isAlive(second.pid), 'the worker and its escapee gone with the session', 10_000);
    await waitFor(() => !fs.existsSync(second.sessionLeaf), 'the session\'s leaf removed');
    assert.ok(isAlive(hermesPid), 'hermes itself stays');
    assert.ok(leafMembers(leaf).includes(hermesPid));
  } finally {
    await stopHostedGateway(g);
  }
  await waitNoMarked(g.hostFp);
  // stdin EOF (the host gone) ends the tree with the gateway: left empty for the next start.
  await treeLeftEmptyThenRemoved(tree);
});

/**
 * hermes' auto-compression, as the fake does it: the live session `s` gets a new key and a new
 * worker, which the gateway moves into the session's same leaf. Returns that new worker.
 */
async function rotateKey(g: HostedGateway, tree: string, s: string, first: { pid: number; sessionLeaf: string }, leak: boolean): Promise<{ pid: number; sessionLeaf: string }> {
  const since = g.events.length;
  const r = await g.rpc.request<{ pid: number; old_pid: number | null }>('backend.call', { method: 'fake.rotate_key', params: { session_id: s, leak } });
  track(r.pid);
  assert.equal(r.old_pid, first.pid);
  const second = await workerInSessionLeaf(g, tree, s, since);
  assert.equal(second.pid, r.pid);
  assert.equal(second.sessionLeaf, first.sessionLeaf, 'the new worker is moved into the session\'s same leaf');
  return second;
}

/** The session's new worker survived its predecessor's end: it answers, in its leaf, the session open. */
async function newWorkerStays(g: HostedGateway, s: string, second: { pid: number; sessionLeaf: string }): Promise<void> {
  assert.equal(await exec(g, s, '/fake-pid'), String(second.pid), 'the session\'s new worker still answers');
  assert.match(await exec(g, s, '/help'), /Available Commands/);
  assert.ok(isAlive(second.pid) && leafMembers(second.sessionLeaf).includes(second.pid), 'the new worker stays, in its leaf');
  assert.ok(!g.events.some((e) => e.type === 'session.closed' && e.sessionId === s), 'the session stays');
}

test('cgroups on, hermes: a session key change (auto-compression) with the old worker exiting: the session\'s new worker, moved into the same leaf, stays and answers; the old worker\'s child is swept with its group', { skip: cgroupSkip ?? fakeHermesUnavailable(), timeout: 120_000 }, async () => {
  const { g, tree } = await startHermesContained(['--poll-ms', '200']);
  try {
    const s = await createSession(g);
    const first = await workerInSessionLeaf(g, tree, s);
    const child = Number(await exec(g, s, '/fake-grandchild 300'));
    track(child);
    assert.ok(leafMembers(first.sessionLeaf).includes(child), 'the old worker\'s child is in the session\'s leaf');
    const second = await rotateKey(g, tree, s, first, false);
    await g.waitEvent((e) => e.type === 'worker.exited' && e.pid === first.pid, 'worker.exited for the old worker');
    // The old worker's remnant sweep (its group: SIGTERM, 500 ms, SIGKILL) is over once its child is gone.
    await waitFor(() => !isAlive(child), 'the old worker\'s child swept', 10_000);
    await newWorkerStays(g, s, second);
  } finally {
    await stopHostedGateway(g);
  }
  await waitNoMarked(g.hostFp);
});

test('cgroups on, hermes: a session key change (auto-compression) leaking the old worker: the old one, stale, is reaped by its own group; the session\'s new worker in the same leaf stays and answers', { skip: cgroupSkip ?? fakeHermesUnavailable(), timeout: 120_000 }, async () => {
  const { g, tree } = await startHermesContained(['--poll-ms', '200', '--stale-worker-grace-ms', '500']);
  try {
    const s = await createSession(g);
    const first = await workerInSessionLeaf(g, tree, s);
    const second = await rotateKey(g, tree, s, first, true);
    assert.ok(isAlive(first.pid), 'the old worker was left running');
    await g.waitEvent((e) => e.type === 'worker.reaped' && e.pid === first.pid, 'worker.reaped for the old worker', 15_000);
    await waitFor(() => !isAlive(first.pid), 'the old worker gone', 10_000);
    await newWorkerStays(g, s, second);
  } finally {
    await stopHostedGateway(g);
  }
  await waitNoMarked(g.hostFp);
});

test('cgroups on, hermes: two live sessions with one session key (a stored session resumed twice): closing one leaves the other\'s worker alive, answering, then moved into its own leaf', { skip: cgroupSkip ?? fakeHermesUnavailable(), timeout: 120_000 }, async () => {
  const { g, tree } = await startHermesContained(['--poll-ms', '200'], { FAKE_HERMES_HISTORY: '1' });
  try {
    const stored = (await g.rpc.request<{ sessions: { id: string }[] }>('backend.call', { method: 'session.list' })).sessions[0].id;
    // One after the other: the first is ours (adopted) before the second is asked for.
    const resume = async () => (await g.rpc.request<{ session_id: string; stored_session_id: string }>('backend.call', { method: 'session.resume', params: { session_id: stored } }));
    const r1 = await resume();
    const r2 = await resume();
    assert.equal(r1.stored_session_id, r2.stored_session_id, 'both sessions run under one key');
    const key = r1.stored_session_id;
    const found = await waitFor(() => {
      const started = g.events.filter((e) => e.type === 'worker.started' && e.sessionKey === key);
      return started.length === 2 ? started.map((e) => e.pid as number) : undefined;
    }, 'both workers found', 20_000);
    for (const pid of found) track(pid);
    // Which worker is whose: hermes' active_list does not say, the session's own worker does.
    const second = Number(await exec(g, r2.session_id, '/fake-pid'));
    assert.ok(found.includes(second), `${second} is one of ${found}`);
    const first = found.find((p) => p !== second)!;

    assert.deepEqual(await g.rpc.request('session.close', { sessionId: r1.session_id }, { timeoutMs: 15_000 }), { closed: true });
    await waitFor(() => !isAlive(first), 'the closed session\'s worker gone', 10_000);
    assert.ok(isAlive(second), 'the other session\'s worker outlives the close');
    assert.equal(await exec(g, r2.session_id, '/fake-pid'), String(second), 'the other session\'s next command runs in its same worker');
    // Its key is one session's now: the worker is that session's, moved into that session's leaf.
    const leaf2 = path.join(tree, sessionLeafName(r2.session_id));
    await waitFor(() => fs.existsSync(leaf2) && leafMembers(leaf2).includes(second), `worker ${second} moved into ${leaf2}`, 10_000);
    const list = await g.rpc.request<{ sessions: { sessionId: string; worker: { pid: number } | null }[] }>('session.list');
    assert.deepEqual(list.sessions.map((x) => [x.sessionId, x.worker?.pid]), [[r2.session_id, second]]);
    assert.ok(!g.events.some((e) => e.type === 'session.closed' && e.sessionId === r2.session_id), 'the other session stays');
  } finally {
    await stopHostedGateway(g);
  }
  await waitNoMarked(g.hostFp);
});
