// `npm run bench`: build, transpile bench/ (with the tests), then run each benchmark in turn,
// echoing its output and collecting it into docs/benchmarks.md (machine facts, a goals summary,
// then every benchmark's tables in order).
//
//   npm run bench                 full run; rewrites docs/benchmarks.md
//   npm run bench -- reap orphan  only benchmarks whose file name contains "reap" or "orphan"
//   BENCH_QUICK=1 npm run bench   fewer trials (a smoke check)
// A filtered or quick run writes docs/benchmarks.partial.md instead (gitignored): the committed
// document always comes from a full run.
//
// Goal lines: a benchmark prints `BENCH-GOAL {"row","goal","measured","met"}` (bench/support.ts
// goal()); they are echoed, left out of the markdown, and gathered into the goals table.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';

const GOAL_PREFIX = 'BENCH-GOAL ';
const quick = process.env.BENCH_QUICK === '1';
const filters = process.argv.slice(2).filter((a) => a.trim() !== '');
const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? 15 * 60_000);

function run(args) {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`node ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function processCount() {
  try {
    return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
  } catch {
    return undefined; // not Linux
  }
}

function kernel() {
  const r = spawnSync('uname', ['-r'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : os.release();
}

// Sampled before anything of ours runs.
const started = new Date();
const machine = {
  cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
  cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
  memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  node: process.version,
  platform: `${process.platform}/${process.arch}`,
  kernel: kernel(),
  processes: processCount() ?? 'n/a',
  load: os.loadavg().map((l) => l.toFixed(2)).join(' / '),
};

run(['scripts/build.mjs']);
run(['scripts/compile-tests.mjs']);
const dir = join('out', 'bench');
const all = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.bench.js')).sort() : [];
const benches = filters.length ? all.filter((f) => filters.some((w) => f.includes(w))) : all;
if (!benches.length) {
  console.error(`no benchmark matches ${filters.join(', ')} (have: ${all.join(', ')})`);
  process.exit(1);
}
console.log(`\n${machine.cores} cores (${machine.cpu}), ${machine.memory}, node ${machine.node}, ${machine.platform}, kernel ${machine.kernel}, ${machine.processes} processes, load ${machine.load}${quick ? ', BENCH_QUICK=1' : ''}\n`);

/** Runs one benchmark, echoing its stdout and returning it split into markdown and goals. */
function runBench(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [join(dir, file)], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    const lines = [];
    const goals = [];
    let pending = '';
    const take = (line) => {
      if (line.startsWith(GOAL_PREFIX)) {
        try {
          goals.push({ bench: file, ...JSON.parse(line.slice(GOAL_PREFIX.length)) });
        } catch {
          lines.push(line); // malformed: keep it visible rather than lose it
        }
      } else lines.push(line);
    };
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk.toString();
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        take(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    // A hung benchmark is asked to clean up (its SIGTERM handler exits through its exit hooks),
    // then killed.
    const timer = setTimeout(() => {
      console.error(`${file}: no result after ${timeoutMs} ms; stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, timeoutMs);
    const finish = (status) => {
      clearTimeout(timer);
      if (pending) take(pending);
      resolve({ file, status, seconds: (Date.now() - t0) / 1000, markdown: lines.join('\n').trim(), goals });
    };
    child.on('error', (e) => finish(String(e.message)));
    child.on('exit', (code, signal) => finish(code === 0 ? 0 : (code ?? signal)));
  });
}

const results = [];
for (const file of benches) {
  console.log(`\n=== ${file} ===\n`);
  const r = await runBench(file);
  if (r.status !== 0) console.error(`${file} failed (exit ${r.status})`);
  results.push(r);
}

const cell = (v) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const rowKey = (g) => {
  const m = /^(\d+)/.exec(String(g.row ?? ''));
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
};
const goals = results.flatMap((r) => r.goals).map((g, i) => ({ g, i }))
  .sort((a, b) => rowKey(a.g) - rowKey(b.g) || a.i - b.i)
  .map(({ g }) => g);
const failed = results.filter((r) => r.status !== 0);
// Sections in the issue's row order: a benchmark's row is its first goal's, else the "row N" its
// first table names; the rest follow in file order.
const sectionRow = (r) => {
  const fromGoal = Math.min(...r.goals.map(rowKey));
  if (fromGoal !== Number.MAX_SAFE_INTEGER && Number.isFinite(fromGoal)) return fromGoal;
  const m = /\brow (\d+)/i.exec(r.markdown);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
};
const sections = results.map((r, i) => ({ r, i, row: sectionRow(r) })).sort((a, b) => a.row - b.row || a.i - b.i).map(({ r }) => r);
const loadAtEnd = os.loadavg().map((l) => l.toFixed(2)).join(' / ');
const totalSeconds = (Date.now() - started.getTime()) / 1000;

const doc = [
  '# Benchmarks',
  '',
  `Generated by \`npm run bench\`${filters.length ? ` (filtered: ${filters.join(', ')})` : ''}${quick ? ' with `BENCH_QUICK=1`' : ''} ` +
    `on ${started.toISOString().replace('T', ' ').slice(0, 16)} UTC in ${Math.round(totalSeconds)} s. ` +
    'Do not edit by hand: run `npm run bench` to regenerate it. Every number below was measured in that one run, ' +
    'on the machine described here, with each baseline measured beside the thing it is compared to.',
  '',
  '## Machine',
  '',
  '| cores | CPU | memory | Node | platform | kernel (`uname -r`) | processes at start | load average at start (1/5/15 min) | at end |',
  '| ---: | --- | ---: | --- | --- | --- | ---: | --- | --- |',
  `| ${[machine.cores, machine.cpu, machine.memory, machine.node, machine.platform, machine.kernel, machine.processes, machine.load, loadAtEnd].map(cell).join(' | ')} |`,
  '',
  'Other work may have been running on the machine at the same time (see the load average): compare a number with its baseline or peer from this same run, not with another run\'s.',
  '',
  '## Goals',
  '',
  'One line per goal of the issue, as each benchmark judged it (its `BENCH-GOAL` lines); rows without a stated goal summarise what was measured. ' +
    'In the tables below, a cell "a (b–c)" is the median (min–max) over the trials, and a ratio "n×" divides medians from this run.',
  '',
  ...(goals.length
    ? [
      '| row | goal | measured | met |',
      '| --- | --- | --- | :---: |',
      ...goals.map((g) => `| ${cell(g.row ?? '')} | ${cell(g.goal ?? '')} | ${cell(g.measured ?? '')} | ${g.met === null || g.met === undefined ? '— (no goal stated)' : g.met ? 'yes' : '**no**'} |`),
    ]
    : ['_No benchmark reported a goal._']),
  '',
  ...(failed.length ? [`**Failed benchmarks:** ${failed.map((r) => `\`${r.file}\` (exit ${r.status})`).join(', ')} — their tables below may be incomplete.`, ''] : []),
  '## Results',
  '',
  ...sections.flatMap((r) => [
    `### ${r.file.replace(/\.bench\.js$/, '')}`,
    '',
    `_\`bench/${r.file.replace(/\.js$/, '.ts')}\`, ${r.seconds.toFixed(0)} s${r.status !== 0 ? `, **failed (exit ${r.status})**` : ''}._`,
    '',
    r.markdown || '_(no output)_',
    '',
  ]),
].join('\n');

const partial = quick || filters.length > 0;
const out = partial ? join('docs', 'benchmarks.partial.md') : join('docs', 'benchmarks.md');
mkdirSync('docs', { recursive: true });
writeFileSync(out, doc + '\n');
console.log(`\nwrote ${out}${partial ? ' (a partial or quick run never overwrites docs/benchmarks.md)' : ''}; ${goals.filter((g) => g.met === true).length}/${goals.filter((g) => typeof g.met === 'boolean').length} goals met; ${failed.length} benchmark(s) failed; ${Math.round(totalSeconds)} s`);
process.exit(failed.length ? 1 : 0);
