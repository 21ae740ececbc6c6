// Issue row 7: what the extension costs VS Code to load, and what it costs to download.
//  - load time of dist/extension.js: a fresh `node` that requires the bundle (a stub `vscode`
//    module found through NODE_PATH, as VS Code provides the real one) and prints one line,
//    timed from spawn to that line, against the same `node` printing the line without the
//    require; plus the require alone, timed inside the process. Both the development bundle
//    (`npm run build`) and the production bundle inside the VSIX (`npm run package`).
//  - the VSIX: size and file count, packaged fresh by `npm run package` into a temp folder.
// Packaging rebuilds dist/ for production (vscode:prepublish); the development build is
// restored at the end, whatever happens. Run: npm run bench -- extension
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { exited, firstLine, spawnDetached } from './gatewayDirect';
import { goal, ms, ratio, runBench, spread, stats, Stats, table, trials } from './support';
import { zipExtract } from '../test/support/zipEntries';

const TRIALS = Number(process.env.BENCH_TRIALS ?? trials(20));
const root = path.resolve(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-ext-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// Only the bundle's top level runs on require (activate() is VS Code's call): a stub whose every
// member is an empty class is enough, and costs nothing measurable.
const STUB = "module.exports = new Proxy({}, { get: (_t, p) => (p === '__esModule' ? undefined : class {}) });\n";
fs.mkdirSync(path.join(tmp, 'stub', 'node_modules', 'vscode'), { recursive: true });
fs.writeFileSync(path.join(tmp, 'stub', 'node_modules', 'vscode', 'index.js'), STUB);
const NODE_PATH = path.join(tmp, 'stub', 'node_modules');

/** Source of the child: optionally require `bundle`, then print how long the require took. */
function loaderSource(bundle?: string): string {
  if (!bundle) return "process.stdout.write(JSON.stringify({ requireMs: 0 }) + '\\n');";
  return `const { performance } = require('perf_hooks');
const t0 = performance.now();
const m = require(${JSON.stringify(bundle)});
const requireMs = performance.now() - t0;
if (typeof m.activate !== 'function' || typeof m.deactivate !== 'function') throw new Error('no activate/deactivate export');
process.stdout.write(JSON.stringify({ requireMs }) + '\\n');`;
}

async function loadOnce(bundle?: string): Promise<{ spawnToLoaded: number; requireMs: number }> {
  const t0 = performance.now();
  const child = spawnDetached(['-e', loaderSource(bundle)], { NODE_PATH });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const first = await firstLine(child).catch((e: Error) => {
    throw new Error(`${e.message}; stderr: ${err.slice(-2000)}`);
  });
  await exited(child);
  return { spawnToLoaded: first.at - t0, requireMs: (JSON.parse(first.line) as { requireMs: number }).requireMs };
}

interface LoadStats { spawn: Stats; require: Stats }

async function measureLoads(bundles: { name: string; file?: string }[]): Promise<Map<string, LoadStats>> {
  const samples = new Map(bundles.map((b) => [b.name, { spawn: [] as number[], require: [] as number[] }]));
  for (const b of bundles) await loadOnce(b.file); // warm-up: disk caches
  for (let i = 0; i < TRIALS; i++) {
    for (const b of bundles) {
      const r = await loadOnce(b.file);
      samples.get(b.name)!.spawn.push(r.spawnToLoaded);
      samples.get(b.name)!.require.push(r.requireMs);
    }
  }
  return new Map([...samples].map(([k, v]) => [k, { spawn: stats(v.spawn), require: stats(v.require) }]));
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).slice(-2000)}`);
  return r.stdout;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  const devBundle = path.join(root, 'dist', 'extension.js');
  const vsix = path.join(tmp, 'gateway-warden.vsix');
  try {
    const dev = await measureLoads([{ name: 'bare' }, { name: 'dev', file: devBundle }]);
    const devSize = fs.statSync(devBundle).size;

    const t0 = performance.now();
    run('npm', ['run', '--silent', 'package', '--', '--out', vsix]);
    const packSeconds = (performance.now() - t0) / 1000;
    const unpacked = path.join(tmp, 'vsix');
    const files = zipExtract(vsix, unpacked).map((e) => e.name).filter((f) => !f.endsWith('/'));
    const prodBundle = path.join(unpacked, 'extension', 'dist', 'extension.js');
    const prod = await measureLoads([{ name: 'bare' }, { name: 'prod', file: prodBundle }]);

    const row = (name: string, size: number, s: LoadStats, bare: Stats) =>
      [name, kb(size), s.spawn.n, spread(s.spawn), ratio(s.spawn.median, bare.median), ms(s.spawn.median - bare.median), spread(s.require)];
    const devRow = dev.get('dev')!;
    const prodRow = prod.get('prod')!;
    table(
      `row 7: extension bundle load, ${TRIALS} trials each (interleaved with the baseline), ms`,
      ['bundle', 'size', 'trials', 'spawn → loaded, median (min–max)', '÷ bare node', 'median − bare node', 'require() alone, median (min–max)'],
      [
        ['baseline: bare `node -e` → first line (beside the dev bundle)', '—', dev.get('bare')!.spawn.n, spread(dev.get('bare')!.spawn), '1.00×', '0.00', '—'],
        row('dist/extension.js (development build, `npm run build`)', devSize, devRow, dev.get('bare')!.spawn),
        ['baseline: bare `node -e` → first line (beside the production bundle)', '—', prod.get('bare')!.spawn.n, spread(prod.get('bare')!.spawn), '1.00×', '0.00', '—'],
        row('**extension/dist/extension.js from the VSIX** (production, minified)', fs.statSync(prodBundle).size, prodRow, prod.get('bare')!.spawn),
      ],
    );
    console.log('_The require runs the bundle\'s top level only (with a stub `vscode`); activate() — starting the gateway — is not part of it._\n');

    const vsixSize = fs.statSync(vsix).size;
    const sizes = files.filter((f) => f.startsWith('extension/dist/')).map((f) => `${path.basename(f)} ${kb(fs.statSync(path.join(unpacked, f)).size)}`);
    table(
      'row 7: VSIX (`npm run package`, packaged fresh in this run)',
      ['what', 'value'],
      [
        ['VSIX size', `${kb(vsixSize)} (${vsixSize} bytes)`],
        ['files in the VSIX', String(files.length)],
        ['bundles (unpacked)', sizes.join(', ')],
        ['packaging time (production build + vsce)', `${packSeconds.toFixed(1)} s`],
      ],
    );
    console.log(`_Files: ${files.join(', ')}._\n`);
    goal({ row: '7', goal: 'extension bundle load time (no number stated)', measured: `production bundle: require ${ms(prodRow.require.median)} ms; spawn → loaded ${ms(prodRow.spawn.median)} ms vs bare node ${ms(prod.get('bare')!.spawn.median)} ms (${ratio(prodRow.spawn.median, prod.get('bare')!.spawn.median)})`, met: null });
    goal({ row: '7', goal: 'VSIX size (no number stated)', measured: `${kb(vsixSize)}, ${files.length} files`, met: null });
  } finally {
    // vscode:prepublish left a production dist/: put back the development build the other
    // benchmarks (and the tests) expect.
    const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) console.error(`restoring the development build failed: ${r.stderr}`);
  }
}

runBench(main);
