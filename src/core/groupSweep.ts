// Tears down many process groups at once (the gateway's and every worker's) with ONE scan of
// the process table per poll, where N parallel killGroup calls would scan N times per poll —
// which on a small machine is what made a 50-worker deactivate slow. Same rules as killGroup:
// re-check each leader's fingerprint before every signal, never signal a group holding another
// user's process, escalate SIGTERM → grace → SIGKILL on the group until it is empty.
import { performance } from 'node:perf_hooks';
import { Fingerprint, readFingerprint } from './fingerprint';
import { killGroup, killGroupSync, ownProcessGroup } from './kill';
import { groupHasNoProcess } from './killGroupMembers';
import { readProcUidChecked, scanLiveStatsChecked } from './procfs';
import { runSteps, runStepsSync } from './steps';

export interface SweepTarget {
  pgid: number;
  /** The group's leader as recorded; a live pid === pgid with another start time → skipped. */
  leader?: Fingerprint;
}

export interface SweepOptions {
  graceMs: number;
  timeoutMs: number;
  /** Start with SIGKILL (exit paths). */
  firstSignal?: NodeJS.Signals;
}

export interface SweepResult {
  /** Live members left when the sweep gave up. */
  survivors: number[];
  /** One line per group that was not signalled, and why. */
  refused: string[];
  elapsedMs: number;
}

const POLL_MS = 10;

/** Async sweep (deactivate, stop). */
export async function sweepGroups(targets: readonly SweepTarget[], opts: SweepOptions): Promise<SweepResult> {
  if (process.platform !== 'linux') return viaKillGroup(targets, opts);
  return runSteps(sweep(targets, opts));
}

/** Blocking sweep (process exit, budget exhausted). */
export function sweepGroupsSync(targets: readonly SweepTarget[], opts: SweepOptions): SweepResult {
  if (process.platform !== 'linux') {
    const t0 = performance.now();
    const rs = targets.map((t) => killGroupSync(t.pgid, { ...opts, leader: t.leader }));
    return { survivors: rs.flatMap((r) => r.survivors), refused: rs.flatMap((r) => (r.refused ? [r.refused] : [])), elapsedMs: performance.now() - t0 };
  }
  return runStepsSync(sweep(targets, opts));
}

function* sweep(targets: readonly SweepTarget[], opts: SweepOptions): Generator<number, SweepResult, void> {
  const t0 = performance.now();
  const refused: string[] = [];
  const pending = new Map<number, SweepTarget>();
  // Never our own group (as killGroup refuses it): a target comes from gateway-reported events.
  const own = ownProcessGroup();
  for (const t of targets) {
    if (!Number.isSafeInteger(t.pgid) || t.pgid <= 1) refused.push(`not a process group id: ${t.pgid}`);
    else if (t.pgid === own) refused.push(`group ${t.pgid} is this process's own group; not signalled`);
    else pending.set(t.pgid, t);
  }
  const myUid = process.getuid?.();
  const sent = new Map<number, NodeJS.Signals>();
  let signal: NodeJS.Signals = opts.firstSignal ?? 'SIGTERM';
  let phaseEnd = t0 + (signal === 'SIGKILL' ? 100 : opts.graceMs);
  let members = scan(pending);
  for (;;) {
    // Groups that are empty are done; the rest get the current signal (once per phase).
    for (const pgid of [...pending.keys()]) if (!members.has(pgid)) pending.delete(pgid);
    if (pending.size === 0) return { survivors: [], refused, elapsedMs: performance.now() - t0 };
    for (const [pgid, t] of pending) {
      if (sent.get(pgid) === signal) continue;
      // Checked right before each signal (not on every poll: with 50 groups that is 150 syscalls per poll).
      const why = unsafe(t, members.get(pgid)!, myUid);
      if (why) {
        refused.push(why);
        pending.delete(pgid);
        continue;
      }
      try {
        process.kill(-pgid, signal);
      } catch {
        // ESRCH: emptied meanwhile
      }
      sent.set(pgid, signal);
    }
    const now = performance.now();
    if (now >= t0 + opts.timeoutMs && signal === 'SIGKILL') {
      for (const g of pending.keys()) {
        if (members.get(g)?.length === 0) refused.push(`group ${g}: its members could not be listed (/proc unreadable) and it still answers signal 0`);
      }
      return { survivors: [...pending.keys()].flatMap((g) => members.get(g) ?? []), refused, elapsedMs: now - t0 };
    }
    if (now >= phaseEnd || now >= t0 + opts.timeoutMs) {
      // Escalate (or repeat SIGKILL for anything that slipped in).
      signal = 'SIGKILL';
      sent.clear();
      phaseEnd = now + 100;
      continue;
    }
    yield Math.min(POLL_MS, Math.max(1, phaseEnd - now));
    members = scan(pending);
  }
}

/**
 * Live members of the wanted groups, from one pass over /proc; a group missing from the result
 * is empty. When the pass was incomplete (EMFILE, …), a group it did not see is asked with
 * signal 0 (no descriptor needed): one that still answers stays, with its members unknown ([]).
 */
function scan(wanted: Map<number, SweepTarget>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const { stats, complete } = scanLiveStatsChecked();
  for (const st of stats) {
    if (!wanted.has(st.pgid)) continue;
    const list = out.get(st.pgid);
    if (list) list.push(st.pid);
    else out.set(st.pgid, [st.pid]);
  }
  if (!complete) for (const pgid of wanted.keys()) if (!out.has(pgid) && !groupHasNoProcess(pgid)) out.set(pgid, []);
  return out;
}

function unsafe(t: SweepTarget, members: number[], myUid: number | undefined): string | undefined {
  if (t.leader) {
    // A dead leader with live members is fine (its pid stays reserved while the group lives);
    // a live pid with another start time, or one nobody can read now, is not.
    const now = readFingerprint(t.pgid);
    if (now.state === 'unknown') return `group ${t.pgid}: cannot tell whether pid ${t.pgid} is still its recorded leader (${now.why}); not signalled`;
    if (now.state === 'alive' && now.fingerprint.startTime !== t.leader.startTime) {
      return `group ${t.pgid}: pid ${t.pgid} is now another process; not signalled`;
    }
  }
  if (myUid !== undefined) {
    for (const pid of members) {
      const uid = readProcUidChecked(pid); // 'gone': exited meanwhile
      if (uid.state === 'unknown') return `group ${t.pgid}: cannot tell whose process member ${pid} is (${uid.why}); not signalled`;
      if (uid.state === 'found' && uid.value !== myUid) return `group ${t.pgid}: member ${pid} belongs to another user; not signalled`;
    }
  }
  return undefined;
}

async function viaKillGroup(targets: readonly SweepTarget[], opts: SweepOptions): Promise<SweepResult> {
  const t0 = performance.now();
  const rs = await Promise.all(targets.map((t) => killGroup(t.pgid, { ...opts, leader: t.leader })));
  return { survivors: rs.flatMap((r) => r.survivors), refused: rs.flatMap((r) => (r.refused ? [r.refused] : [])), elapsedMs: performance.now() - t0 };
}
