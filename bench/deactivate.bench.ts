// Row 2 of issue 7: teardown on deactivate. From the host's stop call (WardenHost.dispose, what
// the extension's deactivate() awaits) to zero processes, with 50 workers each running a `/run`
// background child: gracefully, and with the gateway hung (SIGSTOPped, so dispose must fall back
// to killing it). Peer in the same run: the floor of row 1 at 50 workers (idle node processes of
// the same tree shape, SIGKILLed at once). "Dead" is bench/reapWatch.ts's definition, as in row 1.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parentDeathSignalPrefix } from '../src/core/parentDeathSignal';
import { nullLog } from '../src/host/seams';
import { DEFAULT_SETTINGS } from '../src/host/settings';
import { WardenHost } from '../src/host/wardenHost';
import { reapTrial } from './reapVariants';
import { endTrial, guardTrial, TREE_ENV, treeMembers, trialId, watchDeaths } from './reapWatch';
import { goal, ratio, runBench, spread, stats, table, trials } from './support';
import { DEFAULT_TIMEOUTS } from '../src/core/timeouts';

const WORKERS = Number(process.env.BENCH_WORKERS ?? 50);
/** VS Code gives deactivate() 5 s before it stops waiting. */
const VSCODE_CUTOFF_MS = 5000;
const root = path.resolve(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

type Method = 'dispose (extension deactivate)' | 'dispose, gateway SIGSTOPped';

async function hostWithWorkers(id: string): Promise<WardenHost> {
  // Every process the host starts inherits the trial's marker.
  process.env[TREE_ENV] = id;
  const host = new WardenHost({
    extensionPath: root,
    checkpointDir: path.join(tmp, id, 'registry'),
    log: nullLog,
    settings: () => ({ ...DEFAULT_SETTINGS, timeouts: { ...DEFAULT_TIMEOUTS, shutdownGraceMs: 200 }, maxWorkers: Math.max(DEFAULT_SETTINGS.maxWorkers, WORKERS) }),
  });
  await host.supervisor.start();
  delete process.env[TREE_ENV];
  const ids = await Promise.all(Array.from({ length: WORKERS }, () => host.supervisor.request<{ sessionId: string }>('session.create', {})));
  await Promise.all(ids.map(({ sessionId }) => host.supervisor.request('slash.exec', { sessionId, command: '/run sleep 1000 >/dev/null 2>&1 &' }, 60_000)));
  return host;
}

interface Trial { resolveMs: number; goneMs: number; processes: number; leftAtResolve: number; survivors: number }

async function once(method: Method): Promise<Trial> {
  const id = trialId('deactivate');
  guardTrial(id);
  try {
    const host = await hostWithWorkers(id);
    const procs = treeMembers(id);
    // With the kernel's parent-death signal each worker that ran /run also has its group keeper.
    const expected = 1 + (2 + (parentDeathSignalPrefix().prefix !== undefined ? 1 : 0)) * WORKERS;
    if (procs.length !== expected) throw new Error(`expected ${expected} processes (gateway, workers, children, keepers), found ${procs.length}`);
    if (method === 'dispose, gateway SIGSTOPped') process.kill(host.supervisor.current.pid!, 'SIGSTOP');
    const t0 = performance.now();
    const watch = watchDeaths(procs, t0, 15_000);
    await host.dispose(2500);
    const resolveMs = performance.now() - t0;
    const leftAtResolve = treeMembers(id).length;
    const w = await watch;
    return { resolveMs, goneMs: w.lastMs, processes: procs.length, leftAtResolve, survivors: treeMembers(id).length };
  } finally {
    endTrial(id);
  }
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('deactivate.bench: Linux only (reads /proc)');
    return;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'gateway.js'))) throw new Error('build first (dist/gateway.js missing)');
  const methods: Method[] = ['dispose (extension deactivate)', 'dispose, gateway SIGSTOPped'];
  const n = trials(10);
  const results = new Map<Method, Trial[]>(methods.map((m) => [m, []]));
  const floor: number[] = [];
  let floorProcs = 0;
  for (let i = 0; i < n; i++) {
    for (const m of methods) results.get(m)!.push(await once(m));
    if (i < trials(5, 2)) {
      const f = await reapTrial('floor', WORKERS);
      floor.push(f.ms);
      floorProcs = f.processes;
    }
  }
  const fl = stats(floor);
  const rows = methods.map((m) => {
    const rs = results.get(m)!;
    const gone = stats(rs.map((r) => r.goneMs));
    return [m, rs[0].processes, gone.n, spread(stats(rs.map((r) => r.resolveMs))), Math.max(...rs.map((r) => r.leftAtResolve)), spread(gone),
      rs.reduce((a, r) => a + r.survivors, 0), ratio(gone.median, fl.median)];
  });
  rows.push([`floor (row 1): idle node tree of ${WORKERS} workers SIGKILLed at once`, floorProcs, fl.n, '—', '—', spread(fl), 0, '1.00×']);
  table(`deactivate with ${WORKERS} workers (+1 child each): from dispose() to the last process dead, ms`,
    ['method', 'processes', 'trials', 'dispose resolves, median (min–max)', 'left at resolve (max)', 'all dead, median (min–max)', 'survivors', 'vs floor'], rows);
  const budget = Math.max(500, 1.5 * fl.median);
  for (const m of methods) {
    const rs = results.get(m)!;
    const gone = stats(rs.map((r) => r.goneMs));
    const survivors = rs.reduce((a, r) => a + r.survivors, 0);
    goal({
      row: `2 (${m === 'dispose (extension deactivate)' ? 'graceful' : 'hung gateway'})`,
      goal: `all dead ≤ max(500 ms, 1.5× floor) = ${budget.toFixed(0)} ms median, 0 survivors, max < ${VSCODE_CUTOFF_MS} ms`,
      measured: `${gone.median.toFixed(1)} ms median, max ${gone.max.toFixed(1)} ms (floor ${fl.median.toFixed(1)} ms), ${survivors} survivors`,
      met: gone.median <= budget && survivors === 0 && gone.max < VSCODE_CUTOFF_MS,
    });
  }
}

runBench(main);
