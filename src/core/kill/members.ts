// Which processes belong to a target, decided in one place: the teardown engine's scans (escalate.ts)
// and the memory ceiling's samples (what a session's worker started) both call these on one lean
// table scan. Nothing here signals or re-checks a process: the engine does that before every
// signal. Cgroup targets need none of it: their members are the kernel's list (cgroupMembers.ts).
import { PARENT_ENV } from '../ownerMarker';
import { canReadMarkers, markerOf, Row, Table } from './source';

/** One scan, indexed: each row by pid, and each pid's children. */
export interface TableIndex extends Table {
  byPid: Map<number, Row>;
  children: Map<number, Row[]>;
}

export function indexTable(table: Table): TableIndex {
  const byPid = new Map<number, Row>();
  const children = new Map<number, Row[]>();
  for (const r of table.rows) {
    byPid.set(r.pid, r);
    const list = children.get(r.ppid);
    if (list) list.push(r);
    else children.set(r.ppid, [r]);
  }
  return { ...table, byPid, children };
}

/** The members of process group `pgid`. */
export function groupRows(t: TableIndex, pgid: number): Row[] {
  return t.rows.filter((r) => r.pgid === pgid);
}

/**
 * Every descendant of `from` (the starts themselves excepted), parents before children, walked
 * only through children `admit` lets in (a refused child's subtree is not entered).
 */
export function descendants(t: TableIndex, from: Iterable<number>, admit: (r: Row) => boolean = () => true): Row[] {
  const queue = [...from];
  const seen = new Set<number>(queue);
  const out: Row[] = [];
  for (let i = 0; i < queue.length; i++) {
    for (const c of t.children.get(queue[i]) ?? []) {
      if (seen.has(c.pid) || !admit(c)) continue;
      seen.add(c.pid);
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** Reads a candidate's PARENT_ENV (the caller decides how often: once per teardown, or cached across samples). */
export type MarkerRead = (r: Row & { startTime: number }) => string | undefined;

export const readMarker: MarkerRead = (r) => markerOf(r.pid, PARENT_ENV);

/** What makes a process an owner's, besides its group and its descendants. */
export interface Owner {
  pid: number;
  /** Its row when it is alive (its sid; its descendants are walked only then, or through `also`). */
  row?: Row;
  /** Its start time (Fingerprint units); undefined: no marker is read. */
  startTime?: number;
  /** The group it leads, if it leads one (pgid = pid): every member is its. */
  leads?: number;
  /** PARENT_ENV values that make a process its (its own fingerprint, and those it lent it to). */
  marks: ReadonlySet<string>;
  /** No process started before this (Fingerprint units) can carry a mark; Infinity: none can. */
  since: number;
  /** Its parent while it still is: that parent's other children are siblings, not escapees. */
  siblingsOf?: number;
}

/**
 * The processes an owner started, the owner excepted: the group it leads, every process that
 * carries one of its marks but left its group and tree (setsid, a double fork), and every
 * descendant of these, of the owner and of `also` (members already known). Only the top of an
 * escaped subtree has its marker read: a process started after `since` whose parent is older
 * than the owner (it was re-parented to a reaper), in the owner's session or leading its own (or
 * one whose leader is gone). `skip`: a process not to read (already accounted for).
 */
export function ownedBy(t: TableIndex, owner: Owner, read: MarkerRead, also: Iterable<number> = [], skip: (pid: number) => boolean = () => false): Row[] {
  const self = owner.pid;
  const out = new Map<number, Row>();
  if (owner.leads !== undefined) for (const r of groupRows(t, owner.leads)) if (r.pid !== self) out.set(r.pid, r);
  const born = owner.startTime;
  if (canReadMarkers && born !== undefined && owner.marks.size > 0 && owner.since !== Infinity) {
    const since = Math.max(born, owner.since);
    for (const r of t.rows) {
      if (r.startTime === undefined || r.startTime < since || r.ppid === owner.siblingsOf || r.pid === self || out.has(r.pid) || skip(r.pid)) continue;
      const parentStart = t.byPid.get(r.ppid)?.startTime;
      if (parentStart !== undefined && parentStart >= born) continue;
      if (r.sid !== undefined && r.sid !== owner.row?.sid && r.sid !== r.pid && t.byPid.has(r.sid)) continue;
      const marker = read({ ...r, startTime: r.startTime });
      if (marker !== undefined && owner.marks.has(marker)) out.set(r.pid, r);
    }
  }
  const from = [...(owner.row ? [self] : []), ...out.keys(), ...also];
  for (const r of descendants(t, from)) if (r.pid !== self) out.set(r.pid, r);
  return [...out.values()];
}
