// Process-table snapshot (detail for issue row 4): the /proc scan variants against spawning ps,
// the macOS reader (one `ps`, which procps answers too) and the ps-list package. Pads the table with idle sleepers up to BENCH_PROCESSES
// (default 600) so the numbers are comparable with a busy workstation.
import { spawnSync } from 'node:child_process';
import { groupMembers, processGroup, teardown } from '../src/core/kill';
import { processSource, scanProcSync } from '../src/core/processTable';
import { allReaped, fillerGroup, forget, ratio, runBench, spread, stats, table, time, trials } from './support';

const RUNS = Number(process.env.BENCH_RUNS ?? trials(20));
const TARGET = Number(process.env.BENCH_PROCESSES ?? 600);

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
  const fillers = Math.max(0, TARGET - scanProcSync({ readOwner: false }).length);
  const filler = fillers > 0 ? await fillerGroup(fillers) : undefined;
  try {
    // [name, snapshot function, runs]: ps-list spawns ps several times per call, so it gets fewer runs.
    const cases: [string, () => number | Promise<number>, number?][] = [
      ['scanProcSync() (stat, uid, cmdline, owner marker)', () => scanProcSync().length],
      ['scanProcSync({ readOwner: false })', () => scanProcSync({ readOwner: false }).length],
      ['groupMembers(pgid) (the teardown engine\'s scan: stat only)', () => groupMembers(filler ?? process.pid)?.length ?? 0],
      ['spawnSync ps -eo pid,ppid,pgid,uid,lstart,args', psSnapshot],
      ["processSource('darwin').list() (the macOS reader: one ps -A -o pid,ppid,pgid,uid,stat,lstart,args)", async () => (await processSource('darwin').list()).rows.length],
      ['peer: ps-list 8 (psList({ all: true }))', async () => (await (await import('ps-list')).default({ all: true })).length, Math.ceil(RUNS / 2)],
    ];
    const rows: (string | number)[][] = [];
    let first: number | undefined;
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
      first ??= s.median;
      rows.push([name, count, runs, spread(s), ratio(s.median, first)]);
    }
    table(
      `row 4 detail: process table snapshot, ${scanProcSync({ readOwner: false }).length} processes on the host (${fillers} idle fillers), ms`,
      ['method', 'rows', 'runs', 'median (min–max)', 'median ÷ scanProcSync()'],
      rows,
    );
    console.log('_rows: processes listed (groupMembers: members of the filler group)._\n');
  } finally {
    if (filler !== undefined) {
      const r = await teardown([processGroup(filler)], { graceMs: 2000 });
      if (r.survivors.length === 0 && !r.refusals.length) forget(filler);
      await allReaped(filler);
    }
  }
}

runBench(main);
