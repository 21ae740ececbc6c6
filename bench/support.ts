// Benchmark support: timing statistics, markdown tables, and process groups whose members are
// children of a perl parent outside the group (perl's setpgrp joins them to one group). The
// parent reaps them, so a SIGKILLed group leaves no zombies to a pid 1 that may never reap.
import { ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { groupMembers, processGroup, teardownSync } from '../src/core/kill';

export interface Stats { median: number; p90: number; min: number; max: number; n: number }

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return { median: at(0.5), p90: at(0.9), min: s[0], max: s[s.length - 1], n: s.length };
}

export const ms = (v: number) => v.toFixed(2);

/** A table cell "median (min–max)", each value formatted by `fmt` (milliseconds by default). */
export function spread(s: Stats, fmt: (v: number) => string = ms): string {
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

/** A table cell "a / b" as a ratio, e.g. "0.93×"; "—" when b is zero or either is not finite. */
export function ratio(a: number, b: number, digits = 2): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—';
  return `${(a / b).toFixed(digits)}×`;
}

/** True when the benchmark should run fewer trials (`BENCH_QUICK=1`, a smoke check). */
export const quick = process.env.BENCH_QUICK === '1';

/** `full` trials normally, `smoke` under BENCH_QUICK=1. */
export function trials(full: number, smoke = Math.min(full, 3)): number {
  return quick ? smoke : full;
}

/** One goal result, machine-readable. */
export interface Goal {
  /** Issue row, e.g. "4" or "1 (10 workers)". */
  row: string;
  /** The goal as stated, e.g. "orphan scan ≤ 30 ms". */
  goal: string;
  /** What was measured, e.g. "12.3 ms median". */
  measured: string;
  /** null: the issue states no goal for this row; the line only summarises what was measured. */
  met: boolean | null;
}

/**
 * Prints a goal line `BENCH-GOAL {json}`. scripts/bench.mjs strips these lines from the markdown
 * it writes and collects them into the goals summary table at the top of docs/benchmarks.md.
 */
export function goal(g: Goal): void {
  console.log(`BENCH-GOAL ${JSON.stringify(g)}`);
}

export function table(title: string, header: string[], rows: (string | number)[][]): void {
  const lines = [
    `#### \`npm run bench\` — ${title}`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map((_h, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ];
  console.log(lines.join('\n'));
}

export async function time<T>(fn: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const liveGroups = new Set<number>();
const parents = new Set<ChildProcess>();
const reaped = new Map<number, Promise<void>>();

// Whatever happens, nothing this benchmark started outlives it.
process.on('exit', () => {
  teardownSync([...liveGroups].map((pgid) => processGroup(pgid)), { graceMs: 0, timeoutMs: 2000 });
  for (const p of parents) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * `count` idle `sleep` processes in one new process group. A perl parent *outside* the group
 * forks them (the first leads the group, the rest join it), reaps them, and exits once they are
 * all gone. With `ignoreTerm` each member ignores SIGTERM and SIGHUP: only SIGKILL ends it.
 */
export async function sleeperGroup(count: number, ignoreTerm: boolean): Promise<number> {
  const ignore = ignoreTerm ? "$SIG{TERM} = $SIG{HUP} = 'IGNORE';" : '';
  const script =
    `$| = 1; my $g; for (1..${count}) { my $p = fork; die "fork: $!" unless defined $p; ` +
    `if (!$p) { setpgrp(0, $g // 0) or die "setpgrp: $!"; ${ignore} exec 'sleep', '1000'; exit 1 } ` +
    // Both sides set the group (the classic race fix); the parent's call may fail after exec.
    '$g //= $p; setpgrp($p, $g); } print "$g\\n"; 1 while wait != -1;';
  const parent = spawn('perl', ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  parents.add(parent);
  const exited = new Promise<void>((resolve) => parent.on('exit', () => {
    parents.delete(parent);
    resolve();
  }));
  const pgid = await new Promise<number>((resolve, reject) => {
    let out = '';
    parent.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    parent.on('error', reject);
    parent.on('exit', (code) => reject(new Error(`perl exited (${code}) before starting the group`)));
  });
  liveGroups.add(pgid);
  reaped.set(pgid, exited);
  await until(`${count} members in group ${pgid}`, () => groupMembers(pgid)?.length === count);
  return pgid;
}

/** `count` idle sleepers that honour SIGTERM, to pad the process table. */
export function fillerGroup(count: number): Promise<number> {
  return sleeperGroup(count, false);
}

/** Marks a group as torn down by the benchmark itself (no clean-up needed at exit). */
export function forget(pgid: number): void {
  liveGroups.delete(pgid);
}

/** Resolves when the perl parent of group `pgid` has reaped every member and exited. */
export async function allReaped(pgid: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for group ${pgid} to be reaped`)), 10_000);
  });
  try {
    await Promise.race([reaped.get(pgid) ?? Promise.resolve(), timeout]);
  } finally {
    clearTimeout(timer);
  }
  reaped.delete(pgid);
}

/**
 * Runs a benchmark's main: exit 0 once it resolves (a lingering handle — a child's pipe, a timer —
 * must not hold the whole `npm run bench`), 1 with the error printed.
 */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
