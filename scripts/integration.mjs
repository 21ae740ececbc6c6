#!/usr/bin/env node
// `npm run test:integration`: the mocha suite in test/integration/ inside a real VS Code extension host.
// VS Code is VSCODE_EXECUTABLE_PATH when set (a desktop VS Code), else code-server driven by headless
// chromium through scripts/code-server-vscode.mjs. When neither can run here the suite is SKIPPED with
// the reason, except under CI=true, where a missing prerequisite fails the run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { ensureE2eTools, E2ePrerequisiteError, E2E_DIR, skipOrFail } from './e2e-install.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'out', 'integration');
const started = Date.now();

let executable = process.env.VSCODE_EXECUTABLE_PATH;
if (!executable) {
  try {
    await ensureE2eTools();
  } catch (err) {
    if (err instanceof E2ePrerequisiteError) skipOrFail('integration suite', err.message);
    throw err;
  }
  executable = join(root, 'scripts', 'code-server-vscode.mjs');
}

// The extension itself (dist/), then one bundle per test file: vscode stays external (the host
// provides it), mocha is resolved from node_modules at run time (it does not bundle cleanly).
const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
rmSync(outDir, { recursive: true, force: true });
const entries = readdirSync(join(root, 'test', 'integration'))
  .filter((f) => f === 'index.ts' || f.endsWith('.test.ts'))
  .map((f) => join(root, 'test', 'integration', f));
await esbuild.build({
  entryPoints: entries,
  outdir: outDir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode', 'mocha'],
  sourcemap: 'inline',
  logLevel: 'warning',
});

const workspace = join(E2E_DIR, 'integration', 'workspace');
const profile = join(E2E_DIR, 'integration', 'profile');
rmSync(profile, { recursive: true, force: true });
mkdirSync(workspace, { recursive: true });
const { runTests } = createRequire(import.meta.url)('@vscode/test-electron');
try {
  await runTests({
    vscodeExecutablePath: executable,
    extensionDevelopmentPath: root,
    extensionTestsPath: join(outDir, 'index.js'),
    launchArgs: [workspace, `--user-data-dir=${join(profile, 'user-data')}`, `--extensions-dir=${join(profile, 'extensions')}`, '--disable-extensions'],
    extensionTestsEnv: { GW_ARTIFACTS_DIR: join(root, '.test-artifacts', 'integration') },
  });
  console.log(`integration suite passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  console.error(`integration suite FAILED: ${err?.message ?? err}`);
  process.exit(1);
} finally {
  rmSync(profile, { recursive: true, force: true });
}
