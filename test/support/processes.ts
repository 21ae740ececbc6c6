// Real-process test support: spawn, track and always clean up; poll with a deadline instead
// of sleeping. Only pids this module started are ever signalled.
import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import { readProcStat } from '../../src/core/procfs';

const tracked = new Set<number>();
const trackedGroups = new Set<number>();

/** A unique marker value for one test, so its processes can be found in /proc. */
export function testMarker(name: string): string {
  return `test-${name.replace(/[^A-Za-z0-9]/g, '')}-${process.pid}-${Date.now()}`;
}

/** Whether pid is a live, non-zombie process. */
export function isAlive(pid: number): boolean {
  const st = readProcStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function waitForExit(pid: number, timeoutMs = 10_000): Promise<true> {
  return waitFor(() => !isAlive(pid), `pid ${pid} to exit`, timeoutMs);
}

/** Spawns a process and tracks it (and, when detached, its group) for cleanup. */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  if (child.pid !== undefined) {
    tracked.add(child.pid);
    if (opts.detached) trackedGroups.add(child.pid);
  }
  child.on('error', () => undefined);
  return child;
}

/** Runs a Node script (source text) as a tracked child. */
export function spawnNode(source: string, opts: SpawnOptions & { args?: string[] } = {}): ChildProcess {
  return spawnTracked(process.execPath, ['-e', source, '--', ...(opts.args ?? [])], opts);
}

/** Records a pid the test learned about (a grandchild) so cleanup covers it. */
export function track(pid: number, isGroupLeader = false): void {
  tracked.add(pid);
  if (isGroupLeader) trackedGroups.add(pid);
}

/** Reads newline-separated lines from a stream until `match` returns a value. */
export function readLineMatching<T>(
  stream: NodeJS.ReadableStream,
  match: (line: string) => T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for a matching line; got: ${buf.slice(-500)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer | string) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const v = match(line);
        if (v !== undefined) {
          clearTimeout(timer);
          stream.off('data', onData);
          resolve(v);
          return;
        }
      }
    };
    stream.on('data', onData);
  });
}

/** SIGKILLs every tracked pid and group that is still alive. Call from `after`/`afterEach`. */
export function killTracked(): void {
  for (const pgid of trackedGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const pid of tracked) {
    if (!isAlive(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  tracked.clear();
  trackedGroups.clear();
}

/** Pids of live processes whose environment carries `GATEWAY_WARDEN_OWNER=marker`. */
export { pidsWithMarker } from './marker';
