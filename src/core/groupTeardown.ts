// The process-group teardown, written once as a generator that yields "sleep this many ms" so
// that an async driver (killGroup) and a blocking one (killGroupSync) share every decision.
//
// The loop escalates on the *group*, not on the leader: it keeps signalling until no live member
// is left, whatever the leader did. (hermes' PTY teardown stopped escalating once the leader had
// exited, leaving SIGHUP-ignoring grandchildren running.)
import { performance } from 'node:perf_hooks';
import { formatFingerprint, readFingerprint, sameFingerprint } from './fingerprint';
import { GroupSnapshot, GroupWatch, ownProcessGroup } from './killGroupMembers';
import type { KillGroupOptions, KillGroupResult } from './killTypes';
import { signalProblem } from './killSafe';

export const DEFAULT_GRACE_MS = 500;
export const DEFAULT_TIMEOUT_MS = 5000;
/** After SIGKILL, how long to wait for the group to empty before sending it again. */
const KILL_REPEAT_MS = 100;
const FIRST_POLL_MS = 1;
const MAX_POLL_MS = 10; // polls read only known members' stat files (see GroupWatch)

/** Yields sleep durations in ms; returns the result. Never throws for bad input. */
export function* groupTeardown(pgid: number, opts: KillGroupOptions = {}): Generator<number, KillGroupResult, void> {
  const started = performance.now();
  const since = () => Math.round((performance.now() - started) * 10) / 10;
  const result: KillGroupResult = { pgid, signals: [], survivors: [], elapsedMs: 0 };
  const finish = (refused?: string, survivors: number[] = []): KillGroupResult => {
    result.survivors = survivors;
    if (refused) result.refused = refused;
    result.elapsedMs = since();
    return result;
  };

  const badInput = validate(pgid, opts);
  if (badInput) return finish(badInput);
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const selfGroup = ownProcessGroup() === pgid;
  if (selfGroup && !opts.includeSelf) {
    return finish(`pgid ${pgid} is this process's own group; pass includeSelf to take it down with the caller`);
  }

  const watch = new GroupWatch(pgid, selfGroup ? process.pid : undefined);

  let signal: NodeJS.Signals = opts.firstSignal ?? 'SIGTERM';
  let waitMs = graceMs;
  let snap = watch.full();
  while (snap.alive && !(selfGroup && !snap.exact)) {
    // Re-check right before every signal: the group may have changed hands since the last one.
    const unsafe = unsafeToSignal(pgid, opts, snap);
    if (unsafe) return finish(unsafe, snap.members);
    const sendError = selfGroup ? sendToMembers(snap.members, signal) : sendToGroup(pgid, signal);
    if (sendError === 'empty') break;
    if (sendError) return finish(sendError, snap.members);
    result.signals.push({ signal, atMs: since(), members: snap.members });

    // The grace is cut short by the timeout, but SIGKILL is always sent at least once and
    // given its short wait before survivors are reported.
    const deadline = signal === 'SIGKILL'
      ? performance.now() + Math.max(waitMs, KILL_REPEAT_MS)
      : Math.min(performance.now() + waitMs, started + timeoutMs);
    let pollMs = FIRST_POLL_MS;
    do {
      yield Math.max(0, Math.min(pollMs, deadline - performance.now()));
      pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
      snap = watch.poll();
    } while (snap.alive && performance.now() < deadline);
    if (snap.alive && signal === 'SIGKILL' && performance.now() >= started + timeoutMs) {
      snap = watch.full(); // survivors: the whole group, not only the members seen so far
      break;
    }
    signal = 'SIGKILL';
    waitMs = KILL_REPEAT_MS;
    if (snap.alive) snap = watch.full(); // before the next signal: everyone, and their uids
  }
  if (selfGroup) {
    // The rest of the group is gone (or cannot be listed): the caller goes last, with anything
    // that slipped in since the last look.
    result.signals.push({ signal: 'SIGKILL', atMs: since(), members: [process.pid] });
    process.kill(-pgid, 'SIGKILL');
  }
  return finish(undefined, snap.members);
}

function validate(pgid: number, opts: KillGroupOptions): string | undefined {
  if (process.platform === 'win32') return 'process groups do not exist on Windows; use killTree';
  if (!Number.isSafeInteger(pgid) || pgid <= 0) return `not a process group id: ${String(pgid)}`;
  if (pgid === 1) return 'pgid 1 is init\'s group; never signalled';
  for (const key of ['graceMs', 'timeoutMs'] as const) {
    const v = opts[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
      return `${key} must be a non-negative number, got ${String(v)}`;
    }
  }
  if (opts.firstSignal !== undefined) {
    const problem = signalProblem(opts.firstSignal);
    if (problem) return problem;
  }
  if (opts.leader !== undefined && opts.leader.pid !== pgid) {
    return `leader fingerprint ${formatFingerprint(opts.leader)} is not the leader of group ${pgid}`;
  }
  return undefined;
}

/** Reasons to send nothing now: the leader pid was reused, or a member belongs to someone else. */
function unsafeToSignal(pgid: number, opts: KillGroupOptions, snap: GroupSnapshot): string | undefined {
  if (opts.leader) {
    // A pid stays reserved while it names a live group, so a dead leader with live members is
    // fine; a *live* pid === pgid with another start time means the group we meant is gone.
    const now = readFingerprint(pgid);
    if (now.state === 'unknown') {
      return `cannot tell whether pid ${pgid} is still the recorded leader ${formatFingerprint(opts.leader)} (${now.why}); not signalling its group`;
    }
    if (now.state === 'alive' && !sameFingerprint(now.fingerprint, opts.leader)) {
      return `pid ${pgid} is now another process (${formatFingerprint(now.fingerprint)}, recorded ${formatFingerprint(opts.leader)}); not signalling its group`;
    }
  }
  if (snap.otherUser.length > 0) {
    return `group ${pgid} has members owned by another user (pids ${snap.otherUser.join(', ')}); not signalling it`;
  }
  return undefined;
}

/** undefined when sent, 'empty' when the group no longer exists, else an error message. */
function sendToGroup(pgid: number, signal: NodeJS.Signals): string | undefined {
  try {
    process.kill(-pgid, signal);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return 'empty';
    if (code === 'EPERM') return `not permitted to signal group ${pgid} (EPERM)`;
    return `kill(-${pgid}, ${signal}) failed: ${(e as Error).message}`;
  }
}

/** Own-group mode: everyone but the caller, one by one. */
function sendToMembers(members: number[], signal: NodeJS.Signals): string | undefined {
  let sent = 0;
  for (const pid of members) {
    try {
      process.kill(pid, signal);
      sent++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPERM') return `not permitted to signal pid ${pid} (EPERM)`;
    }
  }
  return sent === 0 ? 'empty' : undefined;
}
