// Row 1 of issue 13: reap after host SIGKILL with a `setsid` escapee under every worker, the
// cgroup path (a leaf per session, cgroup.kill) and the fallback path (GATEWAY_WARDEN_CGROUPS=off:
// process groups, the workers' marker scans) as separate rows, each beside the kernel floor
// measured in the same run (an equal tree SIGKILLed at once). Trials are interleaved.
//   npm run bench -- reapCgroup        (BENCH_REAP_CGROUP_WORKERS=10,50 by default)
import { probeCgroups } from '../src/core/cgroup/cgroupProbe';
import { reapTrial, TrialResult, Variant, VARIANT_LABEL } from './reapVariants';
import { goal, ratio, runBench, spread, stats, Stats, table, trials } from './support';

const SIZES = (process.env.BENCH_REAP_CGROUP_WORKERS ?? '10,50').split(',').map(Number);
/** The goals: the cgroup path's median ≤ this × the floor's. */
const GOAL_RATIO: Record<number, number> = { 10: 2, 50: 1.3 };

async function size(workers: number, variants: Variant[]): Promise<void> {
  const n = trials(10);
  const results = new Map<Variant, TrialResult[]>(variants.map((v) => [v, []]));
  for (let i = 0; i < n; i++) for (const v of variants) results.get(v)!.push(await reapTrial(v, workers));
  const st = new Map<Variant, Stats>(variants.map((v) => [v, stats(results.get(v)!.map((r) => r.ms))]));
  const floor = st.get('floor-escapee')!.median;
  // The floor is idle node processes; ours are larger (a worker's bundle, its group
  // keeper): the kernel killing our very tree at once says how much of the gap is their size.
  const ownFloor = st.get('warden-cgroup-floor')?.median;
  const rows = variants.map((v) => {
    const rs = results.get(v)!;
    const s = st.get(v)!;
    return [VARIANT_LABEL[v], rs[0].processes, s.n, spread(s), rs.reduce((a, r) => a + r.survivors, 0), ratio(s.median, floor), ownFloor === undefined ? '—' : ratio(s.median, ownFloor)];
  });
  table(`reap after host SIGKILL, ${workers} workers (+1 grandchild and 1 setsid escapee each), ms to the last process dead`,
    ['variant', 'processes', 'trials', 'median (min–max)', 'survivors (all trials)', 'vs floor', 'vs floor at our size'], rows);
  const row = `1 (${workers} workers + escapees)`;
  for (const v of variants) {
    // The goals are the default tree's (the SIGTERM-handling row shows what a grace that matters costs).
    if (v === 'floor-escapee' || v === 'warden-cgroup-floor' || v === 'warden-cgroup-term') continue;
    const m = st.get(v)!.median;
    const survivors = results.get(v)!.reduce((a, r) => a + r.survivors, 0);
    const path = v === 'warden-cgroup' ? 'cgroup path' : 'fallback path';
    const limit = GOAL_RATIO[workers];
    if (limit !== undefined) goal({ row, goal: `${path}: median ≤ ${limit}× floor`, measured: `${m.toFixed(1)} ms vs floor ${floor.toFixed(1)} ms (${ratio(m, floor)})`, met: m <= limit * floor });
    goal({ row, goal: `${path}: 0 survivors`, measured: `${survivors} in ${n} trials`, met: survivors === 0 });
  }
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('reapCgroup bench: Linux only');
    return;
  }
  const probe = probeCgroups({});
  const variants: Variant[] = probe.available ? ['warden-cgroup', 'warden-cgroup-term', 'warden-cgroup-floor', 'warden-fallback', 'floor-escapee'] : ['warden-fallback', 'floor-escapee'];
  if (!probe.available) console.log(`(cgroup v2 not writable here: ${probe.reason}; the cgroup row is skipped)\n`);
  for (const workers of SIZES) await size(workers, variants);
  console.log([
    'The escapee is `setsid sleep 600 &` from the worker\'s /run: its own session and group, re-parented to pid 1; it keeps',
    'the inherited markers (the benchmark finds every process by its trial marker), so the fallback path can find it',
    'by the worker\'s marker; the cgroup path finds it in the session\'s cgroup.procs. Dead as in the reap table above.',
    '',
  ].join('\n'));
}

runBench(main);
