// process.tree and process.kill: the live processes this gateway answers for, whatever the
// backend — its descendants by parentage, the members of its own process group and of the groups
// its backend names (hermes' worker groups), every process carrying the gateway's tag in its
// environment (a setsid or double-fork escapee) and every member of its cgroup tree (an escapee
// that dropped the tag too) — with each one's descendants. A kill goes only to
// a process in that set whose fingerprint still matches, and takes its subtree (and its own
// group, when it leads one) down: SIGTERM, a grace, SIGKILL until gone.
import { listMembers } from '../core/cgroup/cgroupMembers';
import { Fingerprint, fingerprintOf, formatFingerprint, selfFingerprint } from '../core/fingerprint';
import { ownProcessGroup, processGroup, processTree, teardown } from '../core/kill';
import { childrenIndex, listProcesses, ProcessInfo, processSource, scanProcSync } from '../core/processTable';
import { clockTicksPerSecond, readProcEnvVar } from '../core/procfs';
import { RpcError, RpcErrorCode } from '../core/rpc';
import type { KnownProcess } from './backends/backend';
import { GATEWAY_TAG_ENV } from './backends/program';

/** process.tree lists at most this many processes (then `truncated: true`). */
export const MAX_TREE_NODES = 2000;
const MIN_CPU_INTERVAL_MS = 250;
const KILL_GRACE_MS = 500;

export interface ProcessNode {
  pid: number;
  ppid: number;
  pgid: number | null;
  startTime: number | null;
  /** Single-letter kernel state (R, S, D, T, Z …); '?' where unknown. */
  state: string;
  name: string;
  command: string;
  /** `gateway` (this process), `program` (the backend's), `worker`, or any other `process`. */
  role: 'gateway' | 'program' | 'worker' | 'process';
  sessionId?: string;
  /** Not a descendant by parentage: found through its process group or the gateway's tag. */
  escaped?: true;
  rssBytes?: number;
  /** CPU time used so far (Linux). */
  cpuMs?: number;
  /** Percent of one core since the previous process.tree (Linux; absent on the first). */
  cpuPercent?: number;
}

export interface ProcessTreeSnapshot {
  processes: ProcessNode[];
  truncated: boolean;
  takenAt: number;
}

export interface ProcessTreeSource {
  ownerMarker: string;
  /** Processes the backend can name (role, session). */
  known(): KnownProcess[];
  /** Process groups the backend started outside the gateway's own (hermes' worker groups). */
  groups(): number[];
  /** The gateway's cgroup tree (every leaf's members are ours), or undefined without one. */
  cgroupTree?(): string | undefined;
}

export class ProcessTree {
  private lastCpu = new Map<string, { ticks: number; at: number }>();
  /** The snapshot being taken; callers that arrive meanwhile share it. */
  private taking?: Promise<ProcessTreeSnapshot>;

  constructor(private readonly source: ProcessTreeSource) {}

  /**
   * A full scan costs 5–50 ms of the event loop: requests that arrive while one is being taken
   * (a burst read in one go, from one client or several) share it rather than scan once each.
   * The Linux scan is synchronous, so "meanwhile" lasts until its promise settles.
   */
  snapshot(): Promise<ProcessTreeSnapshot> {
    this.taking ??= this.take().finally(() => {
      this.taking = undefined;
    });
    return this.taking;
  }

  private async take(): Promise<ProcessTreeSnapshot> {
    const takenAt = Date.now();
    if (process.platform !== 'linux') return this.portableSnapshot(takenAt);
    const table = scanProcSync({ readOwner: true, readMemory: true });
    const byPid = new Map(table.map((p) => [p.pid, p]));
    const kids = childrenIndex(table);
    const ownGroup = ownProcessGroup() === process.pid ? process.pid : undefined;
    const groups = new Set(this.source.groups());
    if (ownGroup !== undefined) groups.add(ownGroup);
    const tag = formatFingerprint(selfFingerprint());

    const picked = new Map<number, ProcessInfo>();
    let truncated = false;
    const take = (root: ProcessInfo) => {
      // The root and its descendants, parents before children.
      const queue = [root];
      while (queue.length) {
        const p = queue.shift()!;
        if (picked.has(p.pid)) continue;
        if (picked.size >= MAX_TREE_NODES) {
          truncated = true;
          return;
        }
        picked.set(p.pid, p);
        queue.push(...(kids.get(p.pid) ?? []));
      }
    };
    const self = byPid.get(process.pid);
    if (self) take(self);
    // Escapees: in our cgroup tree (the kernel's list: a process that dropped every marker too),
    // in one of our groups, or tagged by us (the tag is read only where our owner marker is,
    // which every descendant inherits, so foreign processes cost no extra read).
    const treeDir = this.source.cgroupTree?.();
    const members = treeDir === undefined ? undefined : listMembers(treeDir);
    const inTree = new Set(members?.state === 'found' ? members.value.pids : []);
    for (const p of table) {
      if (picked.has(p.pid)) continue;
      const inGroup = p.pgid !== undefined && groups.has(p.pgid);
      if (inTree.has(p.pid) || inGroup || (p.owner === this.source.ownerMarker && readProcEnvVar(p.pid, GATEWAY_TAG_ENV) === tag)) {
        take(p);
      }
    }
    return { processes: this.nodes([...picked.values()], takenAt), truncated, takenAt };
  }

  /**
   * Kills one process of the tree and everything below it (and its group, when it leads one
   * other than the gateway's). Refused with -32602 when the pid is not in the tree, is another
   * process now, or is the gateway itself.
   */
  async kill(pid: number, startTime: number, graceMs = KILL_GRACE_MS): Promise<Record<string, unknown>> {
    if (pid === process.pid) throw RpcError.invalidParams(`pid ${pid} is this gateway; use gateway.shutdown to end it`);
    const { processes } = await this.snapshot();
    const node = processes.find((p) => p.pid === pid);
    if (!node) throw RpcError.invalidParams(`pid ${pid} is not in this gateway's process tree (process.tree lists what may be killed); not signalled`);
    if (node.startTime !== startTime) {
      throw RpcError.invalidParams(`pid ${pid} is now another process (start time ${node.startTime}, asked for ${startTime}); not signalled`);
    }
    const leader: Fingerprint = { pid, startTime, bootId: processSource().bootId() ?? '' };
    const timeoutMs = graceMs + 4500;
    const ownsGroup = process.platform !== 'win32' && node.pgid === pid && pid !== ownProcessGroup();
    // One teardown: its tree, and its group with it when it leads one.
    const r = await teardown([processTree(leader), ...(ownsGroup ? [processGroup(pid, leader)] : [])], { graceMs, timeoutMs });
    const refused = r.refusals.map((x) => x.message).join('; ');
    if (refused && r.processes.every((p) => p.outcome === 'refused')) {
      throw new RpcError(RpcErrorCode.ServerError, `pid ${pid} was not killed: ${refused}`, { pid, startTime });
    }
    return {
      pid,
      startTime,
      killed: r.survivors.length === 0,
      processes: r.processes.map((p) => ({ pid: p.pid, outcome: p.outcome, signals: p.signals })),
      group: ownsGroup ? { pgid: pid, signals: r.signals.filter((s) => s.pgid === pid).map((s) => s.signal), survivors: r.survivors } : null,
      survivors: r.survivors,
      elapsedMs: Math.round(r.elapsedMs),
    };
  }

  private nodes(picked: ProcessInfo[], takenAt: number): ProcessNode[] {
    const pids = new Set(picked.map((p) => p.pid));
    const known = new Map(this.source.known().map((k) => [k.pid, k]));
    const ticksPerSecond = process.platform === 'linux' ? clockTicksPerSecond() : 0;
    const nextCpu = new Map<string, { ticks: number; at: number }>();
    const out = picked.map((info) => {
      const k = known.get(info.pid);
      const isKnown = k !== undefined && (info.startTime === undefined || k.startTime === info.startTime);
      const node: ProcessNode = {
        pid: info.pid,
        ppid: info.ppid,
        pgid: info.pgid ?? null,
        startTime: info.startTime ?? null,
        state: info.state ?? '?',
        name: info.name,
        command: info.cmdline.length > 4096 ? info.cmdline.slice(0, 4096) + '…' : info.cmdline,
        role: info.pid === process.pid ? 'gateway' : isKnown ? k.role : 'process',
      };
      if (isKnown && k.sessionId !== undefined) node.sessionId = k.sessionId;
      // Every descendant's parent is listed; a process whose parent is not came by group or tag.
      if (info.pid !== process.pid && !pids.has(info.ppid)) node.escaped = true;
      if (info.rss !== undefined) node.rssBytes = info.rss;
      if (info.cpuTicks !== undefined && ticksPerSecond > 0) {
        node.cpuMs = Math.round((info.cpuTicks / ticksPerSecond) * 1000);
        const key = `${info.pid}:${info.startTime}`;
        const prev = this.lastCpu.get(key);
        if (prev && takenAt - prev.at >= MIN_CPU_INTERVAL_MS) {
          node.cpuPercent = Math.round((((info.cpuTicks - prev.ticks) / ticksPerSecond) * 1000 * 1000) / (takenAt - prev.at)) / 10;
          nextCpu.set(key, { ticks: info.cpuTicks, at: takenAt });
        } else {
          nextCpu.set(key, prev ?? { ticks: info.cpuTicks, at: takenAt });
        }
      }
      return node;
    });
    // Only live processes are remembered: the map is bounded by the tree.
    this.lastCpu = nextCpu;
    return out;
  }

  /** Elsewhere than Linux: descendants by parentage only (no environment, no groups). */
  private async portableSnapshot(takenAt: number): Promise<ProcessTreeSnapshot> {
    const table = await listProcesses({ readOwner: false });
    const kids = childrenIndex(table);
    const self = table.find((p) => p.pid === process.pid) ?? { pid: process.pid, ppid: process.ppid, name: 'gateway', cmdline: process.argv.join(' ') };
    const picked: ProcessInfo[] = [];
    const queue = [self];
    let truncated = false;
    while (queue.length) {
      const p = queue.shift()!;
      if (picked.length >= MAX_TREE_NODES) {
        truncated = true;
        break;
      }
      let startTime: number | undefined;
      try {
        startTime = fingerprintOf(p.pid)?.startTime;
      } catch {
        startTime = undefined;
      }
      picked.push({ ...p, startTime });
      queue.push(...(kids.get(p.pid) ?? []));
    }
    return { processes: this.nodes(picked, takenAt), truncated, takenAt };
  }
}
