// The tree's content as plain data, built from the host's state: no vscode here, so it is
// unit-testable. ids are stable across refreshes (they name the thing, not its position), and
// contextValue carries space-separated capability tokens matched by `viewItem =~ /\btoken\b/`.
import type { ProcessInfo } from '../core/processTable';
import type { EvictionView, SessionView } from '../host/gatewayModel';
import type { OrphanView } from '../host/orphanSource';
export type { OrphanView } from '../host/orphanSource';
import type { ResourceSnapshot } from '../host/resourceSampler';
import type { GatewayStatus } from '../host/supervisor';
import { formatBytes, formatCpu, formatDuration, formatWorkerCount } from './format';


export type NodeRef =
  | { kind: 'gateway' }
  | { kind: 'session'; sessionId: string }
  | { kind: 'worker'; sessionId: string; pid: number; startTime: number; pgid?: number }
  | { kind: 'child'; pid: number; workerPid: number }
  | { kind: 'orphans' }
  | { kind: 'orphan'; pid: number };

export interface TreeNode {
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  /** Codicon id. */
  icon: string;
  /** Theme color id for the icon. */
  iconColor?: string;
  contextValue: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
  children: TreeNode[];
  ref: NodeRef;
  parentId?: string;
}

export interface TreeInput {
  gateway: GatewayStatus;
  sessions: SessionView[];
  resources?: ResourceSnapshot;
  orphans: OrphanView[];
  now: number;
}

export function buildTree(input: TreeInput): TreeNode[] {
  const roots: TreeNode[] = [];
  const g = input.gateway;
  // Stopped and nothing else to show: an empty tree lets the viewsWelcome content appear.
  if (g.state !== 'stopped' && g.state !== 'failed') roots.push(gatewayNode(input));
  if (input.orphans.length) roots.push(orphansNode(input.orphans));
  return roots;
}

function gatewayNode(input: TreeInput): TreeNode {
  const g = input.gateway;
  const running = g.state === 'running';
  const parts: string[] = [g.state];
  if (g.pid !== undefined) parts.push(`pid ${g.pid}`);
  if (running && g.startedAt !== undefined) parts.push(`up ${formatDuration(input.now - g.startedAt)}`);
  if (g.state === 'restarting' && g.nextAttemptAt !== undefined) parts.push(`next try in ${formatDuration(Math.max(0, g.nextAttemptAt - input.now))}`);
  const workers = input.sessions.filter((s) => s.worker).length;
  if (running) parts.push(formatWorkerCount(workers, g.limits?.maxWorkers));
  const id = 'gateway';
  const sessions = running ? input.sessions.map((s) => sessionNode(s, input, id)) : [];
  return {
    id,
    label: 'Gateway',
    description: parts.join(' · '),
    tooltip: lines([
      `Gateway: ${g.state}`,
      g.pid !== undefined ? `pid ${g.pid}, process group ${g.pgid ?? '-'}` : undefined,
      g.command ? `Command: ${g.command}` : undefined,
      running && g.limits?.maxWorkers !== undefined
        ? `Workers: ${workers} of ${g.limits.maxWorkers} (gatewayWarden.limits.maxWorkers; at the limit the least recently used idle worker is stopped, and a command is refused when all are busy)`
        : undefined,
      running && g.limits?.maxSessions !== undefined ? `Sessions: ${input.sessions.length} of ${g.limits.maxSessions} (gatewayWarden.limits.maxSessions)` : undefined,
      g.error ? `Last error: ${g.error}` : undefined,
    ]),
    icon: running ? 'server-process' : g.state === 'restarting' ? 'warning' : 'loading~spin',
    iconColor: running ? 'testing.iconPassed' : g.state === 'restarting' ? 'list.warningForeground' : undefined,
    contextValue: `gateway ${running ? 'running' : g.state}`,
    // Always expandable: VS Code keeps an id's first collapsible state, so a node that starts as
    // a leaf would come back collapsed once it has children.
    collapsible: 'expanded',
    children: sessions,
    ref: { kind: 'gateway' },
  };
}

function sessionNode(s: SessionView, input: TreeInput, parentId: string): TreeNode {
  const id = `session/${s.sessionId}`;
  const attach = s.client ? `client ${s.client}` : undefined;
  // Shown until the session gets a new worker: why its worker went away although nobody closed it.
  const evicted = s.evicted && !s.worker ? s.evicted : undefined;
  const desc = [
    `${formatDuration(input.now - s.createdAt)} old`, attach, s.closeOnDisconnect ? 'closes on disconnect' : undefined,
    evicted ? `worker stopped at the limit ${formatDuration(input.now - evicted.at)} ago` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  const worker = s.worker ? workerNode(s, input, id) : undefined;
  return {
    id,
    label: s.label ?? s.sessionId,
    description: desc,
    tooltip: lines([
      `Session ${s.sessionId}${s.label ? ` (${s.label})` : ''}`,
      `Created ${new Date(s.createdAt).toLocaleString()}`,
      s.client ? `Attached client: ${s.client}` : 'No attached client',
      s.closeOnDisconnect ? 'Closed when its client disconnects' : 'Stays open when its client disconnects',
      evicted ? evictionText(evicted) : s.worker ? undefined : 'No worker yet (started by the first slash command)',
    ]),
    icon: 'comment-discussion',
    contextValue: 'session closable',
    collapsible: 'expanded',
    children: worker ? [worker] : [],
    ref: { kind: 'session', sessionId: s.sessionId },
    parentId,
  };
}

function workerNode(s: SessionView, input: TreeInput, parentId: string): TreeNode {
  const w = s.worker!;
  const id = `worker/${w.pid}/${w.startTime}`;
  const usage = input.resources?.usage.get(w.pid);
  const idleSince = w.lastUsedAt ?? w.startedAt;
  const desc = [
    `pid ${w.pid}`,
    w.state,
    w.busy ? 'busy' : `idle ${formatDuration(input.now - idleSince)}`,
    formatCpu(usage?.cpuPercent),
    usage?.rssBytes !== undefined ? formatBytes(usage.rssBytes) : undefined,
  ].filter(Boolean).join(' · ');
  const kids = (input.resources?.children.get(w.pid) ?? []).map((p) => childNode(p, w.pid, input, id));
  return {
    id,
    label: 'Worker',
    description: desc,
    tooltip: lines([
      `Worker pid ${w.pid}${w.pgid !== undefined ? `, process group ${w.pgid}` : ''}`,
      (w.command ?? input.resources?.cmdlines.get(w.pid)) ? `Command: ${w.command ?? input.resources?.cmdlines.get(w.pid)}` : undefined,
      `State: ${w.state}`,
      `Started ${new Date(w.startedAt).toLocaleString()}`,
      usage?.rssBytes !== undefined ? `Memory: ${formatBytes(usage.rssBytes)}` : undefined,
    ]),
    icon: 'gear',
    contextValue: 'worker killable',
    // A leaf until it has children (see ProcessTreeProvider.takeNewParents for the transition).
    collapsible: kids.length ? 'expanded' : 'none',
    children: kids,
    ref: { kind: 'worker', sessionId: s.sessionId, pid: w.pid, startTime: w.startTime, pgid: w.pgid },
    parentId,
  };
}

function childNode(p: ProcessInfo, workerPid: number, input: TreeInput, parentId: string): TreeNode {
  const usage = input.resources?.usage.get(p.pid);
  return {
    id: `child/${p.pid}/${p.startTime ?? ''}`,
    label: p.name,
    description: [`pid ${p.pid}`, formatCpu(usage?.cpuPercent), usage?.rssBytes !== undefined ? formatBytes(usage.rssBytes) : undefined]
      .filter(Boolean)
      .join(' · '),
    tooltip: lines([`pid ${p.pid} (parent ${p.ppid}, group ${p.pgid ?? '-'})`, `Command: ${p.cmdline}`]),
    icon: 'terminal',
    contextValue: 'child',
    collapsible: 'none',
    children: [],
    ref: { kind: 'child', pid: p.pid, workerPid },
    parentId,
  };
}

function orphansNode(orphans: OrphanView[]): TreeNode {
  const id = 'orphans';
  return {
    id,
    label: 'Orphans',
    description: `${orphans.length} left behind`,
    tooltip: 'Processes from an earlier session whose owner is gone. Use "Clear Orphaned Processes…" to end them.',
    icon: 'warning',
    iconColor: 'list.warningForeground',
    contextValue: 'orphans',
    collapsible: 'expanded',
    children: orphans.map((o) => ({
      id: `orphan/${o.pid}/${o.startTime ?? ''}`,
      label: `pid ${o.pid}`,
      description: [o.ageMs !== undefined ? `${formatDuration(o.ageMs)} old` : undefined, o.rssBytes !== undefined ? formatBytes(o.rssBytes) : undefined, o.reason]
        .filter(Boolean)
        .join(' · '),
      tooltip: lines([`Command: ${o.cmdline}`, `Reason: ${o.reason}`]),
      icon: 'debug-disconnect',
      contextValue: 'orphan',
      collapsible: 'none' as const,
      children: [],
      ref: { kind: 'orphan' as const, pid: o.pid },
      parentId: id,
    })),
    ref: { kind: 'orphans' },
  };
}

function evictionText(e: EvictionView): string {
  const why = e.reason === 'worker-cap'
    ? `the live-worker limit${e.limit !== undefined ? ` (${e.limit})` : ''} was reached and it was the least recently used idle worker (gatewayWarden.limits.maxWorkers)`
    : `reason: ${e.reason}`;
  return `Its worker (pid ${e.pid}) was stopped ${new Date(e.at).toLocaleTimeString()}: ${why}. The session stays; its next slash command starts a new worker.`;
}

function lines(parts: (string | undefined)[]): string {
  return parts.filter((p): p is string => p !== undefined).join('\n');
}
