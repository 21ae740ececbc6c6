// `status`: the hosts that are alive (named by a checkpoint or by a marker) and the processes
// they own, as trees. The counterpart of orphan detection: everything here is NOT an orphan.
import type { Checkpoint } from './checkpoint';
import { Fingerprint, formatFingerprint, liveInSnapshot, livenessInSnapshot, parseFingerprint } from './fingerprint';
import { isLiveState } from './processSource';
import { ProcessInfo, childrenIndex } from './processTable';
import type { ProcessRole } from './registry';
import { ageFromStartTicks } from './orphansAge';

export interface OwnedProcess {
  pid: number;
  ppid: number;
  pgid?: number;
  /** 0 for a process whose parent is not owned too; children are one deeper. */
  depth: number;
  command: string;
  rss?: number;
  ageMs?: number;
  role?: ProcessRole;
  sessionId?: string;
}

export interface LiveOwner {
  owner: Fingerprint;
  /** The host process's command line, when it can be seen. */
  command?: string;
  checkpointFile?: string;
  /** Tree order: each process is followed by its owned children. */
  processes: OwnedProcess[];
}

export function describeLiveOwners(table: readonly ProcessInfo[], checkpoints: readonly Checkpoint[]): LiveOwner[] {
  const byPid = new Map(table.map((p) => [p.pid, p] as const));
  const alive = (fp: Fingerprint) => liveInSnapshot(byPid, fp);
  const owners = new Map<string, { owner: Fingerprint; checkpointFile?: string; members: Map<number, { role?: ProcessRole; sessionId?: string }> }>();
  const entry = (fp: Fingerprint) => {
    const key = formatFingerprint(fp);
    let o = owners.get(key);
    if (!o) owners.set(key, (o = { owner: fp, members: new Map() }));
    return o;
  };
  // An owner counts as live unless its death is proven (unknown never hides its processes).
  const ownerLive = (fp: Fingerprint) => livenessInSnapshot(byPid, fp) !== 'dead';
  for (const cp of checkpoints) {
    if (!ownerLive(cp.owner)) continue;
    const o = entry(cp.owner);
    o.checkpointFile ??= cp.file;
    for (const r of cp.records) if (alive(r.fingerprint)) o.members.set(r.fingerprint.pid, { role: r.role, sessionId: r.sessionId });
  }
  for (const p of table) {
    const fp = parseFingerprint(p.owner);
    if (!fp || !isLiveState(p.state) || !ownerLive(fp)) continue;
    const o = entry(fp);
    if (!o.members.has(p.pid)) o.members.set(p.pid, {});
  }

  const age = ageFromStartTicks();
  const children = childrenIndex(table);
  const out: LiveOwner[] = [];
  for (const o of owners.values()) {
    // Owned processes plus everything below them (children without a marker off Linux).
    const owned = new Set<number>(o.members.keys());
    const queue = [...owned];
    while (queue.length) {
      for (const c of children.get(queue.shift()!) ?? []) {
        if (owned.has(c.pid) || c.state === 'Z' || c.state === 'X') continue;
        owned.add(c.pid);
        queue.push(c.pid);
      }
    }
    const processes: OwnedProcess[] = [];
    const visit = (pid: number, depth: number) => {
      const p = byPid.get(pid)!;
      const meta = o.members.get(pid) ?? {};
      processes.push({ pid, ppid: p.ppid, pgid: p.pgid, depth, command: p.cmdline, rss: p.rss, ageMs: age(p.startTime), ...meta });
      for (const c of children.get(pid) ?? []) if (owned.has(c.pid)) visit(c.pid, depth + 1);
    };
    for (const pid of [...owned].sort((a, b) => a - b)) {
      const p = byPid.get(pid);
      if (p && !owned.has(p.ppid)) visit(pid, 0);
    }
    out.push({ owner: o.owner, command: byPid.get(o.owner.pid)?.cmdline, checkpointFile: o.checkpointFile, processes });
  }
  return out.sort((a, b) => a.owner.pid - b.owner.pid);
}
