// Watching a process tree die, the same way for every variant of the reap benchmarks.
//
// "Dead" = the pid is gone from /proc, or carries another start time (reused), or is a zombie
// whose every thread has exited (/proc/PID/status "Threads: 1"). Zombies count as dead because
// reaping is the parent's business, not the design's: on this kind of machine pid 1 may reap
// orphans only every few seconds, so "gone from /proc" would time the init, not the teardown.
// The thread check matters for node: a SIGKILLed node's leader thread can show Z while its other
// threads are still unmapping the heap.
//
// Every process of a benchmarked tree carries TREE_ENV=<trial id> in its environment (inherited),
// so a marker scan finds all of them — double-forked ones included — and counts survivors.
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { readProcEnvVar, readProcStat } from '../src/core/procfs';

export const TREE_ENV = 'GATEWAY_WARDEN_BENCH_TREE';

export interface Proc {
  pid: number;
  startTime: number;
  comm: string;
}

let trialSeq = 0;
/** A marker value unique to one trial of this benchmark process. */
export function trialId(label: string): string {
  return `${label.replace(/[^A-Za-z0-9]/g, '')}-${process.pid}-${++trialSeq}`;
}

function threads(pid: number): number {
  try {
    const m = /^Threads:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function isDead(p: Proc): boolean {
  const st = readProcStat(p.pid);
  if (!st || st.startTime !== p.startTime) return true;
  if (st.state !== 'Z' && st.state !== 'X') return false;
  return threads(p.pid) <= 1;
}

/** Live processes whose environment carries TREE_ENV=`id`. */
export function treeMembers(id: string): Proc[] {
  const out: Proc[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid || readProcEnvVar(pid, TREE_ENV) !== id) continue;
    const st = readProcStat(pid);
    if (!st) continue;
    const p = { pid, startTime: st.startTime, comm: st.comm };
    if (!isDead(p)) out.push(p);
  }
  return out;
}

export interface DeathWatch {
  /** ms from t0 to the poll that saw the last process dead (the timeout when some survive). */
  lastMs: number;
  survivors: Proc[];
}

/**
 * Polls `procs` every ~1 ms until all are dead or `timeoutMs` after t0 passes; the last death
 * is stamped at the poll that first sees every one dead. Each poll reads them in order up to
 * the first one alive (the tree is not dead while it lives): reading all 200 of a 50-worker
 * tree every millisecond kept one of 2 cores busy, taken from the teardown being timed.
 */
export async function watchDeaths(procs: readonly Proc[], t0: number, timeoutMs: number): Promise<DeathWatch> {
  const alive = [...procs];
  let lastMs = 0;
  for (;;) {
    const now = performance.now();
    let dead = 0;
    while (dead < alive.length && isDead(alive[dead])) dead++;
    if (dead > 0) {
      alive.splice(0, dead);
      lastMs = now - t0;
    }
    if (alive.length === 0) return { lastMs, survivors: [] };
    if (now - t0 > timeoutMs) return { lastMs: now - t0, survivors: alive.filter((p) => !isDead(p)) };
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** SIGKILLs what is left of a trial's tree (its marker), so the next trial starts clean. */
export function killLeftovers(id: string): Proc[] {
  const left = treeMembers(id);
  for (const p of left) {
    const st = readProcStat(p.pid);
    if (!st || st.startTime !== p.startTime) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return left;
}

const liveTrials = new Set<string>();
/** Registers a trial so that its tree is SIGKILLed if this benchmark exits early. */
export function guardTrial(id: string): void {
  liveTrials.add(id);
}
export function endTrial(id: string): Proc[] {
  liveTrials.delete(id);
  return killLeftovers(id);
}
process.on('exit', () => {
  for (const id of liveTrials) killLeftovers(id);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));
