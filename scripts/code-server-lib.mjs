// Shared by the real-VS-Code runners (code-server-vscode.mjs, e2e.mjs): start code-server in its own
// session, stop its whole process group, launch headless Debian chromium, clean up on every exit path.
// Plain .mjs on purpose: these run before anything is built. Facts behind each choice: shared/E2E.md.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM_PATH, toolPaths } from './e2e-install.mjs';

// ---------- /proc ----------

/**
 * {pid, ppid, pgrp, state, startTime} from /proc/PID/stat, or undefined when gone. (This file runs
 * unbuilt, so it cannot use src/core/procfs.ts's parser: this is the one copy outside src/.)
 */
export function procStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' '); // comm may contain spaces and ')'
  return { pid, state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]), startTime: Number(rest[22 - 3]) };
}

export function procCmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function allPids() {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Live (non-zombie) members of process group `pgid`. */
export function groupMembers(pgid) {
  return allPids().filter((pid) => {
    const st = procStat(pid);
    return st && st.pgrp === pgid && st.state !== 'Z';
  });
}

/** Live children of `ppid`. */
export function childrenOf(ppid) {
  return allPids().filter((pid) => {
    const st = procStat(pid);
    return st && st.ppid === ppid && st.state !== 'Z';
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws `what` after `timeoutMs`. */
export async function waitFor(what, fn, { timeoutMs = 30_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// ---------- cleanup on every exit path ----------

const cleanups = [];
let exiting = false;

/** Registers a synchronous cleanup run at exit, on SIGINT/SIGTERM/SIGHUP and on uncaught errors. */
export function onCleanup(fn) {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export function runCleanups() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      fn();
    } catch (err) {
      console.error(`cleanup failed: ${err?.message ?? err}`);
    }
  }
}

process.on('exit', runCleanups);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (exiting) return;
    exiting = true;
    console.error(`\nreceived ${sig}: stopping code-server and chromium`);
    runCleanups();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

/**
 * SIGKILLs every member of group `pgid` until none is left (synchronous: usable from exit handlers).
 * Members are re-read each round: a process forked meanwhile joins the group and is killed too.
 */
export function killGroupNow(pgid, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (groupMembers(pgid).length > 0) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* ESRCH: already empty */
    }
    if (Date.now() > deadline) return groupMembers(pgid);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  return [];
}

/** SIGTERM the group, a short grace, then SIGKILL until empty. Resolves with survivors (normally []). */
export async function stopGroup(pgid, graceMs = 1000) {
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    return [];
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && groupMembers(pgid).length > 0) await sleep(50);
  return killGroupNow(pgid);
}

// ---------- code-server ----------

/** Scratch XDG_* / TMPDIR so neither code-server nor chromium writes into $HOME; PORT unset. */
export function scratchEnv(scratch, extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.PORT; // an exported PORT overrides --bind-addr's port
  env.EXTENSIONS_GALLERY = '{}'; // no marketplace: loopback only, and no lookups to time out
  for (const k of ['XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_RUNTIME_DIR']) {
    env[k] = join(scratch, k.toLowerCase());
    mkdirSync(env[k], { recursive: true, mode: 0o700 });
  }
  env.TMPDIR = join(scratch, 'tmp');
  mkdirSync(env.TMPDIR, { recursive: true });
  return env;
}

/** Writes user settings for a fresh user-data-dir (startup editor off: the welcome page swallows F1). */
export function writeUserSettings(userDataDir, extra = {}) {
  const dir = join(userDataDir, 'User');
  mkdirSync(dir, { recursive: true });
  const settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'security.workspace.trust.enabled': false,
    'chat.commandCenter.enabled': false,
    'window.commandCenter': false,
    ...extra,
  };
  writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
}

const BASE_ARGS = ['--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust'];

/**
 * Runs code-server once, synchronously-style, for a CLI task such as --install-extension.
 * Resolves with its output; rejects on non-zero exit or after `timeoutMs`.
 */
export function codeServerCli(args, { env, timeoutMs = 60_000 }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [toolPaths().codeServer, ...args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const undo = onCleanup(() => killGroupNow(child.pid));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      killGroupNow(child.pid);
      reject(new Error(`code-server ${args.join(' ')} took longer than ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      killGroupNow(child.pid);
      undo();
      if (code === 0) resolve(out);
      else reject(new Error(`code-server ${args.join(' ')} exited ${code}:\n${out}`));
    });
  });
}

/**
 * Starts code-server on 127.0.0.1 (a free port picked by the kernel) in its own session.
 * Resolves once GET /healthz answers. `stop()` ends its whole process group (the server, its
 * file watcher, every extension host) — SIGTERM alone leaves the watcher ~8 s and closed
 * windows' hosts for hours.
 */
export async function startCodeServer({ userDataDir, extensionsDir, workspace, env, logFile, timeoutMs = 60_000 }) {
  mkdirSync(userDataDir, { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  const args = [toolPaths().codeServer, ...BASE_ARGS, '--bind-addr', '127.0.0.1:0', '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  if (workspace) args.push(workspace);
  // detached: libuv calls setsid() in the child before exec, so the pid *is* the session and group id
  // (checked below against /proc, rather than trusted).
  const child = spawn(process.execPath, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pgid = child.pid;
  if (!pgid) throw new Error('could not spawn code-server');
  const undo = onCleanup(() => killGroupNow(pgid));
  const log = createWriteStream(logFile);
  let output = '';
  const onData = (d) => {
    log.write(d);
    if (output.length < 200_000) output += d;
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited;
  child.on('exit', (code, signal) => (exited = `code-server exited early (${code ?? signal}); log: ${logFile}\n${output.slice(-3000)}`));

  const stop = async () => {
    undo();
    const survivors = await stopGroup(pgid);
    log.end();
    if (survivors.length) throw new Error(`code-server group ${pgid} still has members after SIGKILL: ${survivors.join(' ')}`);
  };
  try {
    const st = procStat(pgid);
    if (st && st.pgrp !== pgid) throw new Error(`code-server ${pgid} is not its own group leader (pgrp ${st.pgrp})`);
    const port = await waitFor(
      `code-server to listen (log: ${logFile})`,
      () => {
        if (exited) throw new Error(exited);
        const m = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        return m && Number(m[1]);
      },
      { timeoutMs },
    );
    const url = `http://127.0.0.1:${port}`;
    await waitFor(`${url}/healthz`, async () => {
      if (exited) throw new Error(exited);
      try {
        return (await fetch(`${url}/healthz`)).ok;
      } catch {
        return false;
      }
    }, { timeoutMs });
    return { url, port, pgid, logFile, stop, output: () => output };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** Extension host processes (`--type=extensionHost`) in code-server's group. */
export function extensionHostPids(pgid) {
  return groupMembers(pgid).filter((pid) => procCmdline(pid).includes('--type=extensionHost'));
}

// ---------- owner markers: what the extension's processes carry ----------

const OWNER_ENV = 'GATEWAY_WARDEN_OWNER'; // src/core/ownerMarker.ts (this file runs unbuilt)

/** The marker value a host's processes carry: its fingerprint "pid:startTime:bootId". */
export function hostMarker(pid) {
  const stat = procStat(pid);
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return stat ? `${pid}:${stat.startTime}:${bootId}` : undefined;
  } catch {
    return undefined;
  }
}

/** Records the markers of every extension host seen in group `pgid` (hosts come and go). */
export function watchHostMarkers(pgid, markers = new Set(), intervalMs = 500) {
  const look = () => {
    for (const pid of extensionHostPids(pgid)) {
      const m = hostMarker(pid);
      if (m) markers.add(m);
    }
  };
  look();
  const timer = setInterval(look, intervalMs);
  timer.unref();
  return { markers, look, stop: () => clearInterval(timer) };
}

function ownerOf(pid) {
  try {
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith(`${OWNER_ENV}=`));
    return entry?.slice(OWNER_ENV.length + 1);
  } catch {
    return undefined;
  }
}

/** Live processes whose owner marker is one of `markers`. */
export function ownedByAny(markers) {
  return allPids().filter((pid) => {
    const st = procStat(pid);
    const owner = st && st.state !== 'Z' ? ownerOf(pid) : undefined;
    return owner !== undefined && markers.has(owner);
  });
}

/**
 * Leak sweep after a run: waits up to `graceMs` for every process marked by one of `markers` to
 * exit, SIGKILLs the rest and returns their descriptions (empty when nothing was left behind).
 */
export async function sweepOwned(markers, graceMs) {
  const deadline = Date.now() + graceMs;
  while (ownedByAny(markers).length && Date.now() < deadline) await sleep(50);
  const left = ownedByAny(markers).map((pid) => ({ pid, cmd: procCmdline(pid).join(' ').slice(0, 120) }));
  for (const { pid } of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return left.map((p) => `${p.pid} ${p.cmd}`);
}

// ---------- chromium ----------

export const CHROMIUM_ARGS = [
  '--no-sandbox', // root
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', // the page talks to loopback only
];

/**
 * Launches headless Debian chromium with a fresh profile. Chromium forks zygotes into other groups,
 * so cleanup closes the browser through playwright and then SIGKILLs whatever remains of its tree.
 */
export async function launchChromium(playwright, { scratch, env }) {
  const profile = join(scratch, 'chromium-profile');
  mkdirSync(profile, { recursive: true });
  const context = await playwright.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    env,
    viewport: { width: 1400, height: 900 },
    timeout: 60_000,
  });
  const browserPid = findChromiumPid(profile);
  const killTree = () => {
    if (!browserPid) return;
    for (const pid of [...descendants(browserPid), browserPid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  const undo = onCleanup(killTree);
  const close = async () => {
    undo();
    await Promise.race([context.close().catch(() => undefined), sleep(10_000)]);
    killTree();
  };
  return { context, close };
}

/** The chromium browser process started with `--user-data-dir=profile` (ours, not someone else's). */
function findChromiumPid(profile) {
  return allPids().find((pid) => {
    const cmd = procCmdline(pid);
    return cmd[0]?.includes('chromium') && cmd.includes(`--user-data-dir=${profile}`) && !cmd.some((a) => a.startsWith('--type='));
  });
}

function descendants(root) {
  const out = [];
  const queue = [root];
  while (queue.length) {
    const kids = childrenOf(queue.shift());
    out.push(...kids);
    queue.push(...kids);
  }
  return out;
}
