import { GROUP_KEEPER_NAME } from '../../src/core/ownerMarker';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTree, TreeInput, TreeNode } from '../../src/ui/treeNodes';
import { ProcessTreeProvider } from '../../src/ui/processTree';
import { fakeTreeApi } from './fakeVscode';

const now = 1_700_000_000_000;

function input(over: Partial<TreeInput> = {}): TreeInput {
  return {
    gateway: { state: 'running', pid: 100, pgid: 100, startedAt: now - 65_000, command: 'node /ext/dist/gateway.js' },
    sessions: [
      {
        sessionId: 's1', label: 'refactor', createdAt: now - 120_000, closeOnDisconnect: true, client: 'ws#3',
        worker: { pid: 200, startTime: 555, pgid: 200, state: 'idle', startedAt: now - 60_000, lastUsedAt: now - 10_000, command: 'node worker.js --session s1' },
      },
      { sessionId: 's2', createdAt: now - 5_000, closeOnDisconnect: false },
    ],
    resources: {
      usage: new Map([[200, { cpuPercent: 7.5, rssBytes: 44 * 1024 * 1024 }], [300, { rssBytes: 1024 }]]),
      children: new Map([[200, [{ pid: 300, ppid: 200, pgid: 200, startTime: 777, name: 'sleep', cmdline: 'sleep 1000 --long-arg' }]]]),
      cmdlines: new Map([[200, 'node worker.js --from-proc']]),
      takenAt: now,
    },
    orphans: [],
    now,
    ...over,
  };
}

const flat = (ns: TreeNode[]): TreeNode[] => ns.flatMap((n) => [n, ...flat(n.children)]);

test('stopped gateway with no orphans → empty tree (the welcome content shows)', () => {
  assert.deepEqual(buildTree(input({ gateway: { state: 'stopped' } })), []);
  assert.deepEqual(buildTree(input({ gateway: { state: 'failed', error: 'x' } })), []);
});

test('Gateway → Sessions → Worker → children, with stable ids, capability tokens and full command lines', () => {
  const roots = buildTree(input());
  assert.equal(roots.length, 1);
  const g = roots[0];
  assert.equal(g.label, 'Gateway');
  assert.match(g.description!, /running · pid 100 · up 1m/);
  assert.match(g.tooltip!, /node \/ext\/dist\/gateway\.js/);
  assert.match(g.contextValue, /\bgateway\b/);
  assert.match(g.contextValue, /\brunning\b/);
  const [s1, s2] = g.children;
  assert.equal(s1.id, 'session/s1');
  assert.equal(s1.label, 'refactor');
  assert.match(s1.description!, /2m old · client ws#3 · closes on disconnect/);
  assert.equal(s2.label, 's2');
  assert.match(s2.contextValue, /\bclosable\b/);
  const w = s1.children[0];
  assert.equal(w.id, 'worker/200/555');
  assert.match(w.description!, /pid 200 · idle · idle 10s · 7\.5% CPU · 44 MB/);
  assert.match(w.tooltip!, /node worker\.js --session s1/);
  // Without a command in the event, the tooltip takes the command line sampled from /proc.
  const noCmd = buildTree(input({ sessions: [{ ...input().sessions[0], worker: { ...input().sessions[0].worker!, command: undefined } }] }));
  assert.match(noCmd[0].children[0].children[0].tooltip!, /node worker\.js --from-proc/);
  assert.match(w.contextValue, /\bkillable\b/);
  // While a command runs the worker is busy, not idle.
  const busy = buildTree(input({ sessions: [{ ...input().sessions[0], worker: { ...input().sessions[0].worker!, busy: true } }] }));
  assert.match(busy[0].children[0].children[0].description!, /pid 200 · idle · busy · 7\.5% CPU/);
  assert.deepEqual(w.ref, { kind: 'worker', sessionId: 's1', pid: 200, startTime: 555, pgid: 200 });
  const child = w.children[0];
  assert.equal(child.id, 'child/300/777');
  assert.equal(child.label, 'sleep');
  assert.match(child.tooltip!, /sleep 1000 --long-arg/);
  // The worker's group keeper is named for what it is, its command line kept in the tooltip.
  const keeperCmd = `/bin/sh -c read _; command -v setsid >/dev/null 2>&1 && exec setsid "$@"; kill -KILL 0 ${GROUP_KEEPER_NAME} /usr/bin/node worker.js --reap-group 200`;
  const withKeeper = buildTree(input({ resources: { ...input().resources!, children: new Map([[200, [{ pid: 301, ppid: 200, pgid: 200, startTime: 778, name: 'sh', cmdline: keeperCmd }]]]) } }));
  const k = withKeeper[0].children[0].children[0].children[0];
  assert.equal(k.label, 'group keeper');
  assert.match(k.tooltip!, /group keeper: takes this worker's process group down/);
  assert.ok(k.tooltip!.includes(keeperCmd));
  // ids are unique and stable across rebuilds
  const ids = flat(roots).map((n) => n.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual(flat(buildTree(input({ now: now + 5000 }))).map((n) => n.id), ids);
});

test('an Orphans node appears when any are known, even with the gateway stopped', () => {
  const roots = buildTree(input({ gateway: { state: 'stopped' }, orphans: [{ pid: 9, startTime: 1, ageMs: 3_600_000, rssBytes: 2048, cmdline: 'python -m tui_gateway.slash_worker', reason: 'owner host is dead' }] }));
  assert.equal(roots.length, 1);
  assert.equal(roots[0].contextValue, 'orphans');
  assert.match(roots[0].description!, /1 left behind/);
  assert.match(roots[0].children[0].tooltip!, /tui_gateway\.slash_worker/);
  assert.match(roots[0].children[0].description!, /1h 0m old · 2\.0 KB · owner host is dead/);
});

test('ProcessTreeProvider: TreeItems carry id, contextValue and codicon; parents resolve; bursts coalesce', async () => {
  let current = input();
  const p = new ProcessTreeProvider(fakeTreeApi, () => current, 20);
  const [g] = p.getChildren();
  const item = p.getTreeItem(g) as unknown as { id: string; contextValue: string; iconPath: { id: string }; collapsibleState: number };
  assert.equal(item.id, 'gateway');
  assert.equal(item.contextValue, 'gateway running');
  assert.equal(item.iconPath.id, 'server-process');
  assert.equal(item.collapsibleState, 2);
  const worker = p.find('worker/200/555')!;
  assert.equal(p.getParent(worker)!.id, 'session/s1');
  assert.equal(p.getParent(p.getParent(worker)!)!.id, 'gateway');

  let fires = 0;
  p.onDidChangeTreeData(() => fires++);
  current = input({ sessions: [] });
  const changed = new Promise<void>((resolve) => p.onDidChangeTreeData(() => resolve()));
  for (let i = 0; i < 10; i++) p.refresh();
  await changed;
  assert.equal(fires, 1, 'ten refreshes in a burst → one change event');
  assert.equal(p.getChildren()[0].children.length, 0);

  // A worker that was a leaf and gains a child is reported once, for the view to reveal it.
  const leafWorker = input({ resources: { usage: new Map(), children: new Map(), cmdlines: new Map(), takenAt: now } });
  current = leafWorker;
  p.refreshNow();
  assert.equal(p.find('worker/200/555')!.collapsible, 'none');
  p.takeNewParents();
  current = input();
  p.refreshNow();
  assert.deepEqual(p.takeNewParents().map((n) => n.id), ['worker/200/555']);
  assert.deepEqual(p.takeNewParents(), []);
  p.dispose();
});

test('ProcessTreeProvider: a row keeps its object across rebuilds and only changed rows are refreshed (VS Code forgets the handles of every row a refresh touches, and a menu command run then loses its row)', () => {
  let current = input();
  const p = new ProcessTreeProvider(fakeTreeApi, () => current, 20);
  const fires: unknown[] = [];
  p.onDidChangeTreeData((e) => fires.push(e));
  const session = p.find('session/s1')!;
  const worker = p.find('worker/200/555')!;

  // Same input: nothing to refresh.
  p.refreshNow();
  assert.deepEqual(fires, [], 'an unchanged rebuild fires nothing');

  // A sampling tick later, nothing else changed: the rows with children show ages to the minute,
  // so neither the gateway (whose refresh would drop every row's handle) nor a session changes;
  // the worker (a leaf's parent, its idle time) is the one row redrawn.
  current = { ...input(), now: now + 2000 };
  p.refreshNow();
  assert.deepEqual(fires.flat().map((n) => (n as TreeNode).id), ['worker/200/555']);
  fires.length = 0;
  current = input();
  p.refreshNow();
  fires.length = 0;

  // A sampling tick: only the worker's memory changes.
  const usage = new Map(input().resources!.usage);
  usage.set(200, { cpuPercent: 9, rssBytes: 60 * 1024 * 1024 });
  current = input({ resources: { ...input().resources!, usage } });
  p.refreshNow();
  assert.equal(fires.length, 1);
  assert.deepEqual((fires[0] as TreeNode[]).map((n) => n.id), ['worker/200/555'], 'the worker row alone, not the whole tree');
  assert.equal((fires[0] as TreeNode[])[0], worker, 'the very object VS Code knows');
  assert.equal(p.find('worker/200/555'), worker);
  assert.match(worker.description!, / 60 MB$/, 'updated in place');
  assert.equal(p.find('session/s1'), session);

  // Updated in place means exactly the new row: no field of the old one left behind.
  const bare = (ns: TreeNode[]) => flat(ns).map((n) => ({ ...n, children: n.children.map((c) => c.id) }));
  current = input({ resources: undefined });
  p.refreshNow();
  assert.deepEqual(bare(p.nodes as TreeNode[]), bare(buildTree(current)));
  current = input({ resources: { ...input().resources!, usage } });
  p.refreshNow();
  assert.deepEqual(bare(p.nodes as TreeNode[]), bare(buildTree(current)));

  // A session goes: its parent (the gateway) is refreshed, the other rows keep their objects.
  fires.length = 0;
  current = input({ sessions: input().sessions.slice(0, 1) });
  p.refreshNow();
  assert.deepEqual((fires[0] as TreeNode[]).map((n) => n.id), ['gateway']);
  assert.equal(p.find('session/s1'), session);
  assert.equal(p.find('session/s2'), undefined);

  // The top level changes (the gateway stops): the whole tree.
  fires.length = 0;
  current = input({ gateway: { state: 'stopped' }, sessions: [] });
  p.refreshNow();
  assert.deepEqual(fires, [undefined]);
  p.dispose();
});

test('gateway node: "N of M workers" and the caps in its tooltip; a session whose worker was stopped at the cap says so until it gets a new one', () => {
  const limits = { maxSessions: 256, maxWorkers: 16 };
  const base = input();
  const g = buildTree(input({ gateway: { ...base.gateway, limits } }))[0];
  assert.match(g.description!, /running · pid 100 · up 1m · 1 of 16 workers$/);
  assert.match(g.tooltip!, /Workers: 1 of 16 \(gatewayWarden\.limits\.maxWorkers;/);
  assert.match(g.tooltip!, /Sessions: 2 of 256 \(gatewayWarden\.limits\.maxSessions\)/);
  assert.match(buildTree(base)[0].description!, /· 1 worker$/, 'no cap reported: the count alone');

  const evicted = { ...base.sessions[1], evicted: { pid: 201, at: now - 3000, reason: 'worker-cap', limit: 16 } };
  const s2 = buildTree(input({ gateway: { ...base.gateway, limits }, sessions: [base.sessions[0], evicted] }))[0].children[1];
  assert.match(s2.description!, /worker stopped at the limit 3s ago/);
  assert.match(s2.tooltip!, /Its worker \(pid 201\) was stopped .*: the live-worker limit \(16\) was reached and it was the least recently used idle worker \(gatewayWarden\.limits\.maxWorkers\)\. The session stays; its next slash command starts a new worker\./);
  assert.doesNotMatch(s2.tooltip!, /No worker yet/);
  // With a new worker the note goes.
  const again = { ...evicted, worker: { pid: 202, startTime: 1, state: 'ready', startedAt: now } };
  assert.doesNotMatch(buildTree(input({ sessions: [again] }))[0].children[0].description!, /stopped at the limit/);

  // Restarted at its memory ceiling (worker.restarted): said so, with the figures and the setting.
  const restarted = { ...base.sessions[1], evicted: { pid: 201, at: now - 5000, reason: 'memory-limit', memoryBytes: 300 * 1024 * 1024, limitBytes: 256 * 1024 * 1024, setting: 'gatewayWarden.limits.workerMemoryMB' } };
  const s3 = buildTree(input({ sessions: [base.sessions[0], restarted] }))[0].children[1];
  assert.match(s3.description!, /worker restarted at the memory limit 5s ago/);
  assert.match(s3.tooltip!, /Its worker \(pid 201\) was restarted .*: the session's processes together used 300 MB, above gatewayWarden\.limits\.workerMemoryMB \(256 MB\); the worker and everything it started were taken down\. The session stays/);
});

// ---- hermes and command backends (issue 11) ---------------------------------------------------

const hermes = { name: 'hermes', state: 'running', pid: 150, startTime: 15, display: '/venv/bin/python -m tui_gateway.entry', cwd: '/srv/hermes' };

test('hermes: Gateway → the hermes gateway (pid, killable), its sessions with their real slash_worker (pid), and stale workers under the gateway ("its session is gone", pid, killable)', () => {
  const base = input();
  const roots = buildTree(input({
    gateway: { ...base.gateway, backend: 'hermes', limits: { maxSessions: 256, maxWorkers: 16 } },
    backend: hermes,
    sessions: [{ ...base.sessions[0], agent: { model: 'test-model', status: 'idle' }, worker: { ...base.sessions[0].worker!, command: '/venv/bin/python -m tui_gateway.slash_worker --session-key k1 --model test-model' } }],
    staleWorkers: [{ pid: 400, startTime: 40, pgid: 400, sessionKey: 'k-gone', command: 'python -m tui_gateway.slash_worker --session-key k-gone', staleSince: now - 2000, reapAt: now + 28_000 }],
  }));
  const g = roots[0];
  assert.match(g.description!, /running · pid 100 · up 1m · hermes · 1 of 16 workers$/);
  assert.match(g.tooltip!, /Backend: hermes \(hermes-agent's tui_gateway, run and watched by the built-in gateway\)/);
  assert.match(g.tooltip!, /hermes gateway: \/venv\/bin\/python -m tui_gateway\.entry \(cwd \/srv\/hermes\), running, pid 150/);
  const [program, session, stale] = g.children;
  assert.deepEqual([program.label, program.id, program.contextValue], ['hermes gateway', 'program/150/15', 'program processKillable']);
  assert.match(program.description!, /^pid 150 · running/);
  assert.deepEqual(program.ref, { kind: 'process', pid: 150, startTime: 15, role: 'program' });
  assert.equal(session.id, 'session/s1');
  assert.match(session.description!, /test-model/);
  const worker = session.children[0];
  assert.match(worker.description!, /^pid 200 /);
  assert.match(worker.tooltip!, /tui_gateway\.slash_worker --session-key k1/);
  assert.deepEqual([stale.label, stale.id, stale.contextValue], ['Stale worker', 'stale/400/40', 'staleWorker processKillable']);
  assert.match(stale.description!, /^pid 400 · its session is gone · taken down in 28s/);
  assert.match(stale.tooltip!, /Stale worker — its session is gone \(pid 400, process group 400\)\nSession key: k-gone/);
  assert.deepEqual(stale.ref, { kind: 'process', pid: 400, startTime: 40, role: 'staleWorker' });
  assert.match(buildTree(input({ gateway: base.gateway, backend: hermes, staleWorkers: [{ pid: 1, startTime: 1, staleSince: now }] }))[0].children.at(-1)!.description!, /reported only/);
});

test('hermes that did not start: the program row says why (and how to point it at a hermes install), not killable; hermes\' error events show on the session and the program', () => {
  const failed = {
    name: 'hermes', state: 'failed', pid: 150, startTime: 15, display: 'python3 -m tui_gateway.entry',
    error: 'no gateway.ready within 30 s from `python3 -m tui_gateway.entry` (cwd /tmp); is hermes-agent installed for that interpreter (and importable from that working directory)?',
  };
  const g = buildTree(input({ gateway: { ...input().gateway, backend: 'hermes' }, backend: failed, sessions: [] }))[0];
  assert.match(g.description!, /· hermes failed ·/);
  assert.equal(g.icon, 'warning');
  const p = g.children[0];
  assert.equal(p.contextValue, 'program');
  assert.equal(p.icon, 'error');
  assert.match(p.tooltip!, /no gateway\.ready within 30 s from `python3 -m tui_gateway\.entry`/);
  assert.match(p.tooltip!, /Set gatewayWarden\.gateway\.command to the python of your hermes-agent environment/);

  const err = "agent init failed: No module named 'httpx'";
  const tree = buildTree(input({
    gateway: { ...input().gateway, backend: 'hermes' },
    backend: { ...hermes, lastError: { message: err, sessionId: 's1', at: now } },
    sessions: [{ sessionId: 's1', createdAt: now, closeOnDisconnect: false, agent: { error: err } }],
  }))[0];
  assert.match(tree.children[0].description!, /error: agent init failed: No module named 'httpx'/);
  assert.match(tree.children[1].description!, /error: agent init failed/);
  assert.match(tree.children[1].tooltip!, /Error from the backend: agent init failed/);
  assert.equal(tree.children[1].icon, 'warning');
  assert.match(tree.children[1].tooltip!, /No worker yet \(hermes starts it once the session's agent is built\)/);
});

const commandTree = {
  processes: [
    { pid: 100, ppid: 1, pgid: 100, startTime: 1, name: 'node', command: 'node gateway.js --backend command -- sh -c …', role: 'gateway', escaped: false },
    { pid: 110, ppid: 100, pgid: 100, startTime: 2, name: 'sh', command: 'sh -c sleep 100 & sleep 200', role: 'program', escaped: false, rssBytes: 2 * 1024 * 1024, cpuPercent: 0.5 },
    { pid: 112, ppid: 110, pgid: 100, startTime: 3, name: 'sleep', command: 'sleep 200', role: 'process', escaped: false },
    { pid: 111, ppid: 110, pgid: 100, startTime: 3, name: 'node', command: 'node server.js', role: 'process', escaped: false, rssBytes: 40 * 1024 * 1024 },
    { pid: 120, ppid: 111, pgid: 100, startTime: 4, name: 'esbuild', command: 'esbuild --watch', role: 'process', escaped: false },
    { pid: 130, ppid: 1, pgid: 130, startTime: 5, name: 'sleep', command: 'sleep 600', role: 'process', escaped: true },
  ],
  truncated: false,
  takenAt: now,
};

test('command: Gateway → the command → its descendants (pid, CPU, memory), nested by parent; an escapee (setsid) under the gateway, marked; every one killable', () => {
  const base = input();
  const program = { name: 'command', state: 'running', pid: 110, startTime: 2, display: 'sh -c "sleep 100 & sleep 200"', cwd: '/srv' };
  const g = buildTree(input({
    gateway: { ...base.gateway, backend: 'command', limits: { maxSessions: 256, maxWorkers: 16 } },
    backend: program, sessions: [],
    resources: { usage: new Map(), children: new Map(), cmdlines: new Map(), takenAt: now, tree: commandTree },
  }))[0];
  assert.match(g.description!, /running · pid 100 · up 1m · command$/, 'no worker count: the command backend has no workers');
  assert.doesNotMatch(g.tooltip!, /Workers:|Sessions:/);
  const show = (n: TreeNode, depth = 0): string[] => [`${'  '.repeat(depth)}${n.label} ${n.description}`, ...n.children.flatMap((c) => show(c, depth + 1))];
  assert.deepEqual(g.children.flatMap((c) => show(c)), [
    'sh pid 110 · running · 0.5% CPU · 2.0 MB',
    '  node pid 111 · 40 MB',
    '    esbuild pid 120',
    '  sleep pid 112',
    'sleep pid 130 · escaped',
  ]);
  const [prog, escapee] = g.children;
  assert.deepEqual(prog.ref, { kind: 'process', pid: 110, startTime: 2, role: 'program' });
  for (const n of flat(g.children)) assert.match(n.contextValue, /\bprocessKillable\b/, n.id);
  assert.deepEqual(prog.children[0].children[0].ref, { kind: 'process', pid: 120, startTime: 4, role: 'process' });
  assert.match(escapee.tooltip!, /Escaped: it left its parent/);
  const ids = flat(g.children).map((n) => n.id);
  assert.equal(new Set(ids).size, ids.length, 'unique ids');
  // Before the first process.tree answer: the program alone, from backend.state.
  const bare = buildTree(input({ gateway: { ...base.gateway, backend: 'command' }, backend: program, sessions: [] }))[0];
  assert.deepEqual(bare.children.map((c) => `${c.label} ${c.description}`), ['sh pid 110 · running']);
  // Exited: why, no Kill; the rest of the tree (anything left) still listed.
  const exited = buildTree(input({
    gateway: { ...base.gateway, backend: 'command' }, backend: { ...program, state: 'exited', exit: { code: 2, signal: null }, error: '`sh -c …` exited (exit code 2)' }, sessions: [],
    resources: { usage: new Map(), children: new Map(), cmdlines: new Map(), takenAt: now, tree: { ...commandTree, processes: [commandTree.processes[0], commandTree.processes[5]] } },
  }))[0];
  assert.deepEqual(exited.children.map((c) => `${c.label} ${c.description} [${c.contextValue}]`), ['sh pid 110 · exited (code 2) [program]', 'sleep pid 130 · escaped [process processKillable]']);
  assert.match(exited.children[0].tooltip!, /exited \(exit code 2\)/);
});

test('Recently exited: a collapsed root node, absent when empty; each row with its exit code or signal, how long it ran and when; abnormal ones flagged', () => {
  assert.ok(!buildTree(input()).some((n) => n.id === 'recentlyExited'), 'absent when there are none');
  assert.ok(!buildTree(input({ recentlyExited: [] })).some((n) => n.id === 'recentlyExited'));
  const recentlyExited = [
    { kind: 'worker' as const, pid: 201, startTime: 5, sessionId: 's1', label: 'refactor', command: 'node worker.js', startedAt: now - 200_000, exitedAt: now - 20_000, code: null, signal: 'SIGKILL' },
    { kind: 'program' as const, pid: 11, startTime: 6, label: 'hermes', command: 'python3 -m tui_gateway.entry', startedAt: now - 400_000, exitedAt: now - 30_000, code: 1, signal: null },
    { kind: 'staleWorker' as const, pid: 60, label: 'k-gone', exitedAt: now - 40_000, code: null, signal: null, reason: 'taken down: its session was gone' },
    { kind: 'worker' as const, pid: 202, sessionId: 's2', startedAt: now - 70_000, exitedAt: now - 65_000, code: 0, signal: null },
    { kind: 'program' as const, pid: 12, label: 'command', command: '/usr/bin/npx srv --port 1', exitedAt: now - 1000, code: 0, signal: null },
  ];
  const roots = buildTree(input({ recentlyExited }));
  assert.deepEqual(roots.map((n) => n.id), ['gateway', 'recentlyExited'], 'after the gateway (and the orphans)');
  // Not alone: a stopped or failed gateway's tree stays empty for its welcome content (Start, Show Log).
  assert.deepEqual(buildTree(input({ gateway: { state: 'failed', error: 'crashed' }, recentlyExited })), []);
  assert.deepEqual(buildTree(input({ gateway: { state: 'stopped' }, recentlyExited })), []);
  assert.deepEqual(buildTree(input({ gateway: { state: 'restarting' }, recentlyExited })).map((n) => n.id), ['gateway', 'recentlyExited'], 'a crash is visible while it restarts');
  assert.deepEqual(buildTree(input({ gateway: { state: 'stopped' }, recentlyExited, orphans: [{ pid: 9, cmdline: 'x', reason: 'y' }] })).map((n) => n.id), ['orphans', 'recentlyExited']);
  const node = roots[1];
  assert.equal(node.label, 'Recently exited');
  assert.equal(node.collapsible, 'collapsed');
  assert.equal(node.description, '5 · 2 abnormal');
  assert.deepEqual(node.children.map((c) => [c.label, c.description]), [
    ['pid 201', 'Worker · signal SIGKILL · ran 3m 0s · 20s ago · refactor'],
    ['pid 11', 'hermes gateway · exit code 1 · ran 6m 10s · 30s ago'],
    ['pid 60', 'Stale worker · exit status unknown · 40s ago'],
    ['pid 202', 'Worker · exit code 0 · ran 5s · 1m 5s ago'],
    ['pid 12', 'npx · exit code 0 · 1s ago'],
  ]);
  assert.deepEqual(node.children.map((c) => c.icon), ['error', 'error', 'circle-outline', 'circle-outline', 'circle-outline']);
  assert.equal(new Set(node.children.map((c) => c.id)).size, 5, 'unique ids');
  for (const c of node.children) {
    assert.equal(c.parentId, 'recentlyExited');
    assert.equal(c.contextValue, 'exited', 'no kill or close action on a process that is gone');
  }
  assert.match(node.children[0].tooltip!, /^Worker pid 201: signal SIGKILL\nSession s1 \(refactor\)\nCommand: node worker\.js\nStarted .*\nExited .* after 3m 0s$/);
  assert.match(node.children[2].tooltip!, /Stale worker pid 60: exit status unknown \(taken down: its session was gone\)\nSession key: k-gone[\s\S]*could not see how it ended/);
  // Through the provider: collapsed by default.
  const p = new ProcessTreeProvider(fakeTreeApi, () => input({ recentlyExited }));
  const item = p.getTreeItem(p.getChildren().find((n) => n.id === 'recentlyExited')!);
  assert.equal(item.collapsibleState, 1, 'TreeItemCollapsibleState.Collapsed');
  p.dispose();
});

test('a session shows its total (worker and everything it started) beside its own figures, saying where it comes from; none without a total', () => {
  const base = input();
  const withTotals = input({
    resources: { ...base.resources!, totals: new Map([[200, { cpuPercent: 12.5, memoryBytes: 300 * 1024 * 1024, processes: 3, source: 'process-table' as const }]]) },
  });
  const s1 = buildTree(withTotals)[0].children[0];
  assert.match(s1.description!, /· Σ 13% CPU · 300 MB$/);
  assert.match(s1.tooltip!, /Total of its worker and everything it started \(3 processes, from the process table\): 13% CPU, memory 300 MB/);
  const fromCgroup = input({ resources: { ...base.resources!, totals: new Map([[200, { memoryBytes: 2 * 1024 * 1024, processes: 1, source: 'cgroup' as const }]]) } });
  const c1 = buildTree(fromCgroup)[0].children[0];
  assert.match(c1.description!, /· Σ 2\.0 MB$/, 'no CPU figure yet: memory alone');
  assert.match(c1.tooltip!, /\(1 process, from its cgroup's files\): memory 2\.0 MB/);
  assert.doesNotMatch(buildTree(base)[0].children[0].description!, /Σ/);
  assert.doesNotMatch(buildTree(withTotals)[0].children[1].description!, /Σ/, 'a session without a worker has none');
});
