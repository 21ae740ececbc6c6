// The last act of a process that is going away: take down what it started. "What it started"
// is its own process group (when it leads one) plus its descendants by parentage, minus
// itself — SIGTERM, a grace, then SIGKILL for whatever is left. Each signal goes only to a
// process whose fingerprint still matches the snapshot (re-read right before sending).
import { Fingerprint, isSameProcess, livenessOf } from './fingerprint';
import { linuxBootId, ProcStat, scanLiveStats } from './procfs';
import { runSteps, runStepsSync, Steps } from './steps';

export interface OwnTeardownResult {
  targets: number[];
  survivors: number[];
  elapsedMs: number;
}

/**
 * Fingerprints of this process's group members (if it leads a group) and descendants, plus the
 * `extra` processes it recorded when it started them — each only while it is still that process
 * (same start time): a recorded child that exited long ago may have lent its pid to a stranger.
 */
export function ownedProcesses(extra: readonly Fingerprint[] = []): Fingerprint[] {
  if (process.platform !== 'linux') return []; // elsewhere callers fall back to their own pids
  const table = scanLiveStats();
  const bootId = linuxBootId();
  const picked = new Map<number, Fingerprint>();
  const add = (p: ProcStat) => {
    if (p.pid !== process.pid) picked.set(p.pid, { pid: p.pid, startTime: p.startTime, bootId });
  };
  const self = table.find((p) => p.pid === process.pid);
  if (self && self.pgid === process.pid) for (const p of table) if (p.pgid === process.pid) add(p);
  const children = new Map<number, ProcStat[]>();
  for (const p of table) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const extraNow = extra.flatMap((fp) => {
    const p = table.find((r) => r.pid === fp.pid);
    return p && p.startTime === fp.startTime && fp.bootId === bootId ? [p] : [];
  });
  for (const p of extraNow) add(p);
  const queue = [process.pid, ...extraNow.map((p) => p.pid)];
  const seen = new Set<number>(queue);
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      add(child);
      queue.push(child.pid);
    }
  }
  return [...picked.values()];
}

/** Signals only a process provably still the recorded one: unknown (EMFILE, …) is refused. */
function signal(fp: Fingerprint, sig: NodeJS.Signals): void {
  if (!isSameProcess(fp)) return;
  try {
    process.kill(fp.pid, sig);
  } catch {
    // exited in between
  }
}

/** Synchronous: usable from 'exit' handlers and signal paths where timers may never fire. */
export function takeDownOwnedSync(graceMs = 300, extra: readonly Fingerprint[] = []): OwnTeardownResult {
  return runStepsSync(takeDown(graceMs, extra));
}

/** Asynchronous variant for normal shutdown paths (keeps the event loop free during the grace). */
export function takeDownOwned(graceMs = 300, extra: readonly Fingerprint[] = []): Promise<OwnTeardownResult> {
  return runSteps(takeDown(graceMs, extra));
}

function* takeDown(graceMs: number, extra: readonly Fingerprint[]): Steps<OwnTeardownResult> {
  const started = Date.now();
  const targets = ownedProcesses(extra);
  for (const fp of targets) signal(fp, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  // Waited for until proven gone: one that cannot be read now counts as still there.
  const notGone = (fp: Fingerprint) => livenessOf(fp).state !== 'dead';
  let alive = targets.filter(notGone);
  while (alive.length && Date.now() < deadline) {
    yield 10;
    alive = alive.filter(notGone);
  }
  for (const fp of alive) signal(fp, 'SIGKILL');
  // A SIGTERM handler may have started more children meanwhile: one more sweep, no grace. (With
  // no targets there was no handler to start any: skip the scan, which is what costs here.)
  if (targets.length) for (const fp of ownedProcesses(extra)) signal(fp, 'SIGKILL');
  return { targets: targets.map((t) => t.pid), survivors: alive.map((t) => t.pid), elapsedMs: Date.now() - started };
}
