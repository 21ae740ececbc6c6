// The stable `--json` output of the CLI (version 1). Fields are only ever added, never renamed
// or removed; a breaking change bumps `version`. Fingerprints are objects {pid, startTime, bootId}
// (startTime in the platform's raw unit: clock ticks since boot on Linux). Memory is in bytes,
// ages in milliseconds (for display; never use them to identify a process). Absent values are null.
import type { Fingerprint } from '../core/fingerprint';
import type { NotCorroborated, Orphan } from '../core/orphans';
import type { ClearSummary } from '../core/orphansClear';
import type { LiveOwner } from '../core/orphansStatus';
import type { ReportData } from '../core/report/reportData';

export const JSON_VERSION = 1;

/** `gateway-warden orphans --json [--kill --yes]` */
export interface OrphansJson {
  version: 1;
  orphans: OrphanJson[];
  /**
   * Live processes a dead host's checkpoint lists that do not bear the record out (no marker of
   * that host on Linux; another command line elsewhere): not orphans by that record, never
   * signalled for it.
   */
  notCorroborated: NotCorroboratedJson[];
  /**
   * One sentence each: checkpoint files or directories skipped unread (not a regular file, not
   * ours, writable by others, too large), unreadable or quarantined (*.corrupt) files, our own
   * directory tightened to 0700, patterns that ran out of time.
   */
  problems: string[];
  scan: { processes: number; scanMs: number; detectMs: number; checkpointDirs: string[]; checkpoints: number; patterns: string[] };
  /** null unless --kill ran. */
  cleared: ClearedJson | null;
}

export interface OrphanJson {
  pid: number;
  ppid: number;
  pgid: number | null;
  fingerprint: Fingerprint;
  /** 'dead-owner-checkpoint' | 'dead-owner-cgroup' | 'dead-owner-marker' | 'pattern-reparented' */
  reason: string;
  reasons: string[];
  reasonText: string;
  command: string;
  ageMs: number | null;
  rssBytes: number | null;
  owner: Fingerprint | null;
  checkpointFile: string | null;
  /** The command line the checkpoint recorded (null unless found by a checkpoint). */
  recordedCommand: string | null;
  role: string | null;
  sessionId: string | null;
  /** The leftover cgroup tree the kernel lists it in (null unless found that way). */
  cgroup: string | null;
  descendants: { pid: number; ppid: number; fingerprint: Fingerprint; command: string; ageMs: number | null; rssBytes: number | null }[];
}

export interface NotCorroboratedJson {
  pid: number;
  fingerprint: Fingerprint;
  /** Its command line now. */
  command: string;
  recordedCommand: string;
  owner: Fingerprint;
  checkpointFile: string;
  role: string;
  sessionId: string | null;
  /** Why the record is not borne out. */
  why: string;
}

export interface ClearedJson {
  /** One per process signalled or checked: outcome 'killed' | 'already-gone' | 'refused'. */
  results: { pid: number; orphanPid: number; command: string | null; outcome: string; why: string; signals: string[] }[];
  killed: number;
  alreadyGone: number;
  refused: number;
  /** Pids still alive as the recorded process after clearing (exit code 1 when not empty). */
  remaining: number[];
  elapsedMs: number;
  /** Checkpoint files deleted because nothing in them is alive any more. */
  deletedCheckpoints: string[];
}

/** `gateway-warden status --json` */
export interface StatusJson {
  version: 1;
  owners: {
    owner: Fingerprint;
    command: string | null;
    checkpointFile: string | null;
    /** Tree order; depth 0 = no owned parent. */
    processes: { pid: number; ppid: number; pgid: number | null; depth: number; command: string; ageMs: number | null; rssBytes: number | null; role: string | null; sessionId: string | null }[];
  }[];
  /** The checkpoint directories that exist, with the editor that keeps each (added in 0.2). */
  checkpointDirs: { editor: string; dir: string }[];
  problems: string[];
}

const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

export function orphanJson(o: Orphan): OrphanJson {
  return {
    pid: o.pid,
    ppid: o.ppid,
    pgid: orNull(o.pgid),
    fingerprint: o.fingerprint,
    reason: o.reason,
    reasons: o.reasons,
    reasonText: o.reasonText,
    command: o.command,
    ageMs: orNull(o.ageMs),
    rssBytes: orNull(o.rss),
    owner: orNull(o.owner),
    checkpointFile: orNull(o.checkpointFile),
    recordedCommand: orNull(o.recordedCommand),
    role: orNull(o.role),
    sessionId: orNull(o.sessionId),
    cgroup: orNull(o.cgroup),
    descendants: o.descendants.map((d) => ({
      pid: d.pid, ppid: d.ppid, fingerprint: d.fingerprint, command: d.command, ageMs: orNull(d.ageMs), rssBytes: orNull(d.rss),
    })),
  };
}

export function notCorroboratedJson(n: NotCorroborated): NotCorroboratedJson {
  return {
    pid: n.pid, fingerprint: n.fingerprint, command: n.command, recordedCommand: n.recordedCommand, owner: n.owner,
    checkpointFile: n.checkpointFile, role: n.role, sessionId: orNull(n.sessionId), why: n.why,
  };
}

export function clearedJson(s: ClearSummary, deletedCheckpoints: string[]): ClearedJson {
  return {
    results: s.results.map((r) => ({
      pid: r.pid, orphanPid: r.orphanPid, command: orNull(r.command), outcome: r.outcome, why: r.why, signals: r.signals,
    })),
    killed: s.killed,
    alreadyGone: s.alreadyGone,
    refused: s.refused,
    remaining: s.remaining,
    elapsedMs: s.elapsedMs,
    deletedCheckpoints,
  };
}

export function ownersJson(owners: LiveOwner[]): StatusJson['owners'] {
  return owners.map((o) => ({
    owner: o.owner,
    command: orNull(o.command),
    checkpointFile: orNull(o.checkpointFile),
    processes: o.processes.map((p) => ({
      pid: p.pid, ppid: p.ppid, pgid: orNull(p.pgid), depth: p.depth, command: p.command,
      ageMs: orNull(p.ageMs), rssBytes: orNull(p.rss), role: orNull(p.role), sessionId: orNull(p.sessionId),
    })),
  }));
}

/**
 * `gateway-warden report --json`: the diagnostics report (core/report/reportData.ts), already
 * redacted. `hosts` are `status`'s owners with each process's state and CPU time, and the backend
 * and caps of each live gateway; `orphans` and `notCorroborated` are `orphans --json`'s; `live`
 * (the window's model) and VS Code's version are null from the CLI, and so is `log.lines`.
 */
export interface ReportJson extends Omit<ReportData, 'orphans' | 'notCorroborated'> {
  version: 1;
  orphans: OrphanJson[];
  notCorroborated: NotCorroboratedJson[];
}

export function reportJson(r: ReportData): ReportJson {
  return { version: 1, ...r, orphans: r.orphans.map(orphanJson), notCorroborated: r.notCorroborated.map(notCorroboratedJson) };
}
