// `npm test`: typecheck, lint, build, then every suite that can run on this machine.
//   --only unit        unit + process tests only (no typecheck/lint/build of the VSIX flow)
//   --skip-e2e         leave out the code-server end-to-end stories
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const results = [];

function step(name, cmd, cmdArgs, opts = {}) {
  const started = Date.now();
  console.log(`\n=== ${name}: ${cmd} ${cmdArgs.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', ...opts });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  results.push({ name, ok: r.status === 0, secs });
  if (r.status !== 0) {
    summary();
    console.error(`\n${name} failed (exit ${r.status ?? r.signal}).`);
    process.exit(1);
  }
}

function summary() {
  console.log('\n=== summary');
  for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(24)} ${r.secs}s`);
}

/** Totals from the TAP summary lines node --test writes at the end. */
function tapCounts(file) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const num = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { pass: num('pass'), fail: num('fail'), skipped: num('skipped') + num('todo') };
}

function testFiles(dir, exclude) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (exclude.some((x) => p.includes(x))) continue;
    if (statSync(p).isDirectory()) out.push(...testFiles(p, exclude));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

if (only !== 'unit') {
  step('typecheck', npx, ['tsc', '--noEmit', '-p', '.']);
  step('lint', npx, ['eslint', '.']);
}
step('build', process.execPath, ['scripts/build.mjs']);
step('compile tests', process.execPath, ['scripts/compile-tests.mjs']);
const files = testFiles('out/test', [join('out', 'test', 'integration'), join('out', 'test', 'e2e')]);
const tap = join('out', 'node-test.tap');
step('unit + process tests', process.execPath, [
  '--test', '--test-timeout=120000',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`,
  ...files,
]);
const counts = tapCounts(tap);

if (!only && existsSync('scripts/integration.mjs')) {
  step('integration (real extension host)', process.execPath, ['scripts/integration.mjs']);
}
if (!only && !args.includes('--skip-e2e') && existsSync('scripts/e2e.mjs')) {
  step('e2e (code-server + chromium)', process.execPath, ['scripts/e2e.mjs']);
}
summary();
console.log(`\n${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped`);
