// Forcing pid reuse for "never signal a reused pid" tests: Linux lets a privileged process set
// the pid the kernel hands out next (/proc/sys/kernel/ns_last_pid). Without that privilege the
// helper says so and the test is skipped; nothing here signals anything.
import { ChildProcess, SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import { isAlive, spawnTracked, waitForExit } from './processes';

const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';

/** Why pid reuse cannot be forced here, or undefined when it can. */
export function pidReuseUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'ns_last_pid is Linux-only';
  try {
    fs.accessSync(NS_LAST_PID, fs.constants.W_OK);
    const now = fs.readFileSync(NS_LAST_PID, 'utf8').trim();
    fs.writeFileSync(NS_LAST_PID, now); // EPERM without CAP_SYS_ADMIN even when the mode allows
    return undefined;
  } catch (e) {
    return `cannot set the next pid (${(e as Error).message})`;
  }
}

/**
 * Spawns a tracked process that gets exactly `pid` (which must be free). Other processes on the
 * machine may take the pid first, so it retries; returns undefined if it never got it.
 */
export async function spawnOnPid(pid: number, cmd: string, args: string[], opts: SpawnOptions = {}, attempts = 50): Promise<ChildProcess | undefined> {
  for (let i = 0; i < attempts; i++) {
    if (isAlive(pid)) return undefined; // taken by someone else for good
    fs.writeFileSync(NS_LAST_PID, String(pid - 1));
    const child = spawnTracked(cmd, args, opts);
    if (child.pid === pid) return child;
    child.kill('SIGKILL');
    if (child.pid !== undefined) await waitForExit(child.pid);
  }
  return undefined;
}
