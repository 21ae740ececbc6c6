// A test "host": a small node process that starts `node dist/gateway.js` detached (its own
// group) with stdio pipes, like the extension does, and relays the test's stdio to it. The
// gateway's processes carry GATEWAY_WARDEN_OWNER = the host's fingerprint: unique per host, so
// pidsWithMarker(hostFp) lists exactly this test's gateway, workers and their children.
import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JsonRpcConnection } from '../../src/core/rpc';
import { describePids, pidsWithMarker } from './marker';
import { isAlive, readLineMatching, spawnNode, track, waitFor } from './processes';
import { SMALL_HEAP_FLAGS } from '../../src/core/heapFlags';
import { EMPTY_TREE_MIN_AGE_MS } from '../../src/core/cgroup/emptyTrees';
import { trackTree } from './cgroups';

export const DIST = path.resolve(__dirname, '../../../dist');
export const GATEWAY_JS = path.join(DIST, 'gateway.js');
const FINGERPRINT_JS = JSON.stringify(path.resolve(__dirname, '../../src/core/fingerprint.js'));

export interface GatewayEvent {
  type: string;
  [key: string]: unknown;
}

export interface HostedGateway {
  host: ChildProcess;
  hostFp: string;
  gatewayPid: number;
  /** With holdStdinOpen: the pid holding the gateway's stdin open. */
  holderPid?: number;
  rpc: JsonRpcConnection;
  events: GatewayEvent[];
  stderr(): string;
  waitEvent(match: (e: GatewayEvent) => boolean, what: string, timeoutMs?: number): Promise<GatewayEvent>;
  /** Pids of workers seen in worker.started events. */
  workerPids(): number[];
}

export interface HostOptions {
  args?: string[];
  env?: Record<string, string>;
  /** A `sleep` started by the host inherits the gateway's three pipes, so the host's death
   * neither closes stdin nor breaks stdout: only the fingerprint watchdog can notice. */
  holdStdinOpen?: boolean;
  /** Line limit of the test's own connection to the gateway (both ways); default core's 1 MiB. */
  rpcMaxLineBytes?: number;
  /** A command the gateway is started through, which must exec it (e.g. `prlimit --nofile=…`). */
  prefix?: string[];
  /** `--backend NAME [--cwd DIR] -- COMMAND…` after `args` (the gateway's own options). */
  backend?: { name: 'embedded' | 'hermes' | 'command'; command?: string[]; cwd?: string };
}

/** The gateway's argv for `opts`: its options, then the backend, its directory and its command. */
export function gatewayArgs(opts: HostOptions): string[] {
  const args = [...(opts.args ?? [])];
  const b = opts.backend;
  if (b) {
    args.push('--backend', b.name);
    if (b.cwd !== undefined) args.push('--cwd', b.cwd);
    if (b.command) args.push('--', ...b.command);
  }
  return args;
}

function hostSource(args: string[], holdStdinOpen: boolean, prefix: string[]): string {
  return `
const { spawn } = require('child_process');
const { selfFingerprint, formatFingerprint } = require(${FINGERPRINT_JS});
const fp = formatFingerprint(selfFingerprint());
const cmd = [...${JSON.stringify(prefix)}, process.execPath, ...${JSON.stringify(SMALL_HEAP_FLAGS)}, ${JSON.stringify(GATEWAY_JS)}, ...${JSON.stringify(args)}];
const gw = spawn(cmd[0], cmd.slice(1), {
  detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GATEWAY_WARDEN_OWNER: fp },
});
let holder;
if (${holdStdinOpen}) holder = spawn('sleep', ['3600'], { stdio: ['ignore', 'ignore', 'ignore', gw.stdin, gw.stdout, gw.stderr], env: { PATH: process.env.PATH } }).pid;
process.stderr.write('HOST ' + JSON.stringify({ host: fp, gateway: gw.pid, holder }) + '\\n');
process.stdin.pipe(gw.stdin);
gw.stdout.pipe(process.stdout);
gw.stderr.pipe(process.stderr);
gw.stdin.on('error', () => undefined);
gw.on('exit', (code, signal) => { process.stderr.write('HOST gateway exited ' + code + ' ' + signal + '\\n'); });
`;
}

export async function startHostedGateway(opts: HostOptions = {}): Promise<HostedGateway> {
  const host = spawnNode(hostSource(gatewayArgs(opts), opts.holdStdinOpen ?? false, opts.prefix ?? []), { env: { ...process.env, ...opts.env } });
  let err = '';
  host.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const info = await readLineMatching(host.stderr!, (l) => (l.startsWith('HOST {') ? (JSON.parse(l.slice(5)) as { host: string; gateway: number; holder?: number }) : undefined));
  track(info.gateway, true);
  if (info.holder) track(info.holder);
  const events: GatewayEvent[] = [];
  const rpc = new JsonRpcConnection(host.stdout!, host.stdin!, { log: () => undefined, maxLineBytes: opts.rpcMaxLineBytes });
  rpc.onNotification((method, params) => {
    if (method !== 'event') return;
    const e = params as GatewayEvent;
    events.push(e);
    // A worker that leads its own group (embedded, current hermes) is tracked with its group.
    if (e.type === 'worker.started' && typeof e.pid === 'number') track(e.pid, e.pgid === undefined || e.pgid === e.pid);
    // A gateway SIGKILLed by a test leaves its cgroup tree: killTracked removes it.
    if (e.type === 'gateway.ready' && typeof e.cgroup === 'string' && path.basename(e.cgroup) === `gateway-warden-${e.pid}`) trackTree(e.cgroup);
  });
  const waitEvent = (match: (e: GatewayEvent) => boolean, what: string, timeoutMs = 15_000) =>
    waitFor(() => events.find(match), what, timeoutMs);
  await waitEvent((e) => e.type === 'gateway.ready', 'gateway.ready');
  return {
    host,
    hostFp: info.host,
    gatewayPid: info.gateway,
    holderPid: info.holder,
    rpc,
    events,
    stderr: () => err,
    waitEvent,
    workerPids: () => events.filter((e) => e.type === 'worker.started').map((e) => e.pid as number),
  };
}

/**
 * The pids a gateway's program announces on its stderr as `PID <name>=<pid>` lines, once every
 * one of `names` has been seen; each is tracked (killed at the end of the test file).
 */
export async function announcedPids<N extends string>(g: HostedGateway, names: readonly N[], what = 'the program to announce its family'): Promise<Record<N, number>> {
  const pids = await waitFor(() => {
    const found: Record<string, number> = {};
    for (const m of g.stderr().matchAll(/PID (\w+)=(\d+)/g)) found[m[1]] = Number(m[2]);
    return names.every((n) => found[n]) ? (found as Record<N, number>) : undefined;
  }, what);
  for (const n of names) track(pids[n]);
  return pids;
}

/** Waits until no process carries the host's marker (a failure names the survivors). */
export async function waitNoMarked(hostFp: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(() => pidsWithMarker(hostFp).length === 0, `no process with marker ${hostFp}`, timeoutMs).catch((e: Error) => {
    throw new Error(`${e.message}; left: ${describePids(pidsWithMarker(hostFp))}`);
  });
}

/** Ends the host's stdin (the gateway's lifeline) and waits for every marked process to go. */
export async function stopHostedGateway(g: HostedGateway): Promise<void> {
  g.host.stdin!.end();
  await waitNoMarked(g.hostFp);
}

export function createSession(g: HostedGateway, params: Record<string, unknown> = {}): Promise<string> {
  return g.rpc.request<{ sessionId: string }>('session.create', params).then((r) => r.sessionId);
}

export function exec(g: HostedGateway, sessionId: string, command: string, timeoutMs = 30_000): Promise<string> {
  return g.rpc.request<{ output: string }>('slash.exec', { sessionId, command }, { timeoutMs }).then((r) => r.output);
}

/** Starts `/run sleep 300 &` in the session's worker and returns the background grandchild's pid (tracked). */
export async function backgroundGrandchild(g: HostedGateway, sessionId: string): Promise<number> {
  const out = await exec(g, sessionId, '/run sleep 300 & echo bg=$!');
  const pid = Number(/bg=(\d+)/.exec(out)?.[1]);
  if (!(pid > 0) || !isAlive(pid)) throw new Error(`no live background grandchild in ${JSON.stringify(out)}`);
  track(pid);
  return pid;
}

/**
 * A host-gone gateway whose sweep proved every leaf empty ends without removing its tree (the
 * step out of its leaf would cost the reap an RCU grace period): the tree holds no process, and
 * the next gateway's start, once the tree is old enough to be provably not a starting gateway's,
 * removes it.
 */
export async function treeLeftEmptyThenRemoved(tree: string): Promise<void> {
  if (!fs.existsSync(tree)) return; // a shutdown that did not prove every leaf empty first removes it at exit
  // A process already dead to /proc (a zombie, or past it) leaves `populated` a moment later.
  const events = () => fs.readFileSync(path.join(tree, 'cgroup.events'), 'utf8');
  await waitFor(() => /^populated 0$/m.test(events()), `the dead gateway's tree ${tree} to hold no process (populated 0 in its cgroup.events)`, 5000);
  await waitFor(() => Date.now() - fs.statSync(tree).ctimeMs >= EMPTY_TREE_MIN_AGE_MS + 100, 'the tree to be old enough', EMPTY_TREE_MIN_AGE_MS + 5000);
  const next = await startHostedGateway({ env: { GATEWAY_WARDEN_CGROUPS: '' } });
  try {
    trackTree(next.events.find((e) => e.type === 'gateway.ready')?.cgroup as string);
    await waitFor(() => !fs.existsSync(tree), `the next gateway's start to remove ${tree}`);
  } finally {
    await stopHostedGateway(next);
  }
}
