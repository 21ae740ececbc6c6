// Process-table snapshot: the /proc scan against spawning ps, and against the ps-list backend.
// Optionally pads the table with idle sleepers (BENCH_FILLERS, default 500) so the numbers are
// comparable with a busy workstation (~600 processes).
import { spawnSync } from 'node:child_process';
import { groupSnapshot, killGroup } from '../src/core/kill';
import { listProcesses, scanProcSync } from '../src/core/processTable';
import { allReaped, fillerGroup, forget, ms, stats, table, time } from './support';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const FILLERS = Number(process.env.BENCH_FILLERS ?? 500);

function psSnapshot(): number {
  const r = spawnSync('ps', ['-eo', 'pid,ppid,pgid,uid,lstart,args'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ps failed: ${r.stderr}`);
  return r.stdout.trimEnd().split('\n').length - 1;
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('processTable bench: Linux only (/proc)');
    return;
  }
  const filler = FILLERS > 0 ? await fillerGroup(FILLERS) : undefined;
  try {
    // [name, snapshot function, runs]: ps-list spawns ps twice per call, so it gets fewer runs.
    const cases: [string, () => number | Promise<number>, number?][] = [
      ['scanProcSync() (stat, uid, cmdline, owner marker)', () => scanProcSync().length],
      ['scanProcSync({ readOwner: false })', () => scanProcSync({ readOwner: false }).length],
      ['groupSnapshot(pgid) (killGroup poll: stat only)', () => groupSnapshot(filler ?? process.pid).members.length],
      ['spawnSync ps -eo pid,ppid,pgid,uid,lstart,args', psSnapshot],
      ["listProcesses({ backend: 'ps-list' })", async () => (await listProcesses({ backend: 'ps-list' })).length, Math.ceil(RUNS / 2)],
    ];
    const rows: (string | number)[][] = [];
    for (const [name, fn, runs = RUNS] of cases) {
      await fn(); // warm-up (module loading, page cache)
      const samples: number[] = [];
      let count = 0;
      for (let i = 0; i < runs; i++) {
        const t = await time(fn);
        samples.push(t.ms);
        count = t.value;
      }
      const s = stats(samples);
      rows.push([name, count, runs, ms(s.median), ms(s.p90), ms(s.min)]);
    }
    table(
      `process table snapshot, ${scanProcSync({ readOwner: false }).length} processes on the host (${FILLERS} idle fillers), ${process.platform}`,
      ['method', 'rows', 'runs', 'median ms', 'p90 ms', 'min ms'],
      rows,
    );
    console.log('_rows: processes listed (groupSnapshot: members of the filler group)._\n');
  } finally {
    if (filler !== undefined) {
      const r = await killGroup(filler, { graceMs: 2000 });
      if (r.survivors.length === 0 && !r.refused) forget(filler);
      await allReaped(filler);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
