// `npm test`: typecheck, lint, build, then every suite that can run on this machine.
//   --only unit        unit + process tests only (no typecheck/lint/build of the VSIX flow)
//   --skip-e2e         leave out the code-server end-to-end stories
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const results = [];
const totals = { pass: 0, fail: 0, skipped: 0 };
const skippedSuites = [];
const TAP = join('out', 'node-test.tap');

/** Runs one step with live output; a failing step ends the run. Returns what it printed. */
async function step(name, cmd, cmdArgs, opts = {}) {
  const started = Date.now();
  console.log(`\n=== ${name}: ${cmd} ${cmdArgs.join(' ')}`);
  let out = '';
  const code = await new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, { stdio: ['inherit', 'pipe', 'inherit'], ...opts });
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      out += chunk.toString();
      if (out.length > 4_000_000) out = out.slice(-1_000_000);
    });
    child.on('error', (e) => {
      console.error(`${name}: ${e.message}`);
      resolve(127);
    });
    child.on('close', (c, sig) => resolve(c ?? sig));
  });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  // A suite that could not run here (scripts/e2e-install.mjs skipOrFail) exits 0 but ran nothing.
  const skipped = code === 0 ? /^.+ SKIPPED: (.*)$/m.exec(out)?.[1] : undefined;
  results.push({ name, ok: code === 0, skipped, secs });
  if (skipped) skippedSuites.push(name);
  suiteCounts(out);
  if (code !== 0) {
    summary();
    console.error(`\n${name} failed (exit ${code}).`);
    process.exit(1);
  }
  return out;
}

/** Adds a suite's own closing line ("integration: 6 passed, 0 failed, 0 skipped") to the totals. */
function suiteCounts(text) {
  const m = [...text.matchAll(/^(integration|e2e): (\d+) passed, (\d+) failed, (\d+) skipped$/gm)].pop();
  if (!m) return;
  totals.pass += Number(m[2]);
  totals.fail += Number(m[3]);
  totals.skipped += Number(m[4]);
}

function summary() {
  console.log('\n=== summary');
  for (const r of results) {
    const mark = !r.ok ? 'FAIL' : r.skipped ? 'SKIP' : 'ok  ';
    console.log(`${mark} ${r.name.padEnd(36)} ${r.secs}s${r.skipped ? `  skipped: ${r.skipped}` : ''}`);
  }
  const unit = tapCounts(TAP);
  const pass = totals.pass + unit.pass;
  const fail = totals.fail + unit.fail;
  const suites = skippedSuites.length ? ` (whole suites skipped: ${skippedSuites.join(', ')})` : '';
  console.log(`\n${pass} passed, ${fail} failed, ${totals.skipped + unit.skipped} skipped${suites}`);
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
  await step('typecheck', npx, ['tsc', '--noEmit', '-p', '.']);
  await step('lint', npx, ['eslint', '.']);
}
await step('build', process.execPath, ['scripts/build.mjs']);
await step('compile tests', process.execPath, ['scripts/compile-tests.mjs']);
const files = testFiles('out/test', [join('out', 'test', 'integration'), join('out', 'test', 'e2e')]);
await step('unit + process tests', process.execPath, [
  '--test', '--test-timeout=120000',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${TAP}`,
  ...files,
]);


if (!only && existsSync('scripts/integration.mjs')) {
  await step('integration (real extension host)', process.execPath, ['scripts/integration.mjs']);
}
if (!only && !args.includes('--skip-e2e') && existsSync('scripts/e2e.mjs')) {
  await step('e2e (code-server + chromium)', process.execPath, ['scripts/e2e.mjs']);
}
summary();
