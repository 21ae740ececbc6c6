// Benchmark support: the embedded gateway and worker started the way their parents start them
// (node dist/X.js, detached so each leads its own group, stdio pipes, the owner marker in the
// environment), with the benchmark itself as the host. Whatever happens, every group started
// here that is still ours is SIGKILLed at exit (bench/cleanup.ts checks start times first).
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatFingerprint, selfFingerprint } from '../src/core/fingerprint';
import { OWNER_ENV } from '../src/core/ownerMarker';
import { JsonRpcConnection } from '../src/core/rpc';
import { trackProcess } from './cleanup';
import { SMALL_HEAP_FLAGS } from '../src/core/heapFlags';

export const DIST = path.resolve(__dirname, '..', '..', 'dist');
export const GATEWAY_JS = path.join(DIST, 'gateway.js');
export const WORKER_JS = path.join(DIST, 'worker.js');

/** The bench process as the host: the marker and the parent/owner fingerprint children watch. */
export const hostFingerprint = formatFingerprint(selfFingerprint());

/** Spawns a detached child with pipes, tracked (and its group) for clean-up. */
export function spawnDetached(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, [OWNER_ENV]: hostFingerprint, ...env },
  });
  if (child.pid === undefined) throw new Error(`cannot spawn ${process.execPath} ${args.join(' ')}`);
  trackProcess(child.pid, true);
  child.on('error', () => undefined);
  child.stdin!.on('error', () => undefined);
  return child;
}

/** performance.now() when the first complete stdout line arrives, with that line. */
export function firstLine(child: ChildProcess, timeoutMs = 30_000): Promise<{ at: number; line: string }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no stdout line from ${child.pid} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const at = performance.now();
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({ at, line: buf.slice(0, nl) });
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${child.pid} exited (${code ?? signal}) before its first stdout line`));
    });
  });
}

/** Resolves when the child has exited (immediately if it already has). */
export function exited(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface DirectGateway {
  child: ChildProcess;
  pid: number;
  rpc: JsonRpcConnection;
  /** Milliseconds from spawn() to the gateway.ready line. */
  readyMs: number;
  /** Pids of workers seen in worker.started events, in order. */
  workerPids: number[];
  stderr(): string;
}

/**
 * Starts `node dist/gateway.js` and waits for gateway.ready (its first stdout line, by contract).
 * The connection is attached only after that line, so nothing else races the measurement.
 */
export async function startGateway(args: string[] = [], nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<DirectGateway> {
  const t0 = performance.now();
  // With the V8 flags the extension starts it with (src/host/launchSpec.ts).
  const child = spawnDetached([...nodeArgs, ...SMALL_HEAP_FLAGS, GATEWAY_JS, ...args], env);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-20_000);
  });
  // Paused until the first line is read, then handed (with what was left over) to the RPC reader.
  const first = await firstLine(child);
  const ready = JSON.parse(first.line) as { method?: string; params?: { type?: string } };
  if (ready.method !== 'event' || ready.params?.type !== 'gateway.ready') throw new Error(`first gateway line is not gateway.ready: ${first.line}`);
  const workerPids: number[] = [];
  const rpc = new JsonRpcConnection(child.stdout!, child.stdin!, { log: () => undefined });
  rpc.onNotification((method, params) => {
    const e = params as { type?: string; pid?: number; startTime?: number };
    if (method === 'event' && e.type === 'worker.started' && typeof e.pid === 'number') {
      trackProcess(e.pid, true, typeof e.startTime === 'number' ? e.startTime : undefined);
      workerPids.push(e.pid);
    }
  });
  return { child, pid: child.pid!, rpc, readyMs: first.at - t0, workerPids, stderr: () => err };
}

/** Ends the gateway's stdin (its lifeline) and waits for it to tear down and exit. */
export async function stopGateway(g: DirectGateway): Promise<void> {
  g.child.stdin!.end();
  await exited(g.child);
  g.rpc.dispose('stopped');
}

/** One field (in kB for sizes) of /proc/PID/status, e.g. VmRSS or Threads. */
export function procStatus(pid: number, field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Open file descriptors of pid (entries of /proc/PID/fd). */
export function openFds(pid: number): number | undefined {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** One session's life: session.create, `slash.exec /echo x` (its worker starts), session.close. */
async function sessionCycle(g: DirectGateway): Promise<void> {
  const { sessionId } = await g.rpc.request<{ sessionId: string }>('session.create', {});
  const { output } = await g.rpc.request<{ output: string }>('slash.exec', { sessionId, command: '/echo x' });
  if (output.trim() !== 'x') throw new Error(`unexpected /echo output ${JSON.stringify(output)}`);
  const { closed } = await g.rpc.request<{ closed: boolean }>('session.close', { sessionId });
  if (!closed) throw new Error(`session.close ${sessionId} answered false`);
}

/** `count` session cycles, `concurrency` at a time. */
export async function sessionCycles(g: DirectGateway, count: number, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next++;
      await sessionCycle(g);
    }
  }));
}
