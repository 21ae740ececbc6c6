// Benchmark support: timing statistics, markdown tables, and process groups built so that this
// process is the parent of every member (perl's setpgrp joins them to one group). Being the
// parent matters: we reap them, so no zombies are left behind on hosts whose pid 1 never reaps.
import { ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { groupSnapshot, killGroupSync } from '../src/core/kill';
import { readProcStat } from '../src/core/procfs';

export interface Stats { median: number; p90: number; min: number; n: number }

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return { median: at(0.5), p90: at(0.9), min: s[0], n: s.length };
}

export const ms = (v: number) => v.toFixed(2);

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
const children = new Set<ChildProcess>();
const childGroup = new Map<ChildProcess, number>();

// Whatever happens, nothing this benchmark started outlives it.
process.on('exit', () => {
  for (const pgid of liveGroups) killGroupSync(pgid, { graceMs: 0, timeoutMs: 2000 });
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

function perl(script: string, pgid?: number): ChildProcess {
  const child = spawn('perl', ['-e', script], { stdio: 'ignore' });
  children.add(child);
  childGroup.set(child, pgid ?? child.pid!);
  child.on('exit', () => {
    children.delete(child);
    childGroup.delete(child);
  });
  child.on('error', (e) => { throw e; });
  return child;
}

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * `count` idle `sleep` processes in one new process group (the first leads it), all children of
 * this process. With `ignoreTerm` each ignores SIGTERM and SIGHUP, so only SIGKILL ends them.
 */
export async function sleeperGroup(count: number, ignoreTerm: boolean): Promise<number> {
  const ignore = ignoreTerm ? "$SIG{TERM} = $SIG{HUP} = 'IGNORE';" : '';
  const leader = perl(`setpgrp(0, 0) or die; ${ignore} exec 'sleep', '1000'`);
  const pgid = leader.pid!;
  liveGroups.add(pgid);
  await until(`pid ${pgid} to lead its group`, () => readProcStat(pgid)?.pgid === pgid);
  for (let i = 1; i < count; i++) perl(`setpgrp(0, ${pgid}) or die "setpgrp: $!"; ${ignore} exec 'sleep', '1000'`, pgid);
  await until(`${count} members in group ${pgid}`, () => groupSnapshot(pgid).members.length === count);
  return pgid;
}

/**
 * `count` idle `sleep` processes under one perl that forks them and reaps them: it ignores
 * SIGTERM itself, so a SIGTERM to the group ends the sleeps, perl reaps them, then exits.
 */
export async function fillerGroup(count: number): Promise<number> {
  const leader = perl(
    `setpgrp(0, 0) or die; for (1..${count}) { my $p = fork; die "fork: $!" unless defined $p; ` +
    `if (!$p) { exec 'sleep', '1000'; exit 1 } } $SIG{TERM} = $SIG{HUP} = 'IGNORE'; 1 while wait != -1;`,
  );
  const pgid = leader.pid!;
  liveGroups.add(pgid);
  await until(`${count} fillers in group ${pgid}`, () => groupSnapshot(pgid).members.length === count + 1);
  return pgid;
}

/** Marks a group as torn down by the benchmark itself (no clean-up needed at exit). */
export function forget(pgid: number): void {
  liveGroups.delete(pgid);
}

/** Resolves when every child this module spawned (for group `pgid`, or at all) has been reaped. */
export function allReaped(pgid?: number): Promise<void> {
  const pending = () => [...childGroup.values()].filter((g) => pgid === undefined || g === pgid).length;
  return until('children to be reaped', () => pending() === 0, 10_000);
}
