// Entry point of dist/gateway.js. First, before anything slow: who is our parent and owner, and
// arm the lifeline (stdin EOF, fingerprint poll, blocked-loop guard). Then the JSON-RPC
// connection on stdin/stdout, the optional attach endpoint, and the gateway.ready event.
import * as path from 'node:path';
import { formatFingerprint, readFingerprint, selfFingerprint } from '../core/fingerprint';
import { ownProcessGroup } from '../core/kill';
import { armLifeline } from '../core/lifeline';
import { OWNER_ENV } from '../core/ownerMarker';
import { JsonRpcConnection } from '../core/rpc';
import { shutdownBoundMs } from '../core/timeouts';
import { startAttachServer } from './attachServer';
import { ShutdownReason } from './backends/backend';
import { USAGE } from './backends/backendOptions';
import { Containment } from './cgroupContainment';
import { Gateway } from './gateway';
import { parseGatewayArgs } from './options';
import { EXIT_NO_SELF_FINGERPRINT, SELF_FINGERPRINT_WAIT_MS, waitForSelfFingerprint } from './startupFingerprint';
import { HOST_CLIENT } from './sessions';

// Once the host is gone, stderr may be a broken pipe: logging must never become an error.
let stderrOk = true;
process.stderr.on('error', () => (stderrOk = false));
process.stdout.on('error', () => undefined); // the stdio connection notices and shuts down
const log = (m: string) => {
  if (!stderrOk) return;
  try {
    process.stderr.write(`gateway[${process.pid}] ${new Date().toISOString().slice(11, 23)}: ${m}\n`);
  } catch {
    stderrOk = false;
  }
};
const parsed = parseGatewayArgs(process.argv.slice(2), process.env);
if (parsed.help) {
  process.stderr.write(USAGE);
  process.exit(0);
}
const { options, warnings, backend: backendSpec } = parsed;
// Our own fingerprint names us to the host, to every worker (--parent) and in every tag; without
// it nothing can be started safely, and an unreadable one is never guessed. A descriptor table
// full at start (a leaky parent, a tight RLIMIT_NOFILE) gets a short wait, then one clear line.
const startSelf = waitForSelfFingerprint(SELF_FINGERPRINT_WAIT_MS);
if (startSelf.state !== 'alive') {
  process.stderr.write(`gateway[${process.pid}]: cannot start: cannot read this process's own fingerprint within ${SELF_FINGERPRINT_WAIT_MS} ms (${startSelf.why}); is the descriptor table full?\n`);
  process.exit(EXIT_NO_SELF_FINGERPRINT);
}
// The parent is sampled now or never: sampled later, ppid may name whoever adopted us. When it
// cannot be read, stdin EOF (and the owner, when given) still watch the host.
const parentRead = options.parent === undefined ? readFingerprint(process.ppid) : undefined;
const parent = options.parent ?? (parentRead?.state === 'alive' ? parentRead.fingerprint : undefined);
if (parentRead?.state === 'unknown') warnings.push(`cannot read the parent's fingerprint (${parentRead.why}); watching stdin and the owner only`);
// The marker every descendant inherits: the owner's, or our parent's fingerprint when absent.
if (!process.env[OWNER_ENV]) process.env[OWNER_ENV] = formatFingerprint(parent ?? selfFingerprint());
const ownerMarker = process.env[OWNER_ENV]!;
const owner = options.owner ?? (options.parent === undefined && !warnings.some((w) => w.startsWith('owner')) ? parent : undefined);

let onDeath: (reason: string) => void = (reason) => {
  log(`lifeline lost during start-up (${reason}); exiting`);
  process.exit(1);
};
armLifeline({
  parent,
  owner,
  pollMs: options.pollMs,
  stdin: true,
  blockedLoopGuard: true,
  guardMaxMs: shutdownBoundMs(Math.max(options.shutdownGraceMs, options.lifelineGraceMs)) + 2000,
  onDeath: (reason) => onDeath(reason),
  log: (m) => log(`lifeline: ${m}`),
});
// No maxRequestsInFlight for the host, unlike attach clients: only our owner holds this pipe, it
// may shut us down and kill any process anyway, and a bound could refuse its gateway.shutdown.
const stdio = new JsonRpcConnection(process.stdin, process.stdout, { maxLineBytes: options.maxLineBytes, log: (m) => log(`rpc: ${m}`) });
for (const w of warnings) log(`warning: ${w}`);
if (process.platform !== 'win32' && ownProcessGroup() !== process.pid) {
  log('warning: not a process-group leader (start me with detached: true); group teardown covers only my descendants');
}

// Our cgroup tree (Linux, where we may create children; GATEWAY_WARDEN_CGROUPS=off forces the
// process-group guards alone): before any child is started, so every one is born inside it.
const containment = Containment.setUp(process.env, log);
process.on('exit', () => containment.remove()); // every exit path; after the final sweep a no-op
log(containment.kind === 'cgroup' ? `containment: cgroup ${containment.tree!.path}` : `containment: process groups (${containment.reason})`);
const gw = new Gateway(options, ownerMarker, owner, options.workerPath ?? path.join(__dirname, 'worker.js'), log, backendSpec, containment);

let exiting = false;
function exitProcess(code: number): void {
  if (exiting) return;
  exiting = true;
  const done = () => process.exit(code);
  setTimeout(done, 500).unref();
  process.stdout.write('', done);
}

async function shutdownAndExit(reason: ShutdownReason, why: string, graceMs = options.shutdownGraceMs, code = 0): Promise<void> {
  // A hard bound even if closing hangs: sweep synchronously and leave.
  const hard = setTimeout(() => {
    log('shutdown exceeded its bound; final sweep');
    gw.finalSweep();
    exitProcess(code || 1);
  }, shutdownBoundMs(Math.max(graceMs, options.lifelineGraceMs)) + 1000);
  await gw.shutdown(reason, why, graceMs);
  clearTimeout(hard);
  exitProcess(code);
}
gw.requestExit = () => setImmediate(() => exitProcess(0));

// Only these two mean the host is gone; everything else that ends us is a shutdown.
onDeath = (why) => void shutdownAndExit('lifeline', `lifeline: ${why}`);
stdio.onClose((why) => void shutdownAndExit('lifeline', `stdio closed: ${why}`));
// The host is gone and its sweep ends our cgroup tree, us included (one cgroup.kill), or has
// proven every other member gone: no session is left to close, nobody to tell or flush to
// (stdout and stderr were the host's pipes). The gateway ends the fastest way the kernel ends a
// process, without node's own teardown (its threads, its heap), which under load took as long
// as the cgroup.kill itself.
containment.hostGoneEnd = {
  lastHooks: () => {
    for (const f of gw.onShutdown.splice(0)) {
      try {
        f();
      } catch {
        // ending anyway
      }
    }
  },
  end: () => process.kill(process.pid, 'SIGKILL'),
};
// A signal is someone asking us to stop (kill, a service manager, a terminal's ^C or hangup),
// not the host's death: the shutdown grace, exit 0, the cgroup tree removed.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void shutdownAndExit('shutdown', `received ${sig}`));
process.on('uncaughtException', (e) => log(`uncaught exception (kept running): ${e.stack ?? e.message}`));
process.on('unhandledRejection', (e) => log(`unhandled rejection (kept running): ${String(e)}`));

// Requests that arrive before gateway.ready wait for it, so the ready event is always first.
let markReady!: () => void;
const ready = new Promise<void>((r) => (markReady = r));
gw.beforeRequest = () => ready;
gw.addClient(HOST_CLIENT, stdio);

void (async () => {
  if (options.listenPort !== undefined) {
    try {
      const server = await startAttachServer(gw, options.listenPort, options.tokenFile);
      gw.attach = server.info;
      gw.attachStats = server.stats;
      gw.onShutdown.push(() => server.close());
      log(`attach endpoint on ${server.info.url} (token in ${server.info.tokenFile})`);
    } catch (e) {
      // Reported in gateway.ready and gateway.status too: an endpoint that silently is not there
      // looks the same as one that is down.
      gw.attach = { error: (e as Error).message };
      log(`warning: cannot open the attach endpoint: ${(e as Error).message}; continuing without it`);
    }
  }
  const me = selfFingerprint();
  stdio.notify('event', {
    type: 'gateway.ready',
    pid: process.pid,
    pgid: ownProcessGroup() ?? null,
    startTime: me.startTime,
    owner: ownerMarker,
    ...gw.counts(),
    ...containment.info(),
    ...(gw.attach ? { attach: gw.attach } : {}),
    ...gw.backend.statusExtras(),
  });
  markReady();
  // The backend's program (hermes, a command) starts now, in our group, with the lifeline and the
  // final teardown in place and gateway.ready out first; ready does not wait for it (backend.state says).
  void gw.backend.start().catch((e: Error) => log(`backend start failed: ${e.stack ?? e.message}`));
  log(`ready (owner ${ownerMarker}${backendSpec.name === 'embedded' ? '' : `, backend ${backendSpec.name}`})`);
})();
