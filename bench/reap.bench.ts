// Row 1 of issue 7: reap after host SIGKILL. The time from SIGKILL of the host to the last
// gateway, worker and grandchild dead, for 1, 10 and 50 workers, side by side in one run with
// the same tree guarded other ways (bench/reapTree.ts) and the floor: the same tree SIGKILLed at
// once. Trials are interleaved (one of each variant per round) so machine noise hits all alike.
// "Dead" is defined once for all variants in bench/reapWatch.ts.
import { reapTrial, TrialResult, Variant, VARIANT_LABEL } from './reapVariants';
import { HERMES_POLL_MS } from './reapTree';
import { goal, ratio, runBench, spread, stats, Stats, table, trials } from './support';
import { execFileSync } from 'node:child_process';

const SIZES = (process.env.BENCH_REAP_WORKERS ?? '1,10,50').split(',').map(Number);

function hasPdeathsig(): boolean {
  try {
    return execFileSync('setpriv', ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('--pdeathsig');
  } catch {
    return false;
  }
}

/** Trials per variant: the peers ≥ 10; the two informational rows fewer. */
const TRIALS: Record<Variant, number> = {
  warden: trials(10), floor: trials(10), hermes: trials(10), 'pdeathsig-all': trials(10),
  pdeathsig: trials(3, 2), 'hermes-exit': trials(3, 2), 'warden-floor': trials(5, 2), 'warden-watchdog': trials(3, 1),
  // Rows of bench/reapCgroup.bench.ts (escapee trees), not run here.
  'warden-cgroup': 0, 'warden-cgroup-term': 0, 'warden-cgroup-floor': 0, 'warden-fallback': 0, 'floor-escapee': 0,
};

async function size(workers: number, variants: Variant[]): Promise<void> {
  const results = new Map<Variant, TrialResult[]>(variants.map((v) => [v, []]));
  const rounds = Math.max(...variants.map((v) => TRIALS[v]));
  for (let i = 0; i < rounds; i++) {
    for (const v of variants) if (i < TRIALS[v]) results.get(v)!.push(await reapTrial(v, workers));
  }
  const st = new Map<Variant, Stats>(variants.map((v) => [v, stats(results.get(v)!.map((r) => r.ms))]));
  const floor = st.get('floor')!.median;
  const warden = st.get('warden')!.median;
  const rows = variants.map((v) => {
    const rs = results.get(v)!;
    const s = st.get(v)!;
    const survivors = rs.reduce((a, r) => a + r.survivors, 0);
    const uncovered = rs.reduce((a, r) => a + r.uncovered, 0);
    const note = uncovered ? ` (${uncovered} grandchildren never signalled)` : '';
    return [VARIANT_LABEL[v], rs[0].processes, s.n, spread(s), `${survivors}${note}`, ratio(s.median, floor), ratio(s.median, warden)];
  });
  table(`reap after host SIGKILL, ${workers} worker${workers === 1 ? '' : 's'} (+1 grandchild each), ms to the last process dead`,
    ['variant', 'processes', 'trials', 'median (min–max)', 'survivors (all trials)', 'vs floor', 'vs warden'], rows);

  const wardenSurvivors = results.get('warden')!.reduce((a, r) => a + r.survivors, 0);
  const row = `1 (${workers} worker${workers === 1 ? '' : 's'})`;
  goal({ row, goal: 'warden median ≤ 1.2× floor', measured: `${warden.toFixed(1)} ms vs floor ${floor.toFixed(1)} ms (${ratio(warden, floor)})`, met: warden <= 1.2 * floor });
  goal({ row, goal: 'warden: 0 survivors', measured: `${wardenSurvivors} in ${TRIALS.warden} trials`, met: wardenSurvivors === 0 });
  if (st.has('hermes')) {
    const hermes = st.get('hermes')!.median;
    goal({ row, goal: '≥ 10× faster than the hermes-style watchdog', measured: `${ratio(hermes, warden, 1)} (${hermes.toFixed(0)} ms vs ${warden.toFixed(1)} ms)`, met: hermes >= 10 * warden });
  }
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('reap bench: Linux only (reads /proc)');
    return;
  }
  const variants: Variant[] = ['warden', 'floor', 'warden-floor', 'warden-watchdog', 'hermes', 'hermes-exit'];
  if (hasPdeathsig()) variants.push('pdeathsig-all', 'pdeathsig');
  else console.log('(setpriv --pdeathsig not available: the parent-death-signal rows are skipped)\n');
  for (const workers of SIZES) await size(workers, variants);
  console.log([
    `Dead = gone from /proc or a zombie whose threads have all exited, pid and start time checked, polled every ~1 ms (each poll reads the tree in order up to the first process alive); ` +
      `zombies count as dead because pid 1 here reaps orphans only every few seconds.`,
    `The hermes-style peer models hermes-agent's merged slash-worker watchdog (${HERMES_POLL_MS} ms poll of the live ppid ` +
      `and the parent's start time) as the worker's only guard, generously: on a mismatch it SIGTERMs its own group ` +
      `(upstream os._exit()s and leaves the worker's children running), and with no command in flight hermes' ≤ 5 s ` +
      `grace does not apply. Its gateway exits on stdin EOF and leaves its workers, as hermes' did. ` +
      `The "as upstream" row is hermes' slash_worker as merged: its read loop ends on stdin EOF too (fast), but ` +
      `neither exit touches the worker's children, so every grandchild survives.`,
    `Watchdog-only row: a stray process holds the gateway's pipes open (as an inherited descriptor would), so the ` +
      `lifeline pipe never reports EOF and the 1 s fingerprint polls of the gateway and the workers are what notice.`,
    `Parent-death signal: \`setpriv --pdeathsig KILL\` on each exec; it is not inherited across fork, and it fires when the ` +
      `parent dies, so a grandchild a user's command leaves in the background (its shell parent already exited) cannot carry one.`,
    '',
  ].join('\n'));
}

runBench(main);
