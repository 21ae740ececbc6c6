// Starts the fake hermes gateway (test/fixtures/hermes, Python stdlib only) as a tracked child and
// talks hermes' JSON-RPC to it. Its workers are real `python3 -m tui_gateway.slash_worker`
// processes, each (cur flavor) in its own session: workersOf() finds them by parent pid and argv
// (with the backend's own recogniser, hermesWorkerArgv.ts), and tracks every one it finds so
// killTracked() reaches it even when the test fails.
import { ChildProcess, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { DEFAULT_MAX_LINE_BYTES, JsonRpcConnection } from '../../src/core/rpc';
import { LineDecoder } from '../../src/core/lineDecoder';
import { readProcCmdline, scanLiveStats } from '../../src/core/procfs';
import { isLiveState } from '../../src/core/processSource';
import { hermesWorkerOf } from '../../src/gateway/backends/hermesWorkerArgv';
import { spawnTracked, track, waitFor } from './processes';

export const FAKE_HERMES_DIR = path.resolve(__dirname, '../../../test/fixtures/hermes');

/** Why the fake cannot run here (no python3 >= 3.8 on PATH), or undefined when it can. */
export function fakeHermesUnavailable(): string | undefined {
  const r = spawnSync('python3', ['-c', 'import sys; assert sys.version_info >= (3, 8)'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `python3 is not available (${r.error.message}); the fake hermes gateway needs it`;
  if (r.status !== 0) return `python3 is too old for the fake hermes gateway (needs 3.8+): ${r.stderr.trim()}`;
  return undefined;
}

export interface HermesEvent {
  type: string;
  session_id?: string;
  payload?: Record<string, unknown>;
}

export interface FakeHermes {
  proc: ChildProcess;
  pid: number;
  rpc: JsonRpcConnection;
  /** Every frame in arrival order, as parsed JSON (events and replies). */
  frames: Record<string, unknown>[];
  events: HermesEvent[];
  stderr(): string;
  waitEvent(match: (e: HermesEvent) => boolean, what: string, timeoutMs?: number): Promise<HermesEvent>;
}

export interface FakeHermesOptions {
  /** Extra environment: FAKE_HERMES_FLAVOR, FAKE_HERMES_* hooks, HERMES_* knobs, the owner marker. */
  env?: Record<string, string>;
  cwd?: string;
}

export function startFakeHermes(opts: FakeHermesOptions = {}): FakeHermes {
  const proc = spawnTracked('python3', ['-m', 'tui_gateway.entry'], {
    cwd: opts.cwd ?? FAKE_HERMES_DIR,
    // Its own group, as the warden will start it, so killTracked() can take the group down.
    detached: true,
    env: { ...process.env, PYTHONPATH: FAKE_HERMES_DIR, PYTHONDONTWRITEBYTECODE: '1', ...opts.env },
  });
  const frames: Record<string, unknown>[] = [];
  const events: HermesEvent[] = [];
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-20_000);
  });
  // The connection matches replies to requests by id; the tap keeps the raw frames in arrival order.
  const rpc = new JsonRpcConnection(proc.stdout!, proc.stdin!, { requestTimeoutMs: 60_000, log: () => undefined });
  const tap = new LineDecoder(DEFAULT_MAX_LINE_BYTES, {
    line: (line) => {
      if (!line.trim()) return;
      try {
        frames.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        frames.push({ unparsable: line.slice(0, 500) });
      }
    },
    oversize: () => frames.push({ oversize: true }),
  });
  proc.stdout!.on('data', (chunk: Buffer) => tap.push(chunk));
  rpc.onNotification((method, params) => {
    if (method !== 'event') return;
    events.push(params as HermesEvent);
  });
  return {
    proc,
    pid: proc.pid!,
    rpc,
    frames,
    events,
    stderr: () => err,
    waitEvent: (match, what, timeoutMs = 30_000) =>
      waitFor(() => events.find(match), what, timeoutMs, 20),
  };
}

export interface HermesWorkerProcess {
  pid: number;
  argv: string[];
  sessionKey: string;
  pgid: number;
  sid: number;
}

/** Live children of `gatewayPid` running `INTERP -m tui_gateway.slash_worker --session-key K ...`. */
export function workersOf(gatewayPid: number): HermesWorkerProcess[] {
  const found: HermesWorkerProcess[] = [];
  for (const st of scanLiveStats()) {
    if (st.ppid !== gatewayPid || !isLiveState(st.state)) continue; // cheap filter before reading argv
    const argv = readProcCmdline(st.pid);
    const worker = hermesWorkerOf({ pid: st.pid, ppid: st.ppid, argv }, gatewayPid);
    if (!worker) continue;
    track(st.pid);
    found.push({ pid: st.pid, argv, sessionKey: worker.sessionKey, pgid: st.pgid, sid: st.sid });
  }
  return found;
}

export async function waitForWorker(gatewayPid: number, sessionKey: string, timeoutMs = 20_000): Promise<HermesWorkerProcess> {
  return waitFor(() => workersOf(gatewayPid).find((w) => w.sessionKey === sessionKey), `a slash_worker for ${sessionKey}`, timeoutMs);
}
