// Clean-up for benchmarks that learn of processes they did not spawn themselves (the gateway's
// workers): every pid is remembered with the start time it had, and at exit one /proc scan
// decides what is still ours. A SIGKILL by number alone can hit a process that has since been
// given the same pid — with a thousand workers per run on a busy machine, not a remote chance.
import { readProcStat, scanLiveStats } from '../src/core/procfs';

interface Tracked {
  pid: number;
  startTime: number;
  /** The pid leads a process group: every member is ours too. */
  group: boolean;
}

const tracked = new Map<number, Tracked>();

/** Remembers pid (with its start time, read now unless given) for the exit clean-up. */
export function trackProcess(pid: number, group: boolean, startTime?: number): void {
  const start = startTime ?? readProcStat(pid)?.startTime;
  if (start !== undefined) tracked.set(pid, { pid, startTime: start, group });
}

/**
 * SIGKILLs what is left of every tracked process and group. A live pid with another start time
 * is someone else's now, and so is its group; a group whose leader is dead can still only hold
 * our processes (Linux does not hand out a pid that is still some group's id).
 */
export function killTrackedProcesses(): void {
  if (tracked.size === 0) return;
  const live = scanLiveStats();
  const byPid = new Map(live.map((s) => [s.pid, s]));
  const byGroup = new Map<number, number[]>();
  for (const s of live) byGroup.set(s.pgid, [...(byGroup.get(s.pgid) ?? []), s.pid]);
  for (const t of tracked.values()) {
    const now = byPid.get(t.pid);
    if (now && now.startTime !== t.startTime) continue;
    const targets = t.group ? (byGroup.get(t.pid) ?? []) : now ? [t.pid] : [];
    for (const pid of targets) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  tracked.clear();
}

process.on('exit', killTrackedProcesses);
