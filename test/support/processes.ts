// Real-process test support: spawn, track and always clean up; poll with a deadline instead
// of sleeping. Only pids this module started are ever signalled.
import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import { statSync } from 'node:fs';
import { readProcStat } from '../../src/core/procfs';

// pid → its start time when tracked: a pid is signalled at cleanup only while it is still that
// process (pids are reused within minutes on a machine that starts thousands of processes).
const tracked = new Map<number, number | undefined>();
const trackedGroups = new Map<number, number | undefined>();
/** Run by killTracked after the processes are gone (e.g. removing the cgroup trees a test's gateways left). */
const cleanupHooks: (() => void)[] = [];

export function atCleanup(hook: () => void): void {
  if (!cleanupHooks.includes(hook)) cleanupHooks.push(hook);
}
const LINUX = process.platform === 'linux';

function startTimeOf(pid: number): number | undefined {
  return readProcStat(pid)?.startTime;
}

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

/**
 * Every pid is gone, or fails naming those left. For use after a marker scan came up empty: a
 * process in the middle of exiting has no readable environment (so no marker) before it is a
 * zombie, so "no marked process" can be seen a moment before each one has really exited.
 */
export async function waitAllExited(pids: readonly number[], timeoutMs = 5000): Promise<void> {
  await waitFor(() => pids.every((p) => !isAlive(p)), `${pids.length} process(es) to exit (left: ${pids.filter(isAlive).join(', ')})`, timeoutMs).catch(() => {
    throw new Error(`still alive after ${timeoutMs} ms: ${pids.filter(isAlive).join(', ')}`);
  });
}

/** Spawns a process and tracks it (and, when detached, its group) for cleanup. */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  if (child.pid !== undefined) {
    const start = startTimeOf(child.pid);
    tracked.set(child.pid, start);
    if (opts.detached) trackedGroups.set(child.pid, start);
  }
  child.on('error', () => undefined);
  return child;
}

/** The uid of another user's process in tests (nobody). */
export const OTHER_UID = 65534;

/**
 * A tracked `sleep 1000` of uid OTHER_UID (setpriv; needs root), once it runs as that user. Stands
 * for a setuid program's process in our tree: never to be signalled or moved by us.
 */
export async function startOtherUsersSleep(): Promise<ChildProcess> {
  const child = spawnTracked('setpriv', [`--reuid=${OTHER_UID}`, `--regid=${OTHER_UID}`, '--clear-groups', 'sleep', '1000'], { stdio: 'ignore' });
  await waitFor(() => statSync(`/proc/${child.pid}`).uid === OTHER_UID && readProcStat(child.pid!)?.comm === 'sleep', 'the other user\'s sleep (setpriv to exec it)');
  return child;
}

/** Runs a Node script (source text) as a tracked child. */
export function spawnNode(source: string, opts: SpawnOptions & { args?: string[] } = {}): ChildProcess {
  return spawnTracked(process.execPath, ['-e', source, '--', ...(opts.args ?? [])], opts);
}

/** Records a pid the test learned about (a grandchild) so cleanup covers it. */
export function track(pid: number, isGroupLeader = false): void {
  const start = tracked.has(pid) ? tracked.get(pid) : startTimeOf(pid);
  tracked.set(pid, start);
  if (isGroupLeader) trackedGroups.set(pid, start);
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

/**
 * SIGKILLs every tracked pid and group that is still the process it was. Call from `after`.
 * A group is signalled while its leader lives with the recorded start time, or once the leader
 * is gone (the kernel does not hand out a pid still in use as a group id, so the group is ours).
 */
export function killTracked(): void {
  for (const [pgid, start] of trackedGroups) {
    const leader = readProcStat(pgid);
    if (LINUX && leader && leader.state !== 'Z' && leader.startTime !== start) continue; // reused
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const [pid, start] of tracked) {
    if (!isAlive(pid)) continue;
    if (LINUX && startTimeOf(pid) !== start) continue; // another process has the pid now
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  tracked.clear();
  trackedGroups.clear();
  for (const hook of cleanupHooks) {
    try {
      hook();
    } catch (e) {
      console.log(`# cleanup hook failed: ${(e as Error).message}`);
    }
  }
}

/** Pids of live processes whose environment carries `GATEWAY_WARDEN_OWNER=marker`. */
export { pidsWithMarker } from './marker';
