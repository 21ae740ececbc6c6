// Issue row 4, orphan scan with ~600 processes: the project's scan (findOrphans end to end, and
// its steps: the /proc scan detection needs, detection alone) against what a tool would do
// without it: ps-list, and spawning `ps -A -o pid,ppid,lstart,args`. Goal: findOrphans ≤ 30 ms.
// Pads the process table with `sleep` children up to TARGET (half carry a dead owner's marker,
// a checkpoint of that dead owner records 100 of them, so every rule has real work to do), and
// kills every one of them at the end. Run: npm run bench -- orphans
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointFileName, loadCheckpoints, writeCheckpointSync } from '../src/core/checkpoint';
import { fingerprintOf, formatFingerprint } from '../src/core/fingerprint';
import { detectOrphans } from '../src/core/orphans';
import { findOrphans } from '../src/core/orphansFind';
import { OWNER_ENV } from '../src/core/ownerMarker';
import { scanProcSync } from '../src/core/processTable';
import { readProcStat } from '../src/core/procfs';
import { waitFor } from '../test/support/processes';
import { goal, ms, ratio, runBench, spread, stats, table, time, trials } from './support';
import { deadFingerprint } from '../test/process/orphansScene';

const TARGET = Number(process.env.BENCH_PROCESSES ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? trials(20));
const GOAL_MS = 30;

/** What a script without the project would run: one `ps` for pid, parent, start and command. */
/** The ps-list package (a devDependency kept as a peer): no start times, several ps spawns. */
async function psListPeer(): Promise<number> {
  return (await (await import('ps-list')).default({ all: true })).length;
}

function psSnapshot(): number {
  const r = spawnSync('ps', ['-A', '-o', 'pid,ppid,lstart,args'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ps failed: ${r.stderr}`);
  return r.stdout.trimEnd().split('\n').length - 1;
}
const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.on('exit', cleanup);


async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('orphans.bench: Linux only (/proc); skipped');
    return;
  }
  const dead = await deadFingerprint();
  const env = { ...process.env, [OWNER_ENV]: formatFingerprint(dead) };
  const have = scanProcSync({ readOwner: false }).length;
  const pad = Math.max(0, TARGET - have);
  for (let i = 0; i < pad; i++) {
    children.push(spawn('sleep', ['300'], { stdio: 'ignore', env: i % 2 ? env : process.env }));
  }
  await waitFor(() => children.every((c) => readProcStat(c.pid!)?.comm === 'sleep'), 'every padding child to exec sleep', 30_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
  try {
    const records = children.slice(0, 100).map((c) => ({
      role: 'worker' as const, fingerprint: fingerprintOf(c.pid!) ?? { pid: c.pid!, startTime: 0, bootId: 'x' },
      command: 'sleep 300', startedAt: Date.now(),
    }));
    writeCheckpointSync(path.join(dir, checkpointFileName(dead)), { version: 1, owner: dead, writtenAt: Date.now(), records });
    const checkpoints = loadCheckpoints(dir).checkpoints;

    const raw: number[] = [];
    const full: number[] = [];
    const detect: number[] = [];
    const endToEnd: number[] = [];
    const psList: number[] = [];
    const ps: number[] = [];
    let processes = 0;
    let orphans = 0;
    // Warm-up (module loading, page cache, the ps binary).
    await findOrphans({ checkpointDirs: [dir] });
    await psListPeer();
    psSnapshot();
    // Interleaved, so a burst of load from elsewhere on the machine hits every method alike.
    for (let i = 0; i < ROUNDS; i++) {
      const e = await time(() => findOrphans({ checkpointDirs: [dir] }));
      endToEnd.push(e.ms);
      orphans = e.value.orphans.length;
      raw.push((await time(() => scanProcSync({ readOwner: false }))).ms);
      const scan = await time(() => scanProcSync({ readMemory: true }));
      full.push(scan.ms);
      processes = scan.value.length;
      detect.push((await time(() => detectOrphans({ table: scan.value, checkpoints }))).ms);
      psList.push((await time(psListPeer)).ms);
      ps.push((await time(psSnapshot)).ms);
    }
    const project = stats(endToEnd);
    const rows = ([
      ['**findOrphans()** — the project\'s scan (/proc scan + checkpoints + detect)', endToEnd],
      ['step: scanProcSync({ readMemory: true }) (detection input)', full],
      ['step: detectOrphans(snapshot, checkpoints)', detect],
      ['scanProcSync({ readOwner: false }) (bare /proc stat + cmdline)', raw],
      ['peer: ps-list 8 (psList({ all: true }); spawns ps)', psList],
      ['peer: spawnSync ps -A -o pid,ppid,lstart,args', ps],
    ] as const).map(([name, samples]) => {
      const st = stats([...samples]);
      return [name, st.n, spread(st), ms(st.p90), ratio(st.median, project.median)];
    });
    table(
      `row 4: orphan scan, ${processes} processes on the machine (${pad} padding sleepers, half with a dead owner's marker), ${orphans} orphans found, ms`,
      ['method', 'runs', 'median (min–max)', 'p90', 'median ÷ findOrphans'],
      rows,
    );
    console.log('_The peers only list processes: they read no environment (owner marker) and detect nothing, so the project does strictly more work per process._\n');
    goal({
      row: '4',
      goal: `orphan scan (findOrphans) ≤ ${GOAL_MS} ms with ~${TARGET} processes`,
      measured: `${ms(project.median)} ms median (max ${ms(project.max)}), ${processes} processes; ps-list ${ms(stats(psList).median)} ms, ps ${ms(stats(ps).median)} ms`,
      met: project.median <= GOAL_MS,
    });
  } finally {
    cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
