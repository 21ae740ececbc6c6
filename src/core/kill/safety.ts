// The one check made right before every signal the engine sends, to one process or to a whole
// group. What remains is the few microseconds between this read and kill(2), which Node cannot
// close (no pidfd_send_signal).
import { Fingerprint, formatFingerprint, isFingerprint } from '../fingerprint';
import { OWNER_ENV, PARENT_ENV } from '../ownerMarker';
import { canReadMarkers, markerOf, readFingerprint, uidOf } from './source';

/** 'unknown': whether it is still the recorded process (or whose it is) could not be read now — never guessed. */
export type RefusalReason = 'gone' | 'reused' | 'other-user' | 'protected' | 'unknown' | 'error';

export interface Refusal {
  reason: RefusalReason;
  message: string;
}

/** What is never signalled, and whose processes may be: fixed for one teardown. */
export interface Guard {
  /** PID 1, this process and its ancestors. */
  protectedPids: ReadonlySet<number>;
  /** This process's own group: a group signal would reach us too. */
  ownGroup?: number;
  /** Our uid; undefined on Windows (no uids). */
  uid?: number;
  /** The GATEWAY_WARDEN_OWNER of everything ours (TeardownOptions.ownerMarker): what corroborates a leaderless group. */
  ownerMarker?: string;
}

export type Subject =
  /** `justRead`: `fp` was read from the process table by the caller an instant ago (its identity is not read again). */
  | { kind: 'process'; fp: Fingerprint; justRead?: boolean }
  /** `members`: the live members a scan just listed; undefined when they could not be listed. */
  | { kind: 'group'; pgid: number; leader?: Fingerprint; members: readonly number[] | undefined };

/** Why `subject` must not be signalled now, or undefined when it may be. Never throws. */
export function refusal(subject: Subject, guard: Guard): Refusal | undefined {
  try {
    return subject.kind === 'process' ? processRefusal(subject.fp, guard, subject.justRead === true) : groupRefusal(subject, guard);
  } catch (e) {
    return { reason: 'error', message: `could not check: ${(e as Error)?.message ?? String(e)}` };
  }
}

function processRefusal(fp: Fingerprint, guard: Guard, justRead: boolean): Refusal | undefined {
  if (!isFingerprint(fp)) return { reason: 'error', message: `not a process fingerprint: ${JSON.stringify(fp)}` };
  const prot = protectedWhy(fp.pid, guard);
  if (prot) return { reason: 'protected', message: `pid ${fp.pid} is ${prot}; never signalled` };
  return (justRead ? undefined : identityRefusal(fp, 'pid')) ?? ownerRefusal(fp.pid, guard);
}

function groupRefusal(g: { pgid: number; leader?: Fingerprint; members: readonly number[] | undefined }, guard: Guard): Refusal | undefined {
  const { pgid, leader, members } = g;
  if (!Number.isSafeInteger(pgid) || pgid <= 0) return { reason: 'error', message: `not a process group id: ${String(pgid)}` };
  if (pgid === 1) return { reason: 'protected', message: 'pgid 1 is init\'s group; never signalled' };
  if (pgid === guard.ownGroup) return { reason: 'protected', message: `group ${pgid} is this process's own group; never signalled as a group` };
  let leaderGone = false;
  if (leader !== undefined) {
    if (!isFingerprint(leader) || leader.pid !== pgid) return { reason: 'error', message: `leader ${JSON.stringify(leader)} is not the leader of group ${pgid}` };
    // A live pid === pgid with another fingerprint means the group we meant is gone.
    const r = identityRefusal(leader, 'leader');
    if (r && r.reason !== 'gone') return { reason: r.reason, message: `group ${pgid}: ${r.message}` };
    leaderGone = r !== undefined;
  }
  if (members === undefined) return { reason: 'unknown', message: `group ${pgid}: its members cannot be listed now; not signalled` };
  for (const pid of members) {
    const prot = protectedWhy(pid, guard);
    if (prot) return { reason: 'protected', message: `group ${pgid} holds pid ${pid}, ${prot}; never signalled` };
    const r = ownerRefusal(pid, guard);
    if (r && r.reason !== 'gone') return { reason: r.reason, message: `group ${pgid}: ${r.message}` }; // gone: exited meanwhile
    if (leaderGone) {
      const why = leaderlessMemberProblem(pid, leader!, guard);
      if (why) return { reason: 'unknown', message: `group ${pgid}: its leader ${formatFingerprint(leader!)} has exited, and ${why}: the group may be another's (a pgid is free for reuse once its group was empty); not signalled` };
    }
  }
  return undefined;
}

/**
 * A pgid names our group only while that group never emptied: once it did, the pid may be any
 * new process's, and the group it leads (then leaves, its members still running) anyone's. With
 * the leader gone, nothing in the group proves it is ours but its members' markers: our owner
 * marker, or the dead leader's own fingerprint as the marker it lent what it started (a worker's
 * /run commands). Off Linux no marker can be read, and the group is taken on its pgid's word.
 */
function leaderlessMemberProblem(pid: number, leader: Fingerprint, guard: Guard): string | undefined {
  if (!canReadMarkers) return undefined;
  const owner = markerOf(pid, OWNER_ENV);
  if (guard.ownerMarker !== undefined && owner === guard.ownerMarker) return undefined;
  if (markerOf(pid, PARENT_ENV) === formatFingerprint(leader)) return undefined;
  const has = owner === undefined ? `no ${OWNER_ENV} (or it cannot be read now)` : `another ${OWNER_ENV} (${owner.slice(0, 80)})`;
  return `pid ${pid} carries ${has}${guard.ownerMarker === undefined ? ', and no owner marker was given to compare,' : ''} nor the leader's ${PARENT_ENV}`;
}

/** Is `fp.pid` still that process? A failed look is 'unknown', never a yes. */
function identityRefusal(fp: Fingerprint, what: 'pid' | 'leader'): Refusal | undefined {
  const now = readFingerprint(fp.pid);
  if (now.state === 'dead') return { reason: 'gone', message: `pid ${fp.pid} has exited (${now.why})` };
  if (now.state === 'unknown') {
    const recorded = what === 'leader' ? 'its recorded leader' : 'the recorded process';
    return { reason: 'unknown', message: `cannot tell whether pid ${fp.pid} is still ${recorded} ${formatFingerprint(fp)} (${now.why}); not signalled` };
  }
  const seen = now.fingerprint;
  if (seen.bootId !== fp.bootId) return { reason: 'reused', message: `pid ${fp.pid} was recorded in another boot (${fp.bootId}, now ${seen.bootId}); it is another process` };
  if (seen.startTime !== fp.startTime) {
    return { reason: 'reused', message: `pid ${fp.pid} now belongs to another process (start time ${seen.startTime}, recorded ${fp.startTime}); not signalled` };
  }
  return undefined;
}

function ownerRefusal(pid: number, guard: Guard): Refusal | undefined {
  if (guard.uid === undefined) return undefined; // Windows: no uids
  const owner = uidOf(pid);
  if (owner.state === 'gone') return { reason: 'gone', message: `pid ${pid} has exited` };
  if (owner.state === 'unknown') return { reason: 'unknown', message: `cannot tell whose process pid ${pid} is (${owner.why}); not signalled` };
  if (owner.value !== guard.uid) return { reason: 'other-user', message: `pid ${pid} belongs to uid ${owner.value}, not to us (uid ${guard.uid})` };
  return undefined;
}

function protectedWhy(pid: number, guard: Guard): string | undefined {
  if (pid === 1) return 'init (pid 1)';
  if (pid === process.pid) return 'this process';
  if (guard.protectedPids.has(pid)) return 'an ancestor of this process';
  return undefined;
}
