// The gateway's `process.tree` result as the view needs it: checked field by field (a custom or
// misbehaving gateway may send anything), bounded, and indexed by parent.

export interface ProcessNodeView {
  pid: number;
  ppid: number;
  pgid?: number;
  startTime: number;
  name: string;
  command: string;
  /** `gateway` | `program` | `worker` | `process` (as the gateway says). */
  role: string;
  sessionId?: string;
  /** Found by its group or the gateway's tag, not by parentage (a setsid or double-fork escapee). */
  escaped: boolean;
  rssBytes?: number;
  cpuPercent?: number;
}

export interface ProcessTreeView {
  processes: ProcessNodeView[];
  truncated: boolean;
  takenAt: number;
}

/** The gateway lists at most 2000 (docs/protocol.md); more is not believed. */
export const MAX_TREE_PROCESSES = 2000;
const MAX_TEXT = 4096;

/** Parses a `process.tree` result; undefined when it is not one. Unusable rows are skipped. */
export function parseProcessTree(result: unknown, now = Date.now()): ProcessTreeView | undefined {
  const r = result as { processes?: unknown; truncated?: unknown; takenAt?: unknown } | undefined;
  if (typeof r !== 'object' || r === null || !Array.isArray(r.processes)) return undefined;
  const processes: ProcessNodeView[] = [];
  const seen = new Set<number>();
  for (const raw of r.processes.slice(0, MAX_TREE_PROCESSES) as Record<string, unknown>[]) {
    if (typeof raw !== 'object' || raw === null) continue;
    const pid = int(raw.pid);
    const ppid = int(raw.ppid);
    const startTime = int(raw.startTime);
    if (pid === undefined || ppid === undefined || startTime === undefined || seen.has(pid)) continue;
    seen.add(pid);
    processes.push({
      pid,
      ppid,
      pgid: int(raw.pgid),
      startTime,
      name: text(raw.name) ?? `pid ${pid}`,
      command: text(raw.command) ?? '',
      role: text(raw.role) ?? 'process',
      sessionId: text(raw.sessionId),
      escaped: raw.escaped === true,
      rssBytes: finite(raw.rssBytes),
      cpuPercent: finite(raw.cpuPercent),
    });
  }
  return { processes, truncated: r.truncated === true || r.processes.length > MAX_TREE_PROCESSES, takenAt: finite(r.takenAt) ?? now };
}

/** Children of each pid among the listed processes, in pid order. */
export function childrenByParent(tree: ProcessTreeView): Map<number, ProcessNodeView[]> {
  const out = new Map<number, ProcessNodeView[]>();
  for (const p of [...tree.processes].sort((a, b) => a.pid - b.pid)) {
    const list = out.get(p.ppid);
    if (list) list.push(p);
    else out.set(p.ppid, [p]);
  }
  return out;
}

function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

function text(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…` : v;
}
