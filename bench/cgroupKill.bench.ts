// Issue 13 groundwork (row 1's mechanism): one 50-process tree — sleeps plus a shell that keeps
// forking short-lived children, all ignoring SIGTERM — in a session leaf of our cgroup tree,
// taken down five ways in the same run, trials interleaved, every engine row through teardown()
// with SIGKILL first: the engine's cgroup target (cgroup.kill), the same target forced to its
// freeze + SIGKILL fallback (kernels without cgroup.kill), the engine's /proc-scan targets
// (processGroup: the tree's group; processTree: its root and descendants), and kill(-pgid)
// repeated (the process-group floor, no checks). Every row ends when the kernel says
// `populated 0`, so they are timed to the same event. ~500 idle fillers (BENCH_FILLERS) pad /proc
// to ~600 processes.
// Run: npm run bench -- cgroup
import { ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { readPopulated } from '../src/core/cgroup/cgroupFiles';
import { listMembers } from '../src/core/cgroup/cgroupMembers';
import { probeCgroups } from '../src/core/cgroup/cgroupProbe';
import { CgroupTree, createSessionLeaf, createTree } from '../src/core/cgroup/cgroupTree';
import { scanLiveStats } from '../src/core/procfs';
import { fingerprintOf } from '../src/core/fingerprint';
import { cgroupTarget, processGroup, processTree, teardown, teardownSync, TeardownReport } from '../src/core/kill';
import { allReaped, fillerGroup, forget, goal, ratio, runBench, spread, stats, table, trials } from './support';

const TREE_SIZE = 50;
const TRIALS = Number(process.env.BENCH_REPS ?? trials(10));
const FILLERS = Number(process.env.BENCH_FILLERS ?? 500);
const DEADLINE_MS = 10_000;

const CGROUP = 'engine: cgroup target (cgroup.kill)';
const FREEZE = 'engine: cgroup target, forced fallback (freeze + SIGKILL by pid)';
const GROUP = 'engine: processGroup (/proc scan)';
const TREE = 'engine: processTree (/proc scan)';
const FLOOR = 'floor: kill(-pgid, SIGKILL) until empty, no checks';
type Method = typeof CGROUP | typeof FREEZE | typeof GROUP | typeof TREE | typeof FLOOR;
const METHODS: Method[] = [CGROUP, FREEZE, GROUP, TREE, FLOOR];

let tree: CgroupTree | undefined;
const leaders = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of leaders) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // Whatever a failed trial left: the whole tree in one kill, then removed (we are not in it).
  if (tree) teardownSync([cgroupTarget(tree.path)], { firstSignal: 'SIGKILL', timeoutMs: 5000 });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The tree: a detached shell (its own group) in `leaf`, TREE_SIZE - 6 sleeps and a fork loop with ~4 live children. */
async function buildTree(leaf: string): Promise<{ leader: ChildProcess; pgid: number }> {
  const sleeps = TREE_SIZE - 6;
  const script = `echo $$ > "$LEAF/cgroup.procs" || exit 97\ntrap '' TERM HUP\n` +
    `i=0; while [ $i -lt ${sleeps} ]; do sleep 1000 & i=$((i+1)); done\n` +
    "sh -c 'while :; do sleep 0.05 & sleep 0.01; done' &\nwait";
  const leader = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore', env: { ...process.env, LEAF: leaf } });
  leaders.add(leader);
  leader.on('exit', () => leaders.delete(leader));
  await until(`${TREE_SIZE} processes in ${leaf}`, () => {
    const m = listMembers(leaf);
    return m.state === 'found' && m.value.pids.length >= TREE_SIZE;
  });
  return { leader, pgid: leader.pid! };
}

function populated(leaf: string): boolean {
  const p = readPopulated(leaf);
  return p.state === 'found' ? p.value : p.state !== 'gone';
}

async function untilEmpty(leaf: string, deadline: number): Promise<boolean> {
  while (populated(leaf)) {
    if (performance.now() > deadline) return false;
    await sleep(1);
  }
  return true;
}

interface Trial { ms: number; survivors: number; rounds: number; members: number; killToEmpty?: number }

async function trial(method: Method, leaf: string): Promise<Trial> {
  const { leader, pgid } = await buildTree(leaf);
  const root = fingerprintOf(leader.pid!);
  if (!root) throw new Error(`no fingerprint for the tree's leader ${leader.pid}`);
  const members = (listMembers(leaf) as { value: { pids: number[] } }).value.pids.length;
  const t0 = performance.now();
  const deadline = t0 + DEADLINE_MS;
  let rounds = 0;
  let empty = false;
  let report: TeardownReport | undefined;
  if (method === FLOOR) {
    while (!empty && performance.now() < deadline) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // ESRCH: the group is empty
      }
      rounds++;
      empty = await untilEmpty(leaf, Math.min(deadline, performance.now() + 20));
    }
  } else {
    const target = method === CGROUP ? cgroupTarget(leaf, { remove: false })
      : method === FREEZE ? cgroupTarget(leaf, { remove: false, killFile: false })
      : method === GROUP ? processGroup(pgid) : processTree(root);
    report = await teardown([target], { firstSignal: 'SIGKILL', timeoutMs: DEADLINE_MS });
    if (report.refusals.length) throw new Error(`${method}: ${report.refusals.map((r) => r.message).join('; ')}`);
    rounds = report.signals.length;
    // The /proc targets end when their members are gone; the cgroup is empty once the leader is reaped too.
    empty = await untilEmpty(leaf, deadline);
  }
  const took = performance.now() - t0;
  let survivors = 0;
  if (!empty) {
    const m = listMembers(leaf);
    survivors = m.state === 'found' ? m.value.pids.length : -1;
    await teardown([cgroupTarget(leaf, { remove: false })], { firstSignal: 'SIGKILL' });
  }
  const first = report?.signals[0]?.atMs;
  return { ms: took, survivors, rounds, members, killToEmpty: first === undefined ? undefined : took - first };
}

async function main(): Promise<void> {
  const support = probeCgroups();
  if (!support.available) {
    console.log(`cgroupKill bench: skipped, no writable cgroup v2 here (${support.reason})`);
    goal({ row: '1 (cgroup.kill, 50 processes)', goal: 'the engine\'s cgroup target vs its /proc-scan targets and the floor (no number stated)', measured: `skipped: ${support.reason}`, met: null });
    return;
  }
  const made = createTree(support, { moveSelf: false });
  if (!made.ok) throw new Error(made.why);
  tree = made.tree;
  const leaf = createSessionLeaf(tree, 'bench');
  if (!leaf.ok) throw new Error(leaf.why);
  const filler = FILLERS > 0 ? await fillerGroup(FILLERS) : undefined;
  const processes = scanLiveStats().length + TREE_SIZE;
  const results = new Map<Method, Trial[]>(METHODS.map((m) => [m, []]));
  try {
    for (let i = 0; i < TRIALS; i++) {
      // Rotated order: no method always runs first (warm caches) or last.
      for (let j = 0; j < METHODS.length; j++) {
        const m = METHODS[(i + j) % METHODS.length];
        results.get(m)!.push(await trial(m, leaf.path));
      }
    }
  } finally {
    if (filler !== undefined) {
      const r = await teardown([processGroup(filler)], { graceMs: 2000 });
      if (r.survivors.length === 0 && r.refusals.length === 0) forget(filler);
      await allReaped(filler);
    }
  }
  const median = (m: Method) => stats(results.get(m)!.map((t) => t.ms)).median;
  const base = median(CGROUP);
  const rows = METHODS.map((m) => {
    const ts = results.get(m)!;
    const own = ts.flatMap((t) => (t.killToEmpty === undefined ? [] : [t.killToEmpty]));
    return [m, spread(stats(ts.map((t) => t.members)), (v) => v.toFixed(0)), ts.length, spread(stats(ts.map((t) => t.ms))), own.length ? spread(stats(own)) : '—', spread(stats(ts.map((t) => t.rounds)), (v) => v.toFixed(0)), ts.reduce((a, t) => a + Math.max(0, t.survivors), 0), ratio(median(m), base)];
  });
  table(
    `one ${TREE_SIZE}-process tree (sleeps + a fork loop, all ignoring SIGTERM) in a session cgroup, ms from the teardown() call (floor: its first kill) to \`populated 0\`, ~${processes} processes on the host, cgroup2 at ${support.mount.mountPoint} (${support.layout})`,
    ['method', 'members at kill', 'trials', 'median (min–max)', 'of which first signal → populated 0', 'signals sent', 'survivors (all trials)', 'vs cgroup target'],
    rows,
  );
  console.log('_Engine rows: teardown() end to end with SIGKILL first (target checks, the member list — cgroup.procs or a /proc scan —, the safety check before each signal, polling until empty); "first signal → populated 0" starts at the first signal the engine sent. The /proc targets find the tree by its group or its parent links, so a `setsid` escapee would not be in their target set at all; here there is none, so every row has the same processes. The floor sends kill(-pgid) with no check and no scan._\n');
  goal({
    row: '1 (cgroup.kill, 50 processes)',
    goal: 'the engine\'s cgroup target vs its /proc-scan targets and the floor, same tree, same run (no number stated)',
    measured: `cgroup target ${base.toFixed(2)} ms median; freeze + SIGKILL ${median(FREEZE).toFixed(2)} ms (${ratio(median(FREEZE), base)}); processGroup ${median(GROUP).toFixed(2)} ms (${ratio(median(GROUP), base)}); processTree ${median(TREE).toFixed(2)} ms (${ratio(median(TREE), base)}); floor ${median(FLOOR).toFixed(2)} ms (${ratio(median(FLOOR), base)})`,
    met: null,
  });
}

runBench(main);
