// The live members of a worker's process group target as the teardown engine would take them,
// without signalling anything: the group, every descendant (by parentage) of its members, and the
// processes carrying the worker's fingerprint in PARENT_ENV that left both (setsid, double fork) —
// each marker read only for a process started after the worker whose parent is not a member, and
// once per process (cached across calls, bounded by the table). One lean table scan serves every
// worker asked about. For sampling (the memory ceiling), not for killing: the engine re-checks
// every member before every signal.
import { Fingerprint, formatFingerprint } from '../fingerprint';
import { PARENT_ENV } from '../ownerMarker';
import { canReadMarkers, markerOf, Row, scanTable } from './source';

export interface MemberRoot {
  /** The worker: leader of its group (pgid = pid on POSIX). */
  leader: Fingerprint;
  pgid: number;
}

export interface MemberList {
  pids: number[];
  /** False when the table scan could not read every process (a member may be missing). */
  complete: boolean;
}

export class GroupMembers {
  /** `pid:startTime` → its PARENT_ENV as read (undefined: none or unreadable), kept while it is listed. */
  private markers = new Map<string, string | undefined>();

  /** Members of each root (the leader first when alive), keyed by the leader's pid. */
  list(roots: readonly MemberRoot[]): Map<number, MemberList> {
    const out = new Map<number, MemberList>();
    if (roots.length === 0) return out;
    const table = scanTable();
    const children = new Map<number, Row[]>();
    for (const r of table.rows) {
      const list = children.get(r.ppid);
      if (list) list.push(r);
      else children.set(r.ppid, [r]);
    }
    const nextMarkers = new Map<string, string | undefined>();
    for (const root of roots) {
      const members = new Set<number>();
      const take = (pid: number) => {
        const queue = [pid];
        while (queue.length) {
          const p = queue.shift()!;
          if (members.has(p)) continue;
          members.add(p);
          for (const c of children.get(p) ?? []) queue.push(c.pid);
        }
      };
      const leaderRow = table.rows.find((r) => r.pid === root.leader.pid);
      if (leaderRow && leaderRow.startTime === root.leader.startTime) take(leaderRow.pid);
      for (const r of table.rows) if (r.pgid === root.pgid) take(r.pid);
      if (canReadMarkers) {
        const value = formatFingerprint(root.leader);
        for (const r of table.rows) {
          if (members.has(r.pid) || r.startTime === undefined || r.startTime < root.leader.startTime || members.has(r.ppid)) continue;
          const key = `${r.pid}:${r.startTime}`;
          const seen = nextMarkers.has(key) ? nextMarkers.get(key) : this.markers.has(key) ? this.markers.get(key) : markerOf(r.pid, PARENT_ENV);
          nextMarkers.set(key, seen);
          if (seen === value) take(r.pid);
        }
      }
      out.set(root.leader.pid, { pids: [...members], complete: table.complete });
    }
    // Only processes still listed stay cached: bounded by the table.
    this.markers = nextMarkers;
    return out;
  }
}
