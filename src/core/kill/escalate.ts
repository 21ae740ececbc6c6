// The escalate-until-empty loop, the only one in core: one membership look per poll for all
// targets together, the safety check right before every signal, SIGTERM → grace → SIGKILL,
// and SIGKILL again for every member that turns up, until every target is empty or the hard
// bound passes. It escalates on what is still alive, not on a leader: hermes' PTY teardown
// stopped once the leader had exited and left SIGHUP-ignoring grandchildren running.
//
// Polls are cheap: they re-read only the members already known (O(members), where the platform
// can read one process); the whole table is scanned before each signal phase and whenever every
// known member of a target is gone, to find newcomers (a fork since the last scan) or prove the
// target empty. A group that answers kill(-pgid, 0) with ESRCH is empty without any scan.
// A cgroup target needs no table at all: its members are the kernel's own list (cgroup.procs),
// and its SIGKILL is one write to cgroup.kill; with only cgroup targets, /proc is never scanned.
// Where cgroup.kill is missing (Linux < 5.14) the cgroup is frozen for its SIGKILL phase, so no
// member can fork while it is killed by pid (a frozen process still dies of SIGKILL), and thawed
// before the engine returns, whatever happened.
import { performance } from 'node:perf_hooks';
import * as os from 'node:os';
import { Fingerprint, formatFingerprint, isFingerprint, selfFingerprint } from '../fingerprint';
import { OWNER_ENV } from '../ownerMarker';
import { CgroupRead, readPopulated, writeCgroupFile } from '../cgroup/cgroupFiles';
import { listMembers } from '../cgroup/cgroupMembers';
import { CgroupRefusal, checkMembers, protectedPids, targetProblem } from '../cgroup/cgroupSafety';
import { removeCgroups } from '../cgroup/cgroupTree';
import { descendants, groupRows, indexTable, MarkerRead, ownedBy, readMarker, TableIndex } from './members';
import { Guard, Refusal, refusal } from './safety';
import { canReadOne, fingerprintOfRow, groupIsEmpty, ownerAndHandler, ownProcessGroup, readFingerprint, readOne, Row, scanTable, sparedWhy } from './source';
import type { ProcRead } from '../procfs';
import type { Steps } from './steps';
import { CgroupOutcome, DEFAULT_GRACE_MS, defaultTimeoutMs, ProcessOutcome, Spare, Target, TeardownOptions, TeardownReport } from './targets';

/** This process's parent when the engine was loaded (early: before anything could re-parent us). */
const PARENT_AT_LOAD = process.ppid;
/** SIGKILL is always sent, and given this long, before survivors are reported. */
const KILL_SETTLE_MS = 100;
const MAX_POLL_MS = 10;
/** Polling a killed cgroup reads one small file: kept this fine. */
const CGROUP_POLL_MS = 2;
/** A killed cgroup still populated is re-listed this often, for a member that joined after the write. */
const CGROUP_RELIST_MS = 100;

interface Member {
  pid: number;
  /** As first seen; undefined where the scan has no start times (filled in before its first signal). */
  fp?: Fingerprint;
  entry: ProcessOutcome;
  /** The latest signal that reached it. */
  sent?: NodeJS.Signals;
  /** Why the last check could not tell whether it may be signalled (retried on every poll). */
  unknown?: string;
  set: TargetState;
  /** In an endsSelf cgroup: whether it catches SIGTERM (its mask read once; unreadable counts as catching). */
  catchesTerm?: boolean;
  /** Its owner as read with that mask, and in which pass (Teardown.pass): the end's member check uses it in that pass only. */
  owner?: { pass: number; uid: ProcRead<number> };
}

interface TargetState {
  target: Target;
  live: Set<Member>;
  done: boolean;
  /** Group: the last scan listed every member (the uid check needs them all). */
  listed: boolean;
  /** Group: why the last check could not tell (retried). */
  unknown?: string;
  /** Tree: the root has been taken in. */
  rooted: boolean;
  /** Tree: pids vetoed by `spare` (with their subtrees). Cgroup: members refused (not taken in again). */
  spared: Set<number>;
  /** Cgroup: what is known about it so far. */
  cg?: CgroupState;
  /** Own: the PARENT_ENV values that make a process ours (ours and `markedBy`'s), formatted once. */
  marks?: Set<string>;
}

interface CgroupState {
  /** This process is a member: SIGKILL by pid (cgroup.kill would kill us too), never removed. */
  self: boolean;
  /** cgroup.kill may be written (false after a failed write: Linux < 5.14). */
  killFile: boolean;
  /** The fallback froze it (thawed in finish); false: freezing failed (no cgroup.freeze), not retried. */
  frozen?: boolean;
  method: CgroupOutcome['method'];
  /** When its members were last listed (performance.now()). */
  listedAt: number;
  /** It did not exist at the first look. */
  gone: boolean;
  refused: boolean;
  /** Its members but us as last listed, and in which pass of the loop (Teardown.pass). */
  lastList?: { pass: number; pids: number[] };
}

/** A cgroup refusal in the engine's terms ('not-ours': never written to, like a protected pid). */
function cgroupRefusal(r: CgroupRefusal, dir: string): Refusal {
  const reason = r.reason === 'not-ours' ? 'protected' : r.reason;
  return { reason, message: `cgroup ${dir}: ${r.why}` };
}

export function* escalate(targets: readonly Target[], opts: TeardownOptions = {}): Steps<TeardownReport> {
  const t = new Teardown(targets, opts);
  try {
    return yield* t.run();
  } finally {
    t.thawAll(); // also when a step threw: a cgroup is never left frozen by us
  }
}

class Teardown {
  private readonly t0 = performance.now();
  private readonly report: TeardownReport = { processes: [], signals: [], refusals: [], survivors: [], elapsedMs: 0 };
  private readonly sets: TargetState[];
  private readonly members = new Map<number, Member>();
  /**
   * Members refused for good (another user's, protected; by pid, or pid:start time where
   * known): not taken in again by a later scan — each would be checked, refused and reported
   * again at every poll of the grace.
   */
  private readonly refusedOnce = new Set<string>();
  private readonly left: number[] = [];
  private guard?: Guard;
  /** Passes of the loop in run() so far: a cgroup listed in this pass needs no second list before its end. */
  private pass = 0;
  /** Own target: candidates whose marker was read already (`pid:startTime`): each is read once per teardown. */
  private readonly markerChecked = new Set<string>();
  private readonly readMarkerOnce: MarkerRead = (r) => {
    const key = `${r.pid}:${r.startTime}`;
    if (this.markerChecked.has(key)) return undefined;
    this.markerChecked.add(key);
    return readMarker(r);
  };

  constructor(targets: readonly Target[], private readonly opts: TeardownOptions) {
    // Groups first: a process a group takes in is signalled through its group, not one by one.
    // Cgroups before all: the kernel's list names every member, whatever group it is in.
    const order = { cgroup: 0, group: 1, tree: 2, own: 3 } as const;
    this.sets = [...targets]
      .sort((a, b) => order[a.kind] - order[b.kind])
      .map((target) => ({
        target, live: new Set(), done: false, listed: false, rooted: false, spared: new Set(),
        ...(target.kind === 'cgroup' ? { cg: { self: false, killFile: target.killFile ?? true, method: 'none', listedAt: 0, gone: false, refused: false } as CgroupState } : {}),
      }));
  }

  *run(): Steps<TeardownReport> {
    const bad = this.validate();
    if (bad) {
      this.report.refusals.push({ reason: 'error', message: bad });
      return this.finish();
    }
    const checked = new Set<string>();
    for (const s of this.sets) this.precheck(s, checked);
    // SIGKILL first: a cgroup we are not in is killed before anything else is read (its members
    // are taken in after the write), so the kernel starts on it at once.
    const firstSignal = this.opts.firstSignal ?? (this.opts.graceMs === 0 ? 'SIGKILL' : 'SIGTERM');
    if (firstSignal === 'SIGKILL') {
      for (const s of this.sets) {
        // An endsSelf cgroup's write ends us: it comes last (signalOwnCgroup).
        if (s.done || s.target.kind !== 'cgroup' || s.target.endsSelf || !s.cg!.killFile) continue;
        this.guard ??= this.withOwner(guardWithoutTable());
        this.killCgroup(s, s.target.path, true);
      }
    }
    const graceMs = this.opts.graceMs ?? DEFAULT_GRACE_MS;
    const timeoutMs = this.opts.timeoutMs ?? defaultTimeoutMs(graceMs);
    const deadline = this.t0 + timeoutMs;
    let signal: NodeJS.Signals = firstSignal;
    const graceEnd = Math.min(this.t0 + graceMs, deadline);
    let phaseStart = this.t0;
    // Right after a SIGKILL-first cgroup.kill its members are still exiting: listing them again at
    // once would take a fork that raced the write (killed by it too) for a newcomer and write
    // again. Watched by `populated` instead, and re-listed after CGROUP_RELIST_MS as any.
    let full = !this.onlyWatchedCgroups();
    let pollMs = 1;
    for (;;) {
      this.pass++;
      if (this.allDone()) return this.finish();
      if (!full) full = this.poll();
      if (full) this.scan();
      if (this.allDone()) return this.finish();
      if (this.signalAll(signal)) pollMs = 1;
      if (this.allDone()) return this.finish();
      const now = performance.now();
      if (signal === 'SIGKILL') {
        if (now >= deadline && now >= phaseStart + KILL_SETTLE_MS) return this.finish();
      } else if (now >= graceEnd) {
        // Escalate, after a fresh look at everyone (and their uids).
        signal = 'SIGKILL';
        phaseStart = now;
        full = true;
        continue;
      }
      const wakeAt = signal === 'SIGKILL' ? Math.max(deadline, phaseStart + KILL_SETTLE_MS) : graceEnd;
      yield Math.max(0, Math.min(pollMs, wakeAt - now));
      pollMs = Math.min(pollMs * 2, this.onlyWatchedCgroups() ? CGROUP_POLL_MS : MAX_POLL_MS);
      full = !canReadOne;
    }
  }

  private validate(): string | undefined {
    for (const key of ['graceMs', 'timeoutMs'] as const) {
      const v = this.opts[key];
      if (v !== undefined && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) return `${key} must be a non-negative number, got ${String(v)}`;
    }
    const first = this.opts.firstSignal;
    if (first !== undefined && !(typeof first === 'string' && first in os.constants.signals)) return `unknown signal: ${String(first)}`;
    return undefined;
  }

  /** Refusals that need no look at the table, and groups already empty (no scan needed then). A tree and its parent shared by several cgroup targets are checked once (`checkedDirs`). */
  private precheck(s: TargetState, checkedDirs: Set<string>): void {
    const t = s.target;
    if (t.kind === 'group') {
      if (!Number.isSafeInteger(t.pgid) || t.pgid <= 1) this.refuseTarget(s, refusal({ kind: 'group', pgid: t.pgid, members: [] }, { protectedPids: new Set() })!);
      else if (groupIsEmpty(t.pgid)) s.done = true;
    } else if (t.kind === 'tree' && !isFingerprint(t.root)) {
      this.refuseTarget(s, { reason: 'error', message: `not a process fingerprint: ${JSON.stringify(t.root)}` });
    } else if (t.kind === 'cgroup') {
      // Ours, and a real cgroup2 directory all the way up to the tree's parent (no symlink).
      const bad = targetProblem(t.path, t.parent, checkedDirs);
      if (bad === 'gone') {
        s.cg!.gone = true;
        s.done = true;
      } else if (bad !== undefined) this.refuseTarget(s, cgroupRefusal(bad, t.path));
    }
  }

  /** Every target left is a cgroup watched by `populated` (see watchedByPopulated). */
  private onlyWatchedCgroups(): boolean {
    return this.sets.every((s) => s.done || this.watchedByPopulated(s));
  }

  /**
   * A cgroup we are not in whose members have all been signalled — by its cgroup.kill, or each
   * by SIGTERM in the grace: one read of `populated` says whether all of it is gone (the kernel's
   * proof), instead of one read per member.
   */
  private watchedByPopulated(s: TargetState): boolean {
    if (s.done || !s.cg || s.cg.self || s.target.kind !== 'cgroup') return false;
    if (s.cg.method === 'cgroup.kill') return true;
    if (s.live.size === 0) return false;
    for (const m of s.live) if (m.sent === undefined) return false;
    return true;
  }

  private allDone(): boolean {
    return this.sets.every((s) => s.done);
  }

  // ---- membership ------------------------------------------------------------------------

  private withOwner(g: Guard): Guard {
    const ownerMarker = this.opts.ownerMarker ?? process.env[OWNER_ENV];
    return ownerMarker === undefined ? g : { ...g, ownerMarker };
  }

  /** One pass over the table for every target: who is gone, who is new. Cgroup targets alone need no table. */
  private scan(): void {
    const needTable = this.sets.some((s) => !s.done && s.target.kind !== 'cgroup');
    const table = needTable ? indexTable(scanTable()) : undefined;
    this.guard ??= this.withOwner(table ? guardFrom(table.byPid) : guardWithoutTable());
    for (const m of [...this.members.values()]) {
      const row = table ? (table.byPid.get(m.pid) ?? (table.complete ? 'gone' : readOne(m.pid))) : readOne(m.pid);
      this.recheck(m, row);
    }
    for (const s of this.sets) {
      if (s.done) continue;
      const t = s.target;
      if (t.kind === 'cgroup') {
        this.adoptCgroup(s, t.path);
        continue;
      }
      if (!table) continue;
      if (t.kind === 'group') {
        for (const r of groupRows(table, t.pgid)) this.adopt(s, r);
        s.listed = table.complete;
      } else if (t.kind === 'tree') {
        this.adoptTree(s, t.root, t.spare, table);
      } else {
        this.adoptOwn(s, t.markedSince, t.markedBy, table);
      }
      if (s.live.size === 0 && (table.complete || (t.kind === 'group' && groupIsEmpty(t.pgid)))) s.done = true;
    }
  }

  /** Re-reads the known members only. Returns whether a full scan is needed now. */
  private poll(): boolean {
    let full = false;
    // Cgroups watched by `populated` are read in order up to the first still populated one: all
    // must be empty before the teardown ends, so the others wait for a later poll (one read per
    // poll however many leaves — 50 sessions are 50 — instead of all of them every 2 ms).
    const watched = new Set<TargetState>();
    let populatedSeen = false;
    for (const s of this.sets) {
      if (!this.watchedByPopulated(s)) continue;
      if (!populatedSeen) {
        const p = readPopulated((s.target as { path: string }).path);
        if (p.state === 'gone' || (p.state === 'found' && !p.value)) {
          for (const m of [...s.live]) this.settle(m, 'gone');
          s.done = true;
          continue;
        }
        if (p.state === 'unknown') continue; // its members are re-read one by one instead
        populatedSeen = true;
      }
      if (performance.now() - s.cg!.listedAt >= CGROUP_RELIST_MS) full = true;
      else watched.add(s);
    }
    // A member left unsignalled to its endsSelf cgroup's SIGKILL is not re-read: that one write
    // ends it, alive or not, and the grace waits only for the catchers (once signalled by pid —
    // no cgroup.kill — its end is watched as any member's).
    for (const m of [...this.members.values()]) if (!watched.has(m.set) && (m.catchesTerm !== false || m.sent !== undefined)) this.recheck(m, readOne(m.pid));
    for (const s of this.sets) {
      if (s.done || s.live.size > 0) continue;
      // Every known member is gone: empty, or someone joined since the last scan.
      if (s.target.kind === 'group' && groupIsEmpty(s.target.pgid)) s.done = true;
      else full = true;
    }
    return full;
  }

  private recheck(m: Member, now: Row | 'gone' | 'unknown'): void {
    if (now === 'unknown') return; // only proof ends a member
    if (now === 'gone') return this.settle(m, 'gone');
    if (m.fp && now.startTime !== undefined && now.startTime !== m.fp.startTime) return this.settle(m, 'reused'); // its pid is another process now
    const t = m.set.target;
    if (t.kind === 'group' && now.pgid !== t.pgid) {
      // setsid/setpgid: a group signal no longer reaches it, and a group is not followed.
      this.drop(m, 'survived', `pid ${m.pid} left group ${t.pgid} during the teardown; not followed`);
      this.left.push(m.pid);
    }
  }

  private adopt(s: TargetState, row: Row): Member | undefined {
    if (this.members.has(row.pid) || this.refusedOnce.has(String(row.pid)) || this.refusedOnce.has(`${row.pid}:${row.startTime}`)) return undefined;
    const m: Member = { pid: row.pid, fp: fingerprintOfRow(row), set: s, entry: { pid: row.pid, outcome: 'survived', message: '', signals: [] } };
    this.members.set(m.pid, m);
    s.live.add(m);
    this.report.processes.push(m.entry);
    return m;
  }

  /**
   * The root, then every descendant of a live member (parents before children) — but only once
   * the root has passed the safety check: the tree of a process we may not signal, or cannot
   * tell about yet, is not entered.
   */
  private adoptTree(s: TargetState, root: Fingerprint, spare: Spare | undefined, table: TableIndex): void {
    if (!s.rooted) {
      let m = this.members.get(root.pid);
      if (!m) {
        m = this.adopt(s, { pid: root.pid, ppid: 0, pgid: 0 });
        if (!m) return;
        m.fp = root;
      }
      const r = refusal({ kind: 'process', fp: root }, this.guard!);
      if (r?.reason === 'gone' || r?.reason === 'reused') return this.settle(m, r.reason);
      if (r?.reason === 'unknown') return void (m.unknown = r.message);
      if (r) return this.refuseTarget(s, r);
      s.rooted = true;
    }
    // Members of another target are walked through: their descendants may be ours.
    const admit = (r: Row): boolean => {
      if (this.members.has(r.pid)) return true;
      if (s.spared.has(r.pid)) return false;
      const why = spare && sparedWhy(spare, r);
      if (why === undefined) return true;
      s.spared.add(r.pid);
      this.report.processes.push({ pid: r.pid, outcome: 'refused', reason: 'protected', message: `pid ${r.pid} spared: ${why}`, signals: [] });
      return false;
    };
    for (const r of descendants(table, [...s.live].map((m) => m.pid), admit)) this.adopt(s, r);
  }

  /**
   * The cgroup's members from the kernel's list (itself and every cgroup below it), this process
   * excepted. Empty (or gone) is proof: a member leaves cgroup.procs when it exits.
   */
  private adoptCgroup(s: TargetState, dir: string): void {
    const listed = listMembers(dir);
    if (listed.state === 'gone') {
      for (const m of [...s.live]) this.recheck(m, readOne(m.pid));
      if (s.live.size === 0) s.done = true;
      return;
    }
    if (listed.state === 'unknown') {
      s.unknown = `cgroup ${dir}: its members cannot be listed now (${listed.why})`;
      return;
    }
    s.unknown = undefined;
    s.cg!.listedAt = performance.now();
    const pids = listed.value.pids;
    if (pids.includes(process.pid)) s.cg!.self = true;
    const others = pids.filter((p) => p !== process.pid);
    // PID 1, an ancestor, a member outside our pid namespace (0): the whole cgroup is refused.
    const protect = new Set(this.guard!.protectedPids);
    protect.delete(process.pid);
    protect.add(1);
    const bad = checkMembers(others, { protect, allowOtherUsers: true });
    if (bad) return this.refuseTarget(s, cgroupRefusal(bad, dir));
    s.cg!.lastList = { pass: this.pass, pids: others };
    // Taken in by pid alone: its fingerprint is read right before its first signal (one read
    // per member, not two — 200 of them in a 50-session sweep), and a member gone meanwhile is
    // settled then.
    for (const pid of others) {
      if (this.members.has(pid) || s.spared.has(pid)) continue;
      this.adopt(s, { pid, ppid: 0, pgid: 0 });
    }
    if (others.length > 0) return;
    if (s.cg!.self) {
      s.done = true;
      return;
    }
    // A dying member leaves cgroup.procs before it has finished exiting; the cgroup is empty (and
    // removable) only once the kernel says `populated 0`.
    const populated = readPopulated(dir);
    if (populated.state === 'gone' || (populated.state === 'found' && !populated.value)) {
      // Members taken in at a cgroup.kill may already have left the list: each one's own end is
      // read (a member moved out of the cgroup by someone else is not "killed" by us).
      for (const m of [...s.live]) {
        const now = readOne(m.pid);
        this.recheck(m, now);
        if (s.live.has(m)) this.drop(m, 'survived', now === 'unknown' ? `pid ${m.pid}: cannot tell whether it exited (its cgroup ${dir} is empty)` : `pid ${m.pid} left cgroup ${dir} during the teardown; not followed`);
      }
      s.done = true;
    } else if (populated.state === 'unknown') s.unknown = `cgroup ${dir}: cannot tell whether it is empty (${populated.why})`;
  }

  /**
   * What this process started (ownedBy): its group when it leads one, what carries our marker (or
   * `markedBy`'s) outside group and tree, each such candidate read once per teardown, and every
   * descendant of these, of us and of the members already taken in.
   * Our parent's other children are our siblings, not our descendants, while it is still our
   * parent (it is one of our programs, never a subreaper).
   */
  private adoptOwn(s: TargetState, markedSince: number | undefined, markedBy: readonly Fingerprint[] = [], table: TableIndex): void {
    const self = table.byPid.get(process.pid);
    const ownGroup = self ? self.pgid : ownProcessGroup();
    // The marker values are fixed for the whole teardown: formatted once, not on every scan.
    s.marks ??= new Set(markedBy.map(formatFingerprint));
    try {
      s.marks.add(formatFingerprint(selfFingerprint()));
    } catch {
      // Unreadable now: markedBy's still count; ours is tried again on the next scan.
    }
    const owned = ownedBy(table, {
      pid: process.pid,
      row: self ?? { pid: process.pid, ppid: process.ppid, pgid: ownGroup ?? 0 },
      startTime: self?.startTime,
      leads: ownGroup === process.pid ? ownGroup : undefined,
      marks: s.marks,
      since: markedSince ?? 0,
      siblingsOf: process.ppid === PARENT_AT_LOAD ? process.ppid : undefined,
    }, this.readMarkerOnce, [...s.live].map((m) => m.pid), (pid) => this.members.has(pid));
    for (const r of owned) this.adopt(s, r);
  }

  // ---- signals ---------------------------------------------------------------------------

  /** Sends `signal` to every target member it has not reached yet. Returns whether any was sent. */
  private signalAll(signal: NodeJS.Signals): boolean {
    let sent = false;
    for (const s of this.sets) {
      if (s.done) continue;
      if (s.target.kind === 'cgroup' && s.target.endsSelf && s.cg!.self) sent = this.signalOwnCgroup(s, s.target.path, signal) || sent;
      else if (s.target.kind === 'group') sent = this.signalGroup(s, s.target.pgid, s.target.leader, s.target.hung ? 'SIGKILL' : signal) || sent;
      else if (s.target.kind === 'cgroup' && signal === 'SIGKILL' && !s.cg!.self && s.cg!.killFile && this.killCgroup(s, s.target.path)) sent = true;
      else {
        if (s.target.kind === 'cgroup' && signal === 'SIGKILL' && !s.cg!.self && !s.cg!.killFile && !s.done) this.freezeCgroup(s, s.target.path);
        for (const m of [...s.live]) if (m.sent !== signal) sent = this.signalProcess(m, signal) || sent;
      }
    }
    return sent;
  }

  private signalGroup(s: TargetState, pgid: number, leader: Fingerprint | undefined, signal: NodeJS.Signals): boolean {
    const live = [...s.live];
    // Nothing listed and nothing known (an incomplete scan): say why it cannot be signalled.
    if (live.length === 0 && s.listed) return false;
    if (live.length > 0 && live.every((m) => m.sent === signal)) return false;
    const pids = live.map((m) => m.pid);
    const r = refusal({ kind: 'group', pgid, leader, members: s.listed ? pids : undefined }, this.guard!);
    if (r?.reason === 'unknown') {
      s.unknown = r.message;
      return false;
    }
    if (r) {
      this.refuseTarget(s, r);
      return false;
    }
    try {
      process.kill(-pgid, signal);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') {
        for (const m of live) this.settle(m, 'gone');
        s.done = true;
      } else {
        this.refuseTarget(s, code === 'EPERM'
          ? { reason: 'other-user', message: `not permitted to signal group ${pgid} (EPERM)` }
          : { reason: 'error', message: `kill(-${pgid}, ${signal}) failed: ${(e as Error).message}` });
      }
      return false;
    }
    s.unknown = undefined;
    for (const m of live) {
      m.sent = signal;
      m.entry.signals.push(signal);
    }
    this.report.signals.push({ signal, atMs: this.since(), pgid, members: pids });
    return true;
  }

  /**
   * SIGKILL for a whole cgroup we are not in: one cgroup.kill write, after a fresh list and the
   * member check (PID 1, an ancestor, another uid's member, one outside our pid namespace refuse
   * it). Sent again only when a newcomer turns up. False when nothing was sent by it: already
   * sent to all, refused, or no cgroup.kill here (then by pid, as for any member).
   * `ending`: this process is a member and is ended by the write too (an endsSelf target, see
   * signalOwnCgroup); beforeSelfEnd runs right before it, and it returns only when the write
   * failed or did not end us.
   */
  private killCgroup(s: TargetState, dir: string, checked = false, ending = false): boolean {
    // Ending: a list made in this very pass is the list. A second walk of the tree (50 leaves:
    // 8–18 ms here on 2 cores) would only narrow, never close, the window in which a member
    // forks (the write kills the fork too) or execs a setuid program (checkMembers below).
    const listedNow = ending && s.cg!.lastList?.pass === this.pass ? s.cg!.lastList.pids : undefined;
    const live = [...s.live];
    if (live.length > 0 && live.every((m) => m.sent === 'SIGKILL')) return false;
    const bad = checked ? undefined : targetProblem(dir, (s.target as { parent?: string }).parent);
    if (bad === 'gone') {
      for (const m of live) this.recheck(m, readOne(m.pid));
      if (s.live.size === 0) s.done = true;
      return false;
    }
    if (bad !== undefined) return this.refuseTarget(s, cgroupRefusal(bad, dir)), false;
    const listed: CgroupRead<{ pids: readonly number[] }> = listedNow ? { state: 'found', value: { pids: [...listedNow, process.pid] } } : listMembers(dir);
    if (listed.state !== 'found') {
      if (listed.state === 'unknown') s.unknown = `cgroup ${dir}: its members cannot be listed now (${listed.why}); not killed`;
      return false;
    }
    const self = listed.value.pids.includes(process.pid);
    if (self && !ending) {
      s.cg!.self = true;
      return false;
    }
    const pids = listed.value.pids.filter((p) => p !== process.pid);
    if (pids.length === 0 && !self) return false; // the last members are still exiting: wait for populated 0
    const protect = new Set([...this.guard!.protectedPids, 1]);
    if (self) protect.delete(process.pid);
    // Ending: an owner read with its member's mask in this very pass is the owner (others are read now).
    const ownerOf = (pid: number) => {
      const o = this.members.get(pid)?.owner;
      return o?.pass === this.pass ? o.uid : undefined;
    };
    const refused = checkMembers(pids, { protect, ...(ending ? { ownerOf } : {}) });
    if (refused) return this.refuseTarget(s, cgroupRefusal(refused, dir)), false;
    if (self) {
      try {
        this.opts.beforeSelfEnd?.();
      } catch {
        // Last words that fail do not stop the end: the tree still goes.
      }
    }
    const w = writeCgroupFile(`${dir}/cgroup.kill`, '1');
    if (!w.ok) {
      if (!w.gone) s.cg!.killFile = false; // no cgroup.kill (Linux < 5.14): by pid from now on
      return false;
    }
    s.cg!.method = 'cgroup.kill';
    s.cg!.listedAt = performance.now();
    // Taken in for the report only (the kernel signalled them): no read each.
    for (const pid of pids) if (!this.members.has(pid)) this.adopt(s, { pid, ppid: 0, pgid: 0 });
    for (const m of s.live) {
      m.sent = 'SIGKILL';
      m.entry.signals.push('SIGKILL');
    }
    this.report.signals.push({ signal: 'cgroup.kill', atMs: this.since(), cgroup: dir, members: pids });
    return true;
  }

  /**
   * A cgroup this process is in and ends with (an `endsSelf` target). SIGTERM only to the members
   * that catch it (an unreadable mask counts as catching): to one that does not, SIGTERM's default
   * action is the end SIGKILL gives, paid for with one syscall and one wake-up that preempts us
   * per member — 200 of them took 65–80 ms at 50 sessions on 2 cores. Those are left to the
   * SIGKILL, which comes as soon as no catcher is left (the grace has no one else to wait for) or
   * the grace is over, whichever is first: one cgroup.kill of the whole cgroup, this process
   * included, atomic like the kernel's own floor — once every other target is done (until then,
   * and without cgroup.kill, its members are SIGKILLed by pid as in any cgroup we are in).
   */
  private signalOwnCgroup(s: TargetState, dir: string, signal: NodeJS.Signals): boolean {
    const cg = s.cg!;
    const catchers = signal === 'SIGTERM' ? this.catchersOf(s) : [];
    const now = signal === 'SIGTERM' && catchers.length === 0 ? 'SIGKILL' : signal;
    const othersDone = this.sets.every((o) => o === s || o.done);
    if (now === 'SIGKILL' && cg.killFile && othersDone && cg.method !== 'cgroup.kill' && this.killCgroup(s, dir, false, true)) return true;
    if (now !== signal && !othersDone) return false; // its end waits for the other targets
    let sent = false;
    for (const m of now === 'SIGTERM' ? catchers : [...s.live]) if (m.sent !== now) sent = this.signalProcess(m, now) || sent;
    return sent;
  }

  /**
   * The live members of `s` that catch SIGTERM, each one's mask read once (a newcomer's when it is
   * first seen). The owners read by the same opens serve the member check of a cgroup.kill in the
   * same pass (one open per member, not two: 200 at 50 sessions).
   */
  private catchersOf(s: TargetState): Member[] {
    const catchers: Member[] = [];
    for (const m of s.live) {
      if (m.catchesTerm === undefined) {
        const h = ownerAndHandler(m.pid, 'SIGTERM');
        m.catchesTerm = h.state === 'unknown' || (h.state === 'found' && h.value.handles !== false);
        m.owner = { pass: this.pass, uid: h.state === 'found' ? { state: 'found', value: h.value.uid } : h };
        // Its identity as of this read: a member left to the write may wait out the grace unread,
        // and a by-pid signal later (no cgroup.kill) must not reach a process that reused its pid.
        if (h.state === 'found') m.fp ??= fingerprintOfRow({ pid: m.pid, ppid: 0, pgid: 0, startTime: h.value.startTime });
      }
      if (m.catchesTerm) catchers.push(m);
    }
    return catchers;
  }

  /**
   * The fallback without cgroup.kill: freeze the cgroup once, before its first SIGKILL by pid, and
   * list it again, so a fork that raced the freeze is taken in now; newcomers found later are
   * SIGKILLed as any member. Without cgroup.freeze (Linux < 5.2) it is killed by pid unfrozen; so
   * is a cgroup holding a process we may not signal (another uid's is never frozen by us either).
   */
  private freezeCgroup(s: TargetState, dir: string): void {
    const cg = s.cg!;
    if (cg.frozen !== undefined) return;
    const listed = listMembers(dir);
    const mayFreeze = listed.state === 'found' && !checkMembers(listed.value.pids, { protect: new Set([...this.guard!.protectedPids, 1]) });
    cg.frozen = mayFreeze && writeCgroupFile(`${dir}/cgroup.freeze`, '1').ok;
    if (!cg.frozen) return;
    cg.method = 'freeze+SIGKILL';
    this.adoptCgroup(s, dir);
  }

  /** Thaws every cgroup the fallback froze (its members are SIGKILLed or refused by now). */
  thawAll(): void {
    for (const s of this.sets) {
      if (!s.cg?.frozen || s.target.kind !== 'cgroup') continue;
      writeCgroupFile(`${s.target.path}/cgroup.freeze`, '0');
      s.cg.frozen = false;
    }
  }

  private signalProcess(m: Member, signal: NodeJS.Signals): boolean {
    let justRead = false;
    if (!m.fp) {
      const now = readFingerprint(m.pid);
      if (now.state === 'dead') return this.settle(m, 'gone'), false;
      if (now.state === 'unknown') return (m.unknown = `cannot tell which process pid ${m.pid} is (${now.why}); not signalled`), false;
      m.fp = now.fingerprint;
      justRead = true;
    }
    const r = refusal({ kind: 'process', fp: m.fp, ...(justRead ? { justRead } : {}) }, this.guard!);
    if (r?.reason === 'gone' || r?.reason === 'reused') return this.settle(m, r.reason), false;
    if (r?.reason === 'unknown') return (m.unknown = r.message), false;
    if (r) return this.refuseMember(m, r), false;
    try {
      process.kill(m.pid, signal);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') this.settle(m, 'gone');
      else this.refuseMember(m, code === 'EPERM'
        ? { reason: 'other-user', message: `not permitted to signal pid ${m.pid} (EPERM)` }
        : { reason: 'error', message: `kill(${m.pid}, ${signal}) failed: ${(e as Error).message}` });
      return false;
    }
    m.unknown = undefined;
    m.sent = signal;
    m.entry.signals.push(signal);
    this.report.signals.push({ signal, atMs: this.since(), pid: m.pid, members: [m.pid] });
    if (signal === 'SIGKILL' && m.set.cg && m.set.cg.method === 'none') m.set.cg.method = 'by-pid';
    return true;
  }

  // ---- outcomes --------------------------------------------------------------------------

  /** A member that is no longer the process we took in: killed by us, or gone on its own. */
  private settle(m: Member, why: 'gone' | 'reused'): void {
    const sigs = m.entry.signals;
    if (sigs.length) this.drop(m, 'killed', `pid ${m.pid} exited after ${sigs.join(', ')}`);
    else if (why === 'gone') this.drop(m, 'already-gone', `pid ${m.pid} had already exited`, 'gone');
    else this.drop(m, 'already-gone', `pid ${m.pid} had been reused by another process; not signalled`, 'reused');
  }

  private refuseMember(m: Member, r: Refusal): void {
    if (m.set.cg) m.set.spared.add(m.pid);
    this.drop(m, 'refused', r.message, r.reason);
    this.report.refusals.push({ ...r, pid: m.pid });
  }

  private refuseTarget(s: TargetState, r: Refusal): void {
    for (const m of [...s.live]) this.drop(m, 'refused', r.message, r.reason);
    s.done = true;
    if (s.cg) s.cg.refused = true;
    const t = s.target;
    this.report.refusals.push({ ...r, ...(t.kind === 'group' ? { pgid: t.pgid } : t.kind === 'tree' && isFingerprint(t.root) ? { pid: t.root.pid } : {}) });
  }

  private drop(m: Member, outcome: ProcessOutcome['outcome'], message: string, reason?: ProcessOutcome['reason']): void {
    // Only for good: another user's and a protected process stay so; "unknown" is asked again.
    if (outcome === 'refused' && (reason === 'other-user' || reason === 'protected')) {
      this.refusedOnce.add(m.fp?.startTime !== undefined ? `${m.pid}:${m.fp.startTime}` : String(m.pid));
    }
    Object.assign(m.entry, { outcome, message }, reason ? { reason } : {});
    this.members.delete(m.pid);
    m.set.live.delete(m);
  }

  private finish(): TeardownReport {
    for (const m of this.members.values()) {
      if (m.entry.signals.length) {
        Object.assign(m.entry, { outcome: 'survived', message: `pid ${m.pid} still alive after ${m.entry.signals.join(', ')}` });
      } else {
        const message = m.unknown ?? m.set.unknown ?? `pid ${m.pid} was never signalled`;
        Object.assign(m.entry, { outcome: 'refused', reason: 'unknown', message });
        this.report.refusals.push({ reason: 'unknown', message, pid: m.pid });
      }
      this.report.survivors.push(m.pid);
    }
    for (const s of this.sets) {
      const t = s.target;
      if (!s.done && t.kind === 'cgroup' && s.live.size === 0) {
        this.report.refusals.push({ reason: 'unknown', message: s.unknown ?? `cgroup ${t.path}: not proven empty` });
        continue;
      }
      if (s.done || t.kind !== 'group' || s.live.size > 0) continue;
      // Nothing listed, yet the group still answers kill(-pgid, 0).
      this.report.refusals.push({ reason: 'unknown', pgid: t.pgid, message: s.unknown ?? `group ${t.pgid}: its members could not be listed and it still answers signal 0` });
    }
    this.report.survivors.push(...this.left);
    this.finishCgroups();
    this.report.elapsedMs = this.since();
    return this.report;
  }

  /** Each cgroup target's outcome; an emptied one we are not in is removed (deepest first). */
  private finishCgroups(): void {
    this.thawAll();
    for (const s of this.sets) {
      const t = s.target;
      if (t.kind !== 'cgroup' || !s.cg) continue;
      const cg = s.cg;
      if (cg.gone) {
        (this.report.cgroups ??= []).push({ path: t.path, outcome: 'gone', method: 'none', removed: true });
        continue;
      }
      const outcome: CgroupOutcome['outcome'] = cg.refused ? 'refused' : s.done && s.live.size === 0 ? 'empty' : 'timeout';
      const out: CgroupOutcome = { path: t.path, outcome, method: cg.method, removed: false };
      if (outcome === 'empty' && !cg.self && (t.remove ?? true)) {
        const r = removeCgroups(t.path);
        out.removed = r.removed;
        if (r.left.length) out.removeProblem = r.left.map((l) => `${l.dir}: ${l.why}`).join('; ');
      }
      (this.report.cgroups ??= []).push(out);
    }
  }

  private since(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10;
  }
}

/** The same guard without a table (cgroup targets only): ancestors walked through /proc/PID/stat. */
function guardWithoutTable(): Guard {
  const protect = protectedPids();
  protect.add(process.ppid);
  return { protectedPids: protect, ownGroup: ownProcessGroup(), uid: process.getuid?.() };
}

/** PID 1, this process, its ancestors and its own group are never signalled; nor is another uid's process. */
function guardFrom(byPid: Map<number, Row>): Guard {
  const protectedPids = new Set<number>([1, process.pid, process.ppid]);
  for (let pid = process.ppid, n = 0; pid > 1 && n < 4096; n++) {
    protectedPids.add(pid);
    const up = byPid.get(pid)?.ppid;
    if (up === undefined) break;
    pid = up;
  }
  return { protectedPids, ownGroup: byPid.get(process.pid)?.pgid ?? ownProcessGroup(), uid: process.getuid?.() };
}
