// The command backend: any program as the gateway's child, under every guard. Its live process
// tree (process.tree, gateway.status), process.kill of one node, and teardown on host SIGKILL,
// gateway.shutdown and the program's own exit — with a grandchild that ignores SIGTERM and a
// setsid escapee that left the tree (re-parented away) but carries the marker. All observed in
// the real process table.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RpcError } from '../../src/core/rpc';
import { readProcStat } from '../../src/core/procfs';
import { pidsWithMarker, waitAllMarked } from '../support/marker';
import { isAlive, killTracked, track, waitAllExited, waitFor } from '../support/processes';
import { announcedPids, HostedGateway, startHostedGateway, stopHostedGateway, waitNoMarked } from '../support/gatewayHost';

after(killTracked);

const LINUX = process.platform === 'linux';

/**
 * A program that starts a plain child, a grandchild (under a shell) that ignores SIGTERM and
 * SIGHUP, and an escapee: setsid, then its parent exits, so it is neither in the gateway's
 * group nor its descendant. Each announces its pid on stdout (which the gateway logs).
 */
const FAMILY = [
  'sh', '-c',
  [
    'sleep 300 & echo "PID child=$!"',
    // Announced from inside once the trap is set: a pid announced from outside could be SIGTERMed before it ignores SIGTERM.
    'sh -c \'trap "" TERM HUP; echo "PID stubborn=$$"; while :; do sleep 1; done\' &',
    'setsid sh -c \'sleep 300 & echo "PID escapee=$!"\'',
    'wait',
  ].join('\n'),
];

interface Family { child: number; stubborn: number; escapee: number }

async function family(g: HostedGateway): Promise<Family> {
  const pids: Family = await announcedPids(g, ['child', 'stubborn', 'escapee']);
  // The escapee's parent has exited: it was re-parented away from the program.
  await waitFor(() => readProcStat(pids.escapee)?.ppid !== undefined && !isDescendantOf(pids.escapee, g.gatewayPid), 'the escapee to leave the tree');
  return pids;
}

function isDescendantOf(pid: number, ancestor: number): boolean {
  for (let p = pid, n = 0; p > 1 && n < 64; n++) {
    const st = readProcStat(p);
    if (!st) return false;
    if (st.ppid === ancestor) return true;
    p = st.ppid;
  }
  return false;
}

async function startCommand(command: string[], extra: { args?: string[]; cwd?: string } = {}): Promise<HostedGateway> {
  return startHostedGateway({ args: extra.args, backend: { name: 'command', command, cwd: extra.cwd } });
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  assert.ok(e instanceof RpcError, `expected an RPC error, got ${JSON.stringify(e)}`);
  return e;
}

interface TreeNode { pid: number; ppid: number; startTime: number; role: string; escaped?: boolean; command: string; rssBytes?: number }

/**
 * process.tree once it lists the stubborn shell's `sleep 1`: that child is replaced every second,
 * and a snapshot taken between one sleep's exit and the next one's fork has none.
 */
function treeWithStubbornSleep<T extends { processes: TreeNode[] }>(g: HostedGateway, f: Family): Promise<T> {
  return waitFor(async () => {
    const tree = await g.rpc.request<T>('process.tree');
    return tree.processes.some((p) => p.ppid === f.stubborn) && tree;
  }, 'process.tree to list the stubborn shell\'s sleep');
}

test('process.tree and gateway.status show the command, its descendants and its setsid escapee; no sessions', { skip: !LINUX }, async () => {
  const g = await startCommand(FAMILY);
  const ready = g.events.find((e) => e.type === 'gateway.ready')!;
  assert.equal(ready.backend, 'command');
  const f = await family(g);
  await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'running', 'backend.state running');

  const tree = await treeWithStubbornSleep<{ backend: string; processes: TreeNode[]; truncated: boolean }>(g, f);
  assert.equal(tree.backend, 'command');
  assert.equal(tree.truncated, false);
  const byPid = new Map(tree.processes.map((p) => [p.pid, p]));
  assert.equal(byPid.get(g.gatewayPid)?.role, 'gateway');
  const program = tree.processes.find((p) => p.role === 'program');
  assert.ok(program && program.ppid === g.gatewayPid, 'the program is the gateway\'s child');
  for (const pid of [f.child, f.stubborn]) assert.equal(byPid.get(pid)?.ppid, program.pid, `${pid} listed under the program`);
  assert.ok(tree.processes.some((p) => p.ppid === f.stubborn), 'the stubborn shell\'s sleep is listed');
  assert.equal(byPid.get(f.escapee)?.escaped, true, 'the escapee is listed, marked escaped');
  assert.ok((byPid.get(f.child)?.rssBytes ?? 0) > 0, 'memory is reported');

  const status = await g.rpc.request<{ backend: string; program: { state: string; pid: number; command: string[] }; tree: { processes: TreeNode[] } }>('gateway.status');
  assert.equal(status.backend, 'command');
  assert.equal(status.program.state, 'running');
  assert.equal(status.program.pid, program.pid);
  assert.deepEqual(status.program.command, FAMILY);
  assert.ok(status.tree.processes.some((p) => p.pid === f.escapee));

  const e = await rpcError(g.rpc.request('session.create', {}));
  assert.equal(e.code, -32020);
  assert.match(e.message, /session\.create is not available with the command backend: it runs one program/);
  assert.deepEqual(await g.rpc.request('session.list'), { sessions: [] });
  await stopHostedGateway(g);
  await waitAllExited([f.child, f.stubborn, f.escapee]);
});

test('process.kill ends one node and its subtree (SIGTERM ignored → SIGKILL), refuses what is not in the tree or changed', { skip: !LINUX }, async () => {
  const g = await startCommand(FAMILY);
  const f = await family(g);
  const tree = await treeWithStubbornSleep<{ processes: TreeNode[] }>(g, f);
  const node = (pid: number) => tree.processes.find((p) => p.pid === pid)!;
  const stubbornSleep = tree.processes.find((p) => p.ppid === f.stubborn)!;

  assert.equal((await rpcError(g.rpc.request('process.kill', { pid: f.stubborn, startTime: node(f.stubborn).startTime + 1 }))).code, -32602);
  assert.match((await rpcError(g.rpc.request('process.kill', { pid: process.pid, startTime: 1 }))).message, /not in this gateway's process tree/);
  assert.match((await rpcError(g.rpc.request('process.kill', { pid: g.gatewayPid, startTime: node(g.gatewayPid).startTime }))).message, /use gateway\.shutdown/);
  assert.equal((await rpcError(g.rpc.request('process.kill', { pid: 'x' }))).code, -32602);
  assert.ok(isAlive(f.stubborn), 'nothing was signalled by the refusals');

  const r = await g.rpc.request<{ killed: boolean; processes: { pid: number; outcome: string; signals: string[] }[] }>('process.kill', { pid: f.stubborn, startTime: node(f.stubborn).startTime, graceMs: 200 });
  assert.equal(r.killed, true);
  const entry = r.processes.find((p) => p.pid === f.stubborn)!;
  assert.deepEqual(entry.signals, ['SIGTERM', 'SIGKILL'], 'SIGTERM was ignored, SIGKILL ended it');
  assert.equal(isAlive(f.stubborn), false);
  assert.equal(isAlive(stubbornSleep.pid), false, 'its child went with it');
  assert.ok(isAlive(f.child), 'a sibling is untouched');

  const k = await g.rpc.request<{ killed: boolean }>('process.kill', { pid: f.escapee, startTime: node(f.escapee).startTime });
  assert.equal(k.killed, true, 'an escapee carrying the gateway\'s tag may be killed');
  assert.equal(isAlive(f.escapee), false);
  await stopHostedGateway(g);
});

test('host SIGKILL: the command, a SIGTERM-ignoring grandchild and a setsid escapee carrying the marker are all gone', { skip: !LINUX }, async (t) => {
  const g = await startCommand(FAMILY);
  const f = await family(g);
  const marked = await waitAllMarked(g.hostFp, [g.gatewayPid, f.child, f.stubborn, f.escapee]);
  const killedAt = Date.now();
  g.host.kill('SIGKILL');
  await waitNoMarked(g.hostFp);
  t.diagnostic(`host SIGKILL → all ${marked.length} marked processes gone in ${Date.now() - killedAt} ms`);
  await waitAllExited([g.gatewayPid, f.child, f.stubborn, f.escapee]);
});

test('gateway.shutdown answers once the command and everything it started are gone', { skip: !LINUX }, async () => {
  const g = await startCommand(FAMILY);
  const f = await family(g);
  const r = await g.rpc.request<{ closedSessions: number }>('gateway.shutdown', { graceMs: 2000 });
  assert.equal(r.closedSessions, 0);
  await waitAllExited([f.child, f.stubborn, f.escapee]);
  await waitNoMarked(g.hostFp);
});

test('the command exits on its own: backend.state says so, what it left is taken down, the gateway stays up', { skip: !LINUX }, async () => {
  const g = await startCommand(['sh', '-c', 'sleep 300 & echo "PID left=$!"; sleep 1']);
  const left = Number(await waitFor(() => /PID left=(\d+)/.exec(g.stderr())?.[1], 'the leftover pid'));
  track(left);
  await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'running', 'running');
  const exited = await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'exited', 'exited');
  assert.deepEqual(exited.exit, { code: 0, signal: null });
  await waitFor(() => !isAlive(left), 'the leftover sleep to be taken down');
  const status = await g.rpc.request<{ program: { state: string; exit: { code: number } } }>('gateway.status');
  assert.equal(status.program.state, 'exited');
  assert.deepEqual(pidsWithMarker(g.hostFp), [g.gatewayPid], 'only the gateway is left');
  await stopHostedGateway(g);
});

test('a missing program, one that exits at once, a bad cwd: a clear error in backend.state and gateway.status; the gateway stays up', { skip: !LINUX }, async () => {
  const cases: { command: string[]; cwd?: string; expect: RegExp }[] = [
    { command: ['/nonexistent/agent-cli', '--serve'], expect: /cannot start `\/nonexistent\/agent-cli --serve` \(cwd .*\): \/nonexistent\/agent-cli was not found \(ENOENT/ },
    { command: ['sh', '-c', 'echo "no config file" >&2; exit 3'], expect: /`sh -c .*` \(cwd .*\) exited \(exit code 3\) \d+ ms after it started, before a program that keeps running[^]*no config file/ },
    { command: ['sleep', '300'], cwd: '/nonexistent-dir', expect: /cannot start `sleep 300`: its working directory \/nonexistent-dir cannot be used \(ENOENT\)/ },
  ];
  for (const c of cases) {
    const g = await startCommand(c.command, { cwd: c.cwd });
    const failed = await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'failed', `backend.state failed for ${c.command[0]}`);
    assert.equal(g.events[0].type, 'gateway.ready', 'gateway.ready is still the first line out');
    assert.match(String(failed.error), c.expect);
    const status = await g.rpc.request<{ program: { state: string; error: string } }>('gateway.status');
    assert.equal(status.program.state, 'failed');
    assert.match(status.program.error, c.expect);
    assert.match(g.stderr(), c.expect, 'the error is on stderr too');
    assert.ok(isAlive(g.gatewayPid), 'the gateway is still up');
    await stopHostedGateway(g);
  }
});

test('the program does not inherit the ELECTRON_RUN_AS_NODE the gateway itself runs with; the owner marker it does', { skip: !LINUX }, async () => {
  const g = await startHostedGateway({
    env: { ELECTRON_RUN_AS_NODE: '1' },
    backend: { name: 'command', command: ['/bin/sh', '-c', 'echo "ENV electron=${ELECTRON_RUN_AS_NODE-unset} owner=${GATEWAY_WARDEN_OWNER:+set}"; exec sleep 300'] },
  });
  try {
    const line = await waitFor(() => /ENV electron=(\w+) owner=(\w+)/.exec(g.stderr()) ?? undefined, 'the program to print its environment');
    assert.deepEqual([line[1], line[2]], ['unset', 'set']);
  } finally {
    await stopHostedGateway(g);
  }
});
