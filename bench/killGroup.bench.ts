// Group teardown: killGroup (SIGTERM, grace, SIGKILL repeated until the group is empty) against
// a naive baseline (SIGKILL the group at once, then poll until it is empty). Every group is 50
// idle sleepers, all children of this process.
import { performance } from 'node:perf_hooks';
import { groupSnapshot, killGroup, killGroupSync, KillGroupResult } from '../src/core/kill';
import { allReaped, forget, ms, sleeperGroup, stats, table } from './support';

const REPS = Number(process.env.BENCH_REPS ?? 5);
const MEMBERS = 50;
const GRACE_MS = 200;

/** The baseline: no grace at all. Polled every 1 ms with the same member scan killGroup uses. */
async function naiveKill(pgid: number): Promise<number> {
  const t0 = performance.now();
  process.kill(-pgid, 'SIGKILL');
  while (groupSnapshot(pgid).alive) await new Promise((r) => setTimeout(r, 1));
  return performance.now() - t0;
}

type Method = 'killGroup' | 'killGroupSync' | 'naive SIGKILL + poll';

async function measure(method: Method, ignoreTerm: boolean): Promise<{ ms: number; steps: string; survivors: number }> {
  const pgid = await sleeperGroup(MEMBERS, ignoreTerm);
  let r: KillGroupResult | undefined;
  let took: number;
  if (method === 'naive SIGKILL + poll') {
    took = await naiveKill(pgid);
  } else {
    const t0 = performance.now();
    r = method === 'killGroup' ? await killGroup(pgid, { graceMs: GRACE_MS }) : killGroupSync(pgid, { graceMs: GRACE_MS });
    took = performance.now() - t0;
    if (r.refused) throw new Error(`${method} refused: ${r.refused}`);
  }
  const survivors = groupSnapshot(pgid).members.length;
  if (survivors === 0) forget(pgid);
  await allReaped();
  return { ms: took, steps: r ? r.signals.map((s) => s.signal).join(' → ') : 'SIGKILL', survivors };
}

async function main(): Promise<void> {
  if (process.platform === 'win32') {
    console.log('killGroup bench: POSIX only');
    return;
  }
  const rows: (string | number)[][] = [];
  for (const ignoreTerm of [false, true]) {
    for (const method of ['killGroup', 'killGroupSync', 'naive SIGKILL + poll'] as Method[]) {
      const samples: number[] = [];
      let steps = '';
      let survivors = 0;
      for (let i = 0; i < REPS; i++) {
        const m = await measure(method, ignoreTerm);
        samples.push(m.ms);
        steps = m.steps;
        survivors += m.survivors;
      }
      const s = stats(samples);
      rows.push([ignoreTerm ? 'ignore SIGTERM/SIGHUP' : 'honour SIGTERM', method, steps, ms(s.median), ms(s.p90), ms(s.min), survivors]);
    }
  }
  table(
    `group teardown, ${MEMBERS} idle processes per group, grace ${GRACE_MS} ms, ${REPS} runs each`,
    ['members', 'method', 'signals (last run)', 'median ms', 'p90 ms', 'min ms', 'survivors (all runs)'],
    rows,
  );
  console.log('_Time from the first signal until no live member is left in the group (zombies awaiting reaping excluded)._\n');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
