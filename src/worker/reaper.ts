// The reaper: what the group keeper becomes when its worker has died (groupKeeper.ts). The same
// pid, exec'd through `setsid` into node running this bundle with --reap-group: out of the dead
// worker's group, so it can take that group down as the worker's own teardown would have —
// SIGTERM, a short grace, SIGKILL until empty — and, by the worker's marker (PARENT_ENV = its
// fingerprint), the /run descendants that left the group (setsid, double fork), and, in a
// session cgroup leaf, every other member of that leaf. Only on proof that the worker is gone;
// every signal through the one teardown engine and its safety checks.
// Synchronous (teardownSync): the reaper is nothing else, and main.ts must not go on to start a
// worker after it.
import { Fingerprint, parseFingerprint } from '../core/fingerprint';
import { ownCgroupDir } from '../core/cgroup/cgroupMount';
import { cgroupTarget, describeProblems, processGroup, processTree, teardownSync } from '../core/kill';
import { readProcStat } from '../core/procfs';
import { markedBySync } from '../core/taggedProcesses';
import { DEFAULT_TIMEOUTS } from '../core/timeouts';
import { argValue } from './args';

/** The same grace and bound as the worker's own teardown (workerApp.ts). */
const { workerExitGraceMs: GRACE_MS, workerExitTimeoutMs: TIMEOUT_MS } = DEFAULT_TIMEOUTS;

/** With `--reap-group PGID --reap-leader FP` in argv: reaps and exits (never returns); else returns at once. */
export function reapIfAsked(argv: readonly string[]): void {
  const group = argValue(argv, '--reap-group');
  if (group === undefined) return;
  const log = (m: string) => process.stderr.write(`worker reaper[${process.pid}]: ${m}\n`);
  const leader = parseFingerprint(argValue(argv, '--reap-leader'));
  const pgid = Number(group);
  if (!leader || !Number.isSafeInteger(pgid) || pgid <= 1 || leader.pid !== pgid) {
    log(`bad --reap-group ${JSON.stringify(group)} / --reap-leader; nothing reaped`);
    process.exit(2);
  }
  let code = 1;
  try {
    code = reapDeadWorker(pgid, leader, log, argValue(argv, '--cgroup'));
  } catch (e) {
    log(`failed: ${(e as Error).message}`);
  }
  process.exit(code);
}

/**
 * `leaf`: the worker's session cgroup leaf, taken too (by the kernel's list: a setsid escapee that
 * dropped the marker) — only when this process finds itself in it, the proof that it is the
 * worker's (the keeper was born there); the leaf is kept (the gateway or the host removes it).
 */
export function reapDeadWorker(pgid: number, leader: Fingerprint, log: (m: string) => void, leaf?: string): number {
  const st = readProcStat(leader.pid);
  if (st && st.startTime === leader.startTime && st.state !== 'Z' && st.state !== 'X') {
    log(`worker ${leader.pid} is alive: nothing to reap`);
    return 1;
  }
  // Started after the worker and carrying its marker: its /run descendants, wherever they went.
  const escapees = markedBySync(leader);
  const targets = [processGroup(pgid, leader), ...escapees.map((fp) => processTree(fp))];
  if (leaf !== undefined) {
    const inside = ownCgroupDir();
    if (inside === leaf) targets.push(cgroupTarget(leaf, { remove: false }));
    else log(`not taking cgroup ${leaf}: I am in ${typeof inside === 'string' ? inside : `no readable cgroup (${inside.why})`}`);
  }
  const r = teardownSync(targets, { graceMs: GRACE_MS, timeoutMs: TIMEOUT_MS });
  log(`worker ${leader.pid} died: took down ${r.processes.length} process(es) of its group and marker in ${Math.round(r.elapsedMs)} ms`);
  const problems = describeProblems(r);
  if (problems) log(`teardown: ${problems}`);
  return problems ? 1 : 0;
}
