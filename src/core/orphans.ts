// Orphan detection on one snapshot of the process table (no vscode, no signals). Three rules:
//   dead-owner-checkpoint  a live process recorded in the checkpoint of a host that is dead, and
//                          corroborated: it carries that host's marker (Linux) or runs the
//                          recorded command line (elsewhere) — a record alone proves nothing
//   dead-owner-cgroup      (Linux) a live process the kernel lists in one of our leftover
//                          gateway-warden-<pid> cgroups whose gateway is provably dead — membership
//                          is the corroboration, and no fork, setsid or cleared environment leaves it
//   dead-owner-marker      (Linux) a live process whose inherited GATEWAY_WARDEN_OWNER names a
//                          dead host — it may have left the group (setsid, double fork)
//   pattern-reparented     a process matching a gateway/worker pattern (orphanPatterns) whose
//                          parent is gone: re-parented to PID 1 or to an init-like subreaper
// A process owned by a LIVE host is never an orphan, nor is this process or any of its ancestors.
// Liveness is judged against the snapshot (same pid AND same start ticks AND same boot), so a
// reused pid never counts as the recorded process.
import * as path from 'node:path';
import type { Checkpoint } from './checkpoint';
import type { CgroupTreeInfo } from './cgroup/cgroupLeftovers';
import {
  Fingerprint, fingerprintOf, fingerprintOfInfo, formatFingerprint, liveInSnapshot, livenessInSnapshot, parseFingerprint,
} from './fingerprint';
import { pidNamespaceProblem, readProcPidNamespaceChecked } from './procfs';
import { isLiveState } from './processSource';
import { ProcessInfo, childrenIndex } from './processTable';
import type { ProcessRole } from './registry';
import { ageFromStartTicks } from './orphansAge';
import { CorroborationMode, corroborationProblem, defaultCorroboration } from './orphansCorroborate';
import { HERMES_RULES, OrphanPattern, matchPatterns } from './orphanPatterns';
import { adoptedBy } from './orphanCandidates';

export type OrphanReason = 'dead-owner-checkpoint' | 'dead-owner-cgroup' | 'dead-owner-marker' | 'pattern-reparented';

/** hermes-agent's gateway and its per-session slash workers: an interpreter running `tui_gateway.…`. */
export const DEFAULT_ORPHAN_PATTERNS: readonly OrphanPattern[] = HERMES_RULES;


export interface OrphanDescendant {
  pid: number;
  ppid: number;
  fingerprint: Fingerprint;
  command: string;
  rss?: number;
  ageMs?: number;
}

export interface Orphan {
  pid: number;
  ppid: number;
  pgid?: number;
  fingerprint: Fingerprint;
  /** The strongest rule that found it (checkpoint > cgroup > marker > pattern). */
  reason: OrphanReason;
  /** Every rule that found it. */
  reasons: OrphanReason[];
  /** One human sentence: why this is an orphan. */
  reasonText: string;
  command: string;
  /** For display only (derived from start ticks and uptime on Linux). */
  ageMs?: number;
  /** Resident memory in bytes. */
  rss?: number;
  /** Everything below it in the tree (and escaped members of its group), parents first. */
  descendants: OrphanDescendant[];
  /** The dead host that owned it, when known. */
  owner?: Fingerprint;
  /** The checkpoint it was recorded in. */
  checkpointFile?: string;
  /** The command line that checkpoint recorded for it. */
  recordedCommand?: string;
  role?: ProcessRole;
  sessionId?: string;
  /** The leftover cgroup tree (directory) the kernel lists it in, when that found it. */
  cgroup?: string;
}

/** A live process a dead host's checkpoint lists, which does not bear the record out. */
export interface NotCorroborated {
  pid: number;
  fingerprint: Fingerprint;
  /** Its command line as it runs now. */
  command: string;
  recordedCommand: string;
  owner: Fingerprint;
  checkpointFile: string;
  role: ProcessRole;
  sessionId?: string;
  /** Why the record is not borne out, in one sentence. */
  why: string;
}

/** One line for a checkpoint record that the live process does not bear out. */
export function describeNotCorroborated(n: NotCorroborated): string {
  return `pid ${n.pid} (${n.command}) is listed by ${n.checkpointFile} but not corroborated: ${n.why}; that record alone never makes it an orphan`;
}

export interface OrphanDetection {
  orphans: Orphan[];
  /** Checkpoint records naming a live process that does not bear them out; never orphans by that record. */
  notCorroborated: NotCorroborated[];
  /** Patterns that could not be used in this scan (ran out of time), one sentence each. */
  problems: string[];
}

export interface DetectOrphansOptions {
  /** One snapshot (scanProcSync({ readMemory: true }) on Linux). */
  table: readonly ProcessInfo[];
  checkpoints?: readonly Checkpoint[];
  /** Patterns for the re-parenting rule (default DEFAULT_ORPHAN_PATTERNS; [] disables it). */
  patterns?: readonly OrphanPattern[];
  /** Time all regex patterns together get per scan (default orphanPatterns' DEFAULT_PATTERN_BUDGET_MS). */
  patternBudgetMs?: number;
  /** How a checkpoint record is corroborated (default: the marker on Linux, the command line elsewhere). */
  corroborate?: CorroborationMode;
  /** Use the environment marker (default: on Linux). */
  markers?: boolean;
  /** Only these dead owners count for the checkpoint and marker rules (scoping, e.g. in tests). */
  owners?: readonly Fingerprint[];
  /** Extra pids to treat as init-like subreapers. */
  reapers?: readonly number[];
  /** The process to protect with its ancestors (default: this one). */
  selfPid?: number;
  /** Our cgroup trees (findLeftoverTrees): the members of one whose gateway is dead are orphans. */
  cgroupTrees?: readonly CgroupTreeInfo[];
  /**
   * Only these rows were read in full (uid, command line, marker): the cheap scan's candidates.
   * Any other row is never an orphan nor a descendant of one, and is matched against no pattern.
   */
  examined?: ReadonlySet<number>;
}

interface Candidate extends Pick<Orphan, 'owner' | 'checkpointFile' | 'recordedCommand' | 'role' | 'sessionId' | 'cgroup'> {
  info: ProcessInfo;
  fingerprint: Fingerprint;
  reasons: Map<OrphanReason, string>;
}

const REASON_ORDER: OrphanReason[] = ['dead-owner-checkpoint', 'dead-owner-cgroup', 'dead-owner-marker', 'pattern-reparented'];

export function detectOrphans(opts: DetectOrphansOptions): Orphan[] {
  return detectOrphansDetailed(opts).orphans;
}

/** detectOrphans, with the records that were not corroborated and the patterns that failed. */
export function detectOrphansDetailed(opts: DetectOrphansOptions): OrphanDetection {
  const { table } = opts;
  const linux = process.platform === 'linux';
  const byPid = new Map<number, ProcessInfo>();
  for (const p of table) byPid.set(p.pid, p);
  const myUid = process.getuid?.();
  const mine = (p: ProcessInfo) => myUid === undefined || p.uid === undefined || p.uid === myUid;
  const dead = (p: ProcessInfo) => !isLiveState(p.state);

  const liveCache = new Map<string, ProcessInfo | undefined>();
  const liveInfo = (fp: Fingerprint): ProcessInfo | undefined => {
    const key = formatFingerprint(fp);
    if (!liveCache.has(key)) liveCache.set(key, liveInSnapshot(byPid, fp));
    return liveCache.get(key);
  };
  // A host is dead only on proof: one whose liveness is unknown (its /proc read failed while
  // the snapshot was taken, …) still vouches for its processes.
  const ownerCache = new Map<string, boolean>();
  const ownerDead = (fp: Fingerprint): boolean => {
    const key = formatFingerprint(fp);
    let dead = ownerCache.get(key);
    if (dead === undefined) ownerCache.set(key, (dead = livenessInSnapshot(byPid, fp) === 'dead'));
    return dead;
  };
  const ownerFilter = opts.owners?.map(formatFingerprint);
  const ownerInScope = (fp: Fingerprint) => !ownerFilter || ownerFilter.includes(formatFingerprint(fp));

  // This process and its ancestors are never touched.
  const protectedPids = new Set<number>();
  const selfPid = opts.selfPid ?? process.pid;
  for (let pid: number | undefined = selfPid, n = 0; pid && pid > 0 && n < 4096; n++) {
    protectedPids.add(pid);
    pid = byPid.get(pid)?.ppid ?? (pid === process.pid ? process.ppid : undefined);
  }

  // Processes a live host vouches for.
  const liveOwned = new Set<number>();
  const markerOwner = new Map<number, Fingerprint>();
  for (const cp of opts.checkpoints ?? []) {
    if (ownerDead(cp.owner)) continue;
    liveOwned.add(cp.owner.pid);
    for (const r of cp.records) if (liveInfo(r.fingerprint)) liveOwned.add(r.fingerprint.pid);
  }
  if (opts.markers ?? linux) {
    for (const p of table) {
      const fp = p.owner !== undefined ? parseFingerprint(p.owner) : undefined;
      if (!fp) continue;
      markerOwner.set(p.pid, fp);
      if (!ownerDead(fp)) liveOwned.add(p.pid);
    }
  }
  const examined = opts.examined;
  const sameNamespace = pidNamespaceRule(linux);
  const eligible = (p: ProcessInfo) =>
    (!examined || examined.has(p.pid)) && !dead(p) && mine(p) && !protectedPids.has(p.pid) && !liveOwned.has(p.pid) && sameNamespace.test(p.pid);

  const candidates = new Map<number, Candidate>();
  const candidate = (info: ProcessInfo, fp: Fingerprint): Candidate => {
    let c = candidates.get(info.pid);
    if (!c) {
      c = { info, fingerprint: fp, reasons: new Map() };
      candidates.set(info.pid, c);
    }
    return c;
  };

  const corroborate = opts.corroborate ?? defaultCorroboration();
  const notCorroborated: NotCorroborated[] = [];
  for (const cp of opts.checkpoints ?? []) {
    if (!ownerDead(cp.owner) || !ownerInScope(cp.owner)) continue;
    for (const r of cp.records) {
      const info = liveInfo(r.fingerprint);
      if (!info || !eligible(info)) continue;
      const why = corroborationProblem(corroborate, { marker: info.owner, cmdline: info.cmdline }, cp.owner, r.command);
      if (why) {
        notCorroborated.push({
          pid: info.pid, fingerprint: r.fingerprint, command: info.cmdline, recordedCommand: r.command, owner: cp.owner,
          checkpointFile: cp.file, role: r.role, sessionId: r.sessionId, why,
        });
        continue;
      }
      const c = candidate(info, r.fingerprint);
      c.owner ??= cp.owner;
      c.checkpointFile ??= cp.file;
      c.recordedCommand ??= r.command;
      c.role ??= r.role;
      c.sessionId ??= r.sessionId;
      const session = r.sessionId ? ` of session ${r.sessionId}` : '';
      c.reasons.set(
        'dead-owner-checkpoint',
        `${r.role}${session} recorded by host ${formatFingerprint(cp.owner)}, which is dead (${path.basename(cp.file)})`,
      );
    }
  }

  for (const tree of opts.cgroupTrees ?? []) {
    if (tree.owner !== 'dead' || !tree.members) continue;
    for (const pid of tree.members) {
      const info = byPid.get(pid);
      if (!info || !eligible(info)) continue;
      const fp = fingerprintOfInfo(info) ?? fingerprintOf(pid);
      if (!fp) continue;
      const c = candidate(info, fp);
      c.cgroup ??= tree.path;
      c.reasons.set(
        'dead-owner-cgroup',
        `the kernel lists it in the leftover cgroup ${tree.name} of gateway pid ${tree.gatewayPid}, which is dead (${tree.ownerWhy ?? 'gone'})`,
      );
    }
  }

  for (const [pid, owner] of markerOwner) {
    const info = byPid.get(pid)!;
    if (!eligible(info) || !ownerInScope(owner) || !ownerDead(owner)) continue;
    const fp = fingerprintOfInfo(info) ?? fingerprintOf(pid);
    if (!fp) continue;
    const c = candidate(info, fp);
    c.owner ??= owner;
    c.reasons.set('dead-owner-marker', `carries the marker of host ${formatFingerprint(owner)}, which is dead`);
  }

  const patterns = opts.patterns ?? DEFAULT_ORPHAN_PATTERNS;
  const reapers = new Set(opts.reapers ?? []);
  // Matched once for the whole table: parents are asked about too, and regexes share one time budget.
  const matchable = examined ? table.filter((p) => examined.has(p.pid)) : table;
  const { matched, problems } = matchPatterns(matchable, patterns, opts.patternBudgetMs); // none with no patterns
  const matches = (p: ProcessInfo) => matched.has(p.pid);
  for (const p of table) {
    if (!matches(p) || !eligible(p)) continue;
    const parent = byPid.get(p.ppid);
    // An adopter that matches the patterns is itself a live gateway (e.g. a container whose
    // PID 1 is the gateway: its workers are its direct children, with ppid 1).
    const adopted =
      adoptedBy(p.ppid, parent?.cmdline, reapers) &&
      !(parent !== undefined && matches(parent));
    if (!adopted) continue; // its gateway (or whoever started it) is still alive
    const fp = fingerprintOfInfo(p) ?? fingerprintOf(p.pid);
    if (!fp) continue;
    const by = p.ppid === 1 ? 'PID 1' : `${parent?.name ?? 'a subreaper'} (pid ${p.ppid})`;
    candidate(p, fp).reasons.set('pattern-reparented', `matches a gateway/worker pattern and was re-parented to ${by}`);
  }

  const orphans = assemble(table, byPid, candidates, eligible);
  const otherNamespace = sameNamespace.problem();
  return { orphans, notCorroborated, problems: otherNamespace ? [...problems, otherNamespace] : problems };
}

/**
 * Linux: whether a process is in our PID namespace. One in another (a container's, seen from the
 * host) carries markers and checkpoints whose pids are that namespace's: its owner cannot be
 * judged from here (its live host's pid names another process in ours), so it is never an orphan
 * of ours — nor one whose namespace cannot be read. A process gone meanwhile is left to the rest.
 */
function pidNamespaceRule(linux: boolean): { test(pid: number): boolean; problem(): string | undefined } {
  const ours = linux ? readProcPidNamespaceChecked('self') : undefined;
  const verdicts = new Map<number, boolean>();
  const notJudged: number[] = [];
  return {
    test(pid) {
      if (ours?.state !== 'found') return true; // not Linux, or our own cannot be read: as without the rule
      let same = verdicts.get(pid);
      if (same === undefined) {
        same = pidNamespaceProblem(pid, ours.value) === undefined;
        verdicts.set(pid, same);
        if (!same) notJudged.push(pid);
      }
      return same;
    },
    problem() {
      if (!notJudged.length) return undefined;
      const shown = notJudged.slice(0, 5).join(', ') + (notJudged.length > 5 ? ', …' : '');
      return `${notJudged.length} process(es) in another PID namespace (a container's?), or whose namespace could not be read, were not judged: ${shown}`;
    },
  };
}

/**
 * Attaches to each orphan what goes down with it: its tree and, when it leads a process group,
 * the group's other members (a double fork leaves the tree but not the group); recursively. A
 * candidate reached from another one is listed there as a descendant, not as an orphan of its own.
 */
function assemble(
  table: readonly ProcessInfo[],
  byPid: Map<number, ProcessInfo>,
  candidates: Map<number, Candidate>,
  killable: (p: ProcessInfo) => boolean,
): Orphan[] {
  const age = ageFromStartTicks();
  const children = childrenIndex(table);
  const groups = new Map<number, ProcessInfo[]>();
  for (const p of table) {
    if (p.pgid === undefined) continue;
    const g = groups.get(p.pgid);
    if (g) g.push(p);
    else groups.set(p.pgid, [p]);
  }
  const expand = (root: ProcessInfo): ProcessInfo[] => {
    const out: ProcessInfo[] = [];
    const seen = new Set<number>([root.pid]);
    const visit = (q: ProcessInfo) => {
      if (seen.has(q.pid) || !killable(q)) return;
      seen.add(q.pid);
      out.push(q);
    };
    const visitFrom = (q: ProcessInfo) => {
      for (const child of children.get(q.pid) ?? []) visit(child);
      if (q.pgid === q.pid) for (const m of groups.get(q.pid) ?? []) visit(m);
    };
    visitFrom(root);
    for (let i = 0; i < out.length; i++) visitFrom(out[i]); // breadth first: parents before children
    return out;
  };
  const depth = (p: ProcessInfo): number => {
    let n = 0;
    const seen = new Set<number>();
    for (let q = byPid.get(p.ppid); q && !seen.has(q.pid); q = byPid.get(q.ppid)) {
      seen.add(q.pid);
      n++;
    }
    return n;
  };
  const expansion = new Map<number, ProcessInfo[]>();
  const reach = new Map<number, Set<number>>();
  const order = new Map<number, [number, number]>();
  for (const c of candidates.values()) {
    const e = expand(c.info);
    expansion.set(c.info.pid, e);
    reach.set(c.info.pid, new Set(e.map((p) => p.pid)));
    order.set(c.info.pid, [depth(c.info), c.info.pid]);
  }
  const before = (a: number, b: number) => {
    const [da, pa] = order.get(a)!;
    const [db, pb] = order.get(b)!;
    return da < db || (da === db && pa < pb);
  };
  // Nested: reached from another candidate that it does not reach back (or, in a cycle, that
  // sits higher in the tree).
  const nested = (pid: number) => {
    for (const other of candidates.keys()) {
      if (other === pid || !reach.get(other)!.has(pid)) continue;
      if (!reach.get(pid)!.has(other) || before(other, pid)) return true;
    }
    return false;
  };
  const tops = [...candidates.values()].filter((c) => !nested(c.info.pid)).sort((a, b) => a.info.pid - b.info.pid);

  const claimed = new Set<number>(tops.map((c) => c.info.pid));
  const orphans: Orphan[] = [];
  for (const c of tops) {
    const descendants: OrphanDescendant[] = [];
    for (const q of expansion.get(c.info.pid)!) {
      if (claimed.has(q.pid)) continue;
      claimed.add(q.pid);
      const fp = fingerprintOfInfo(q);
      if (fp) descendants.push({ pid: q.pid, ppid: q.ppid, fingerprint: fp, command: q.cmdline, rss: q.rss, ageMs: age(q.startTime) });
    }
    const reasons = REASON_ORDER.filter((r) => c.reasons.has(r));
    orphans.push({
      pid: c.info.pid,
      ppid: c.info.ppid,
      pgid: c.info.pgid,
      fingerprint: c.fingerprint,
      reason: reasons[0],
      reasons,
      reasonText: reasons.map((r) => c.reasons.get(r)).join('; '),
      command: c.info.cmdline,
      ageMs: age(c.info.startTime),
      rss: c.info.rss,
      descendants,
      owner: c.owner,
      checkpointFile: c.checkpointFile,
      recordedCommand: c.recordedCommand,
      role: c.role,
      sessionId: c.sessionId,
      ...(c.cgroup ? { cgroup: c.cgroup } : {}),
    });
  }
  return orphans.sort((a, b) => a.pid - b.pid);
}
