#!/usr/bin/env node
// A stand-in "VS Code executable" for @vscode/test-electron's runTests({ vscodeExecutablePath }).
// Desktop VS Code cannot be downloaded here, so this starts code-server (VS Code's own server build,
// a real Node extension host), opens the workbench in headless chromium with the `payload` URL
// parameter that VS Code's browser integration tests use, relays the suite's log lines and exits
// with the suite's exit code. code-server's whole process group and chromium are gone on every path.
//
// Accepts runTests' arguments: --extensionDevelopmentPath=DIR (repeatable), --extensionTestsPath=FILE,
// --user-data-dir=DIR, --extensions-dir=DIR and a workspace folder; Electron-only flags are ignored.
// Env: GW_SUITE_TIMEOUT_MS (default 300000), GW_ARTIFACTS_DIR (screenshot + logs on failure).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureE2eTools, importPlaywright, E2ePrerequisiteError } from './e2e-install.mjs';
import {
  launchChromium, onCleanup, runCleanups, scratchEnv, startCodeServer, sweepOwned, watchHostMarkers, writeUserSettings,
} from './code-server-lib.mjs';

function parseArgs(argv) {
  const opts = { devPaths: [], testsPath: undefined, userDataDir: undefined, extensionsDir: undefined, workspace: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--extensionDevelopmentPath') opts.devPaths.push(resolve(value()));
    else if (flag === '--extensionTestsPath') opts.testsPath = resolve(value());
    else if (flag === '--user-data-dir') opts.userDataDir = resolve(value());
    else if (flag === '--extensions-dir') opts.extensionsDir = resolve(value());
    else if (!a.startsWith('-')) opts.workspace = resolve(a);
    // everything else (--no-sandbox, --disable-gpu-sandbox, --skip-welcome, …) is Electron-only
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!opts.testsPath) throw new E2ePrerequisiteError('missing --extensionTestsPath=FILE');
  if (opts.devPaths.length === 0) throw new E2ePrerequisiteError('missing --extensionDevelopmentPath=DIR');
  const timeoutMs = Number(process.env.GW_SUITE_TIMEOUT_MS ?? 300_000);
  const artifacts = resolve(process.env.GW_ARTIFACTS_DIR ?? '.test-artifacts/integration');
  mkdirSync(artifacts, { recursive: true });

  await ensureE2eTools();
  const playwright = await importPlaywright();
  const scratch = mkdtempSync(join(tmpdir(), 'gw-code-server-'));
  onCleanup(() => rmSync(scratch, { recursive: true, force: true }));
  const env = scratchEnv(scratch);
  const userDataDir = opts.userDataDir ?? join(scratch, 'user-data');
  const extensionsDir = opts.extensionsDir ?? join(scratch, 'extensions');
  writeUserSettings(userDataDir);
  const workspace = opts.workspace ?? join(scratch, 'workspace');
  mkdirSync(workspace, { recursive: true });

  const server = await startCodeServer({ userDataDir, extensionsDir, env, logFile: join(artifacts, 'code-server.log') });
  const hosts = watchHostMarkers(server.pgid);
  let browser;
  let code = 1;
  try {
    browser = await launchChromium(playwright, { scratch, env });
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
    const payload = [
      ...opts.devPaths.map((p) => ['extensionDevelopmentPath', remote(p)]),
      ['extensionTestsPath', remote(opts.testsPath)],
      ['skipWelcome', 'true'],
    ];
    let settle;
    const exit = new Promise((r) => (settle = r));
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const line = (Array.isArray(args) ? args : [args]).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
      (type === 'error' || type === 'warn' ? process.stderr : process.stdout).write(line + '\n');
    });
    await page.exposeFunction('codeAutomationExit', (code) => settle({ code: Number(code) }));
    const url = `${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    await page.goto(url, { timeout: 60_000 });
    const timer = setTimeout(() => settle({ timeout: true }), timeoutMs);
    const result = await exit;
    clearTimeout(timer);
    if (result.timeout) {
      const shot = join(artifacts, 'suite-timeout.png');
      await page.screenshot({ path: shot }).catch(() => undefined);
      console.error(`code-server-vscode: the suite did not report an exit code within ${timeoutMs} ms ` +
        `(GW_SUITE_TIMEOUT_MS). Screenshot: ${shot}; code-server log: ${server.logFile}`);
    } else {
      if (result.code !== 0) console.error(`code-server-vscode: suite exited ${result.code}; code-server log: ${server.logFile}`);
      code = result.code;
    }
  } finally {
    hosts.look();
    hosts.stop();
    if (browser) await browser.close();
    await server.stop();
  }
  // The extension's processes must not outlive the host that started them.
  const leaks = await sweepOwned(hosts.markers, 5000);
  if (leaks.length) {
    console.error(`code-server-vscode: LEAK: still running after code-server stopped (now killed):\n  ${leaks.join('\n  ')}`);
    return 1;
  }
  return code;
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`code-server-vscode: ${err instanceof E2ePrerequisiteError ? err.message : err?.stack ?? err}`);
  runCleanups();
  process.exitCode = 1;
}
