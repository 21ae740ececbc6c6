#!/usr/bin/env node
// Installs the real-VS-Code test tools (code-server + playwright-core) into .e2e/tools/, a
// git-ignored folder with its own package.json, so they never reach the extension's lockfile or VSIX.
// Idempotent: a stamp records what was installed; a second run costs a few stat() calls.
//
// Usage as a module: `const tools = await ensureE2eTools()` → paths, or throws E2ePrerequisiteError.
// Usage as a script: `node scripts/e2e-install.mjs` (exit 1 with a clear message when it cannot).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3'; // newest whose engines.node accepts Node 20 (E2E.md)
export const PLAYWRIGHT_CORE_VERSION = '1.52.0';
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const RG_PATH = '/usr/bin/rg';
// @vscode/ripgrep (pulled in by code-server) looks for its download in this cache first.
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
// Only the x86_64 asset name is verified; other architectures get a clear error.
const RIPGREP_ASSET = { x64: 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz' };

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const E2E_DIR = join(root, '.e2e');
export const TOOLS_DIR = join(E2E_DIR, 'tools');
const STAMP = join(TOOLS_DIR, '.installed.json');

export class E2ePrerequisiteError extends Error {}

/** Debian packages the install and the runs need, with the file that proves each is there. */
const APT_CHECKS = [
  { pkg: 'chromium', file: CHROMIUM_PATH },
  { pkg: 'ripgrep', file: RG_PATH },
  { pkg: 'build-essential', file: '/usr/bin/g++' },
  { pkg: 'build-essential', file: '/usr/bin/make' },
  { pkg: 'pkg-config', file: '/usr/bin/pkg-config' },
  { pkg: 'libkrb5-dev', file: '/usr/include/krb5.h' },
];

/** Names of the apt packages whose files are missing (empty when all are present). */
export function missingAptPackages({ forInstall = true } = {}) {
  const checks = forInstall ? APT_CHECKS : APT_CHECKS.filter((c) => c.pkg === 'chromium');
  const missing = new Set();
  for (const c of checks) if (!existsSync(c.file)) missing.add(c.pkg);
  if (forInstall && !hasPython3()) missing.add('python3');
  return [...missing];
}

function hasPython3() {
  return spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;
}

function wanted() {
  return { codeServer: CODE_SERVER_VERSION, playwrightCore: PLAYWRIGHT_CORE_VERSION, node: process.versions.node.split('.')[0] };
}

export function toolPaths() {
  return {
    codeServer: join(TOOLS_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
    playwrightCore: join(TOOLS_DIR, 'node_modules', 'playwright-core', 'index.js'),
    chromium: CHROMIUM_PATH,
  };
}

function isInstalled() {
  if (!existsSync(STAMP)) return false;
  try {
    const stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
    const paths = toolPaths();
    return JSON.stringify(stamp) === JSON.stringify(wanted()) && existsSync(paths.codeServer) && existsSync(paths.playwrightCore);
  } catch {
    return false;
  }
}

/** Loads playwright-core from .e2e/tools (it is not one of the extension's dependencies). */
export async function importPlaywright() {
  const mod = await import(pathToFileURL(toolPaths().playwrightCore).href);
  return mod.default ?? mod;
}

/**
 * Makes sure code-server and playwright-core are installed and chromium is present.
 * Throws E2ePrerequisiteError naming the missing apt packages, or the failing npm step.
 */
export async function ensureE2eTools({ log = (m) => console.log(m) } = {}) {
  if (process.platform !== 'linux') throw new E2ePrerequisiteError(`code-server e2e runs on Linux only (this is ${process.platform})`);
  if (isInstalled()) {
    const missing = missingAptPackages({ forInstall: false });
    if (missing.length) throw new E2ePrerequisiteError(aptMessage(missing));
    return toolPaths();
  }
  const missing = missingAptPackages();
  if (missing.length) throw new E2ePrerequisiteError(aptMessage(missing));
  const asset = RIPGREP_ASSET[process.arch];
  if (!asset) throw new E2ePrerequisiteError(`no ripgrep cache recipe for architecture ${process.arch}`);

  const started = Date.now();
  log(`e2e-install: installing code-server@${CODE_SERVER_VERSION} and playwright-core@${PLAYWRIGHT_CORE_VERSION} into ${TOOLS_DIR} …`);
  mkdirSync(TOOLS_DIR, { recursive: true });
  rmSync(STAMP, { force: true });
  writeFileSync(
    join(TOOLS_DIR, 'package.json'),
    JSON.stringify(
      {
        name: 'gateway-warden-e2e-tools',
        private: true,
        description: 'Real-VS-Code test tools; installed by scripts/e2e-install.mjs, never shipped.',
        dependencies: { 'code-server': CODE_SERVER_VERSION, 'playwright-core': PLAYWRIGHT_CORE_VERSION },
      },
      null,
      2,
    ) + '\n',
  );

  // Trap 1: @vscode/ripgrep's postinstall downloads rg from GitHub (unreachable) and a failure rolls
  // back the whole install; it looks in os.tmpdir()/<cache> first, so we seed that with Debian's rg.
  const tmp = join(E2E_DIR, 'tmp');
  const cache = join(tmp, RIPGREP_CACHE);
  mkdirSync(cache, { recursive: true });
  const tar = spawnSync('tar', ['czf', join(cache, asset), '-C', dirname(RG_PATH), 'rg'], { stdio: 'inherit' });
  if (tar.status !== 0) throw new E2ePrerequisiteError(`could not build the ripgrep cache tarball in ${cache}`);

  const env = {
    ...process.env,
    TMPDIR: tmp, // must be the same dir the cache is in
    npm_config_yes: 'true', // Trap 2: node-pty's postinstall runs `npx node-gyp`
    npm_config_nodedir: '/usr', // …and node-gyp must use the installed headers, not download them
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const args = ['install', '--no-package-lock', '--no-save', '--loglevel=error'];
  if (process.getuid?.() === 0) args.push('--unsafe-perm'); // Trap 3: native postinstalls as root
  const r = spawnSync(npm, args, { cwd: TOOLS_DIR, env, stdio: 'inherit' });
  if (r.status !== 0) throw new E2ePrerequisiteError(`npm install in ${TOOLS_DIR} failed (exit ${r.status ?? r.signal})`);
  const paths = toolPaths();
  for (const p of [paths.codeServer, paths.playwrightCore]) {
    if (!existsSync(p)) throw new E2ePrerequisiteError(`npm install finished but ${p} is missing`);
  }
  writeFileSync(STAMP, JSON.stringify(wanted()) + '\n');
  log(`e2e-install: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return paths;
}

/**
 * A suite whose prerequisites are missing: SKIPPED (exit 0) with the reason on a developer's machine,
 * FAILED under CI=true, where .ci/run installs scripts/apt-packages.txt and a skip would hide a gap.
 */
export function skipOrFail(suite, why) {
  if (process.env.CI === 'true') {
    console.error(`${suite} FAILED: ${why}\n(CI=true: prerequisites must be installed; see scripts/apt-packages.txt)`);
    process.exit(1);
  }
  console.log(`${suite} SKIPPED: ${why}`);
  process.exit(0);
}

function aptMessage(missing) {
  return (
    `missing Debian packages: ${missing.join(' ')}\n` +
    `  install them with: apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}\n` +
    `  (the full list is scripts/apt-packages.txt, which .ci/run installs)`
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const paths = await ensureE2eTools();
    console.log(`e2e tools ready:\n  code-server  ${paths.codeServer}\n  playwright   ${paths.playwrightCore}\n  chromium     ${paths.chromium}`);
  } catch (err) {
    console.error(`e2e-install: ${err instanceof E2ePrerequisiteError ? err.message : err?.stack ?? err}`);
    process.exit(1);
  }
}
