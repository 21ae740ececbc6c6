// Issue 13 groundwork (row 1's mechanism): one 50-process tree — sleeps plus a shell that keeps
// forking short-lived children, all ignoring SIGTERM — in a session leaf of our cgroup tree,
// taken down four ways in the same run, trials interleaved: cgroup.kill (killCgroup), the
// freeze + SIGKILL fallback for kernels without cgroup.kill, SIGKILL by pid from a /proc scan
// repeated until the scan finds none (what a scan-then-signal loop does), and kill(-pgid)
// repeated (the process-group floor). Every row ends when the kernel says `populated 0`, so they
// are timed to the same event. ~500 idle fillers (BENCH_FILLERS) pad /proc to ~600 processes.
// Run: npm run bench -- cgroup
import { ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { readPopulated } from '../src/core/cgroup/cgroupFiles';
import { killCgroup, killCgroupSync } from '../src/core/cgroup/cgroupKill';
import { listMembers } from '../src/core/cgroup/cgroupMembers';
import { probeCgroups } from '../src/core/cgroup/cgroupProbe';
import { CgroupTree, createSessionLeaf, createTree } from '../src/core/cgroup/cgroupTree';
import { scanLiveStats } from '../src/core/procfs';
import { processGroup, teardown } from '../src/core/kill';
import { allReaped, fillerGroup, forget, goal, ratio, spread, stats, table, trials } from './support';

const TREE_SIZE = 50;
const TRIALS = Number(process.env.BENCH_REPS ?? trials(10));
const FILLERS = Number(process.env.BENCH_FILLERS ?? 500);
const DEADLINE_MS = 10_000;

type Method = 'cgroup.kill' | 'freeze + SIGKILL (no cgroup.kill)' | 'SIGKILL by pid from a /proc scan, until the scan finds none' | 'kill(-pgid, SIGKILL) until empty';
const METHODS: Method[] = ['cgroup.kill', 'freeze + SIGKILL (no cgroup.kill)', 'SIGKILL by pid from a /proc scan, until the scan finds none', 'kill(-pgid, SIGKILL) until empty'];

let tree: CgroupTree | undefined;
const leaders = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of leaders) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // Whatever a failed trial left: the whole tree in one kill, then removed (we are not in it).
  if (tree) killCgroupSync(tree.path, { timeoutMs: 5000 });
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
  const { pgid } = await buildTree(leaf);
  const members = (listMembers(leaf) as { value: { pids: number[] } }).value.pids.length;
  const t0 = performance.now();
  const deadline = t0 + DEADLINE_MS;
  let rounds = 0;
  let empty = false;
  let killToEmpty: number | undefined;
  if (method === 'cgroup.kill' || method === 'freeze + SIGKILL (no cgroup.kill)') {
    const r = await killCgroup(leaf, { useKillFile: method === 'cgroup.kill', remove: false, timeoutMs: DEADLINE_MS });
    if (r.outcome === 'refused') throw new Error(`refused: ${r.refused?.why}`);
    rounds = r.signals.length;
    empty = r.outcome === 'empty';
    killToEmpty = r.killToEmptyMs;
  } else if (method === 'kill(-pgid, SIGKILL) until empty') {
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
    for (;;) {
      const targets = scanLiveStats().filter((s) => s.pgid === pgid);
      if (targets.length === 0 || performance.now() > deadline) break;
      rounds++;
      for (const s of targets) {
        try {
          process.kill(s.pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
    }
    empty = await untilEmpty(leaf, deadline);
  }
  const took = performance.now() - t0;
  let survivors = 0;
  if (!empty) {
    const m = listMembers(leaf);
    survivors = m.state === 'found' ? m.value.pids.length : -1;
    await killCgroup(leaf, { remove: false });
  }
  return { ms: took, survivors, rounds, members, killToEmpty };
}

async function main(): Promise<void> {
  const support = probeCgroups();
  if (!support.available) {
    console.log(`cgroupKill bench: skipped, no writable cgroup v2 here (${support.reason})`);
    goal({ row: '1 (cgroup.kill, 50 processes)', goal: 'cgroup.kill vs SIGKILL from a /proc scan (no number stated)', measured: `skipped: ${support.reason}`, met: null });
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
  const base = median('cgroup.kill');
  const rows = METHODS.map((m) => {
    const ts = results.get(m)!;
    const own = ts.flatMap((t) => (t.killToEmpty === undefined ? [] : [t.killToEmpty]));
    return [m, spread(stats(ts.map((t) => t.members)), (v) => v.toFixed(0)), ts.length, spread(stats(ts.map((t) => t.ms))), own.length ? spread(stats(own)) : '—', spread(stats(ts.map((t) => t.rounds)), (v) => v.toFixed(0)), ts.reduce((a, t) => a + Math.max(0, t.survivors), 0), ratio(median(m), base)];
  });
  table(
    `one ${TREE_SIZE}-process tree (sleeps + a fork loop, all ignoring SIGTERM) in a session cgroup, ms from the first signal to \`populated 0\`, ~${processes} processes on the host, cgroup2 at ${support.mount.mountPoint} (${support.layout})`,
    ['method', 'members at kill', 'trials', 'median (min–max)', 'of which kill → populated 0', 'signal rounds', 'survivors (all trials)', 'vs cgroup.kill'],
    rows,
  );
  console.log('_cgroup rows: killCgroup() end to end (member list, uid and ancestor checks, the kill, polling `cgroup.events` every 1 ms); "kill → populated 0" starts just before the cgroup.kill write (fallback: before freeze, list and SIGKILL). The /proc row finds the tree by its process group, so a `setsid` escapee would not be in its target set at all; here there is none, so every row has the same targets._\n');
  const scan = median('SIGKILL by pid from a /proc scan, until the scan finds none');
  goal({
    row: '1 (cgroup.kill, 50 processes)',
    goal: 'cgroup.kill vs SIGKILL by pid from a /proc scan, same tree, same run (no number stated)',
    measured: `cgroup.kill ${base.toFixed(2)} ms median vs /proc scan + SIGKILL ${scan.toFixed(2)} ms (${ratio(scan, base)}); freeze + SIGKILL ${median('freeze + SIGKILL (no cgroup.kill)').toFixed(2)} ms; kill(-pgid) ${median('kill(-pgid, SIGKILL) until empty').toFixed(2)} ms`,
    met: null,
  });
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
