// Group teardown: the engine's teardown (SIGTERM, grace, SIGKILL repeated until the group is empty) against
// a naive baseline (SIGKILL the group at once, then poll until it is empty). Every group is 50
// idle sleepers, all children of this process; 500 more idle fillers (BENCH_FILLERS) pad the
// process table to ~600 so the cost of scanning it shows.
import { performance } from 'node:perf_hooks';
import { groupMembers, processGroup, teardown, TeardownReport, teardownSync } from '../src/core/kill';
import { scanProcSync } from '../src/core/processTable';
import { allReaped, fillerGroup, forget, ms, runBench, sleeperGroup, stats, table } from './support';

const REPS = Number(process.env.BENCH_REPS ?? 5);
const MEMBERS = 50;
const GRACE_MS = 200;
const FILLERS = Number(process.env.BENCH_FILLERS ?? 500);

/** The baseline: no grace at all; the group listed every 1 ms until it is empty. */
async function naiveKill(pgid: number): Promise<void> {
  process.kill(-pgid, 'SIGKILL');
  while (groupMembers(pgid)?.length !== 0) await new Promise((r) => setTimeout(r, 1));
}

type Method = 'teardown' | 'teardownSync' | 'naive SIGKILL + poll';

async function measure(method: Method, ignoreTerm: boolean): Promise<{ ms: number; cpuMs: number; steps: string; survivors: number }> {
  const pgid = await sleeperGroup(MEMBERS, ignoreTerm);
  let r: TeardownReport | undefined;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  if (method === 'naive SIGKILL + poll') {
    await naiveKill(pgid);
  } else {
    const target = [processGroup(pgid)];
    r = method === 'teardown' ? await teardown(target, { graceMs: GRACE_MS }) : teardownSync(target, { graceMs: GRACE_MS });
    if (r.refusals.length) throw new Error(`${method} refused: ${r.refusals.map((x) => x.message).join('; ')}`);
  }
  const took = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const survivors = groupMembers(pgid)?.length ?? 0;
  if (survivors === 0) forget(pgid);
  await allReaped(pgid);
  return { ms: took, cpuMs, steps: r ? r.signals.map((s) => s.signal).join(' → ') : 'SIGKILL', survivors };
}

async function main(): Promise<void> {
  if (process.platform === 'win32') {
    console.log('group teardown bench: POSIX only');
    return;
  }
  const filler = FILLERS > 0 ? await fillerGroup(FILLERS) : undefined;
  try {
    await runAll();
  } finally {
    if (filler !== undefined) {
      const r = await teardown([processGroup(filler)], { graceMs: 2000 });
      if (r.survivors.length === 0 && !r.refusals.length) forget(filler);
      await allReaped(filler);
    }
  }
}

async function runAll(): Promise<void> {
  const processes = scanProcSync({ readOwner: false }).length + MEMBERS;
  const rows: (string | number)[][] = [];
  for (const ignoreTerm of [false, true]) {
    for (const method of ['teardown', 'teardownSync', 'naive SIGKILL + poll'] as Method[]) {
      const samples: number[] = [];
      const cpu: number[] = [];
      let steps = '';
      let survivors = 0;
      for (let i = 0; i < REPS; i++) {
        const m = await measure(method, ignoreTerm);
        samples.push(m.ms);
        cpu.push(m.cpuMs);
        steps = m.steps;
        survivors += m.survivors;
      }
      const s = stats(samples);
      rows.push([ignoreTerm ? 'ignore SIGTERM/SIGHUP' : 'honour SIGTERM', method, steps, ms(s.median), ms(s.p90), ms(s.min), ms(stats(cpu).median), survivors]);
    }
  }
  table(
    `group teardown, ${MEMBERS} idle processes per group, grace ${GRACE_MS} ms, ${REPS} runs each, ~${processes} processes on the host`,
    ['members', 'method', 'signals (last run)', 'median ms', 'p90 ms', 'min ms', 'CPU ms (median)', 'survivors (all runs)'],
    rows,
  );
  console.log('_Wall time from the first signal until no live member is left in the group (zombies awaiting reaping excluded); CPU: this process, user + system._\n');
}

runBench(main);
