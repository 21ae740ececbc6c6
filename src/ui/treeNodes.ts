// The tree's content as plain data, built from the host's state: no vscode here, so it is
// unit-testable. ids are stable across refreshes (they name the thing, not its position), and
// contextValue carries space-separated capability tokens matched by `viewItem =~ /\btoken\b/`.
import { GROUP_KEEPER_NAME } from '../core/ownerMarker';
import type { ProcessInfo } from '../core/processTable';
import type { BackendView, EvictionView, SessionView, StaleWorkerView } from '../host/gatewayModel';
import { childrenByParent, ProcessNodeView } from '../host/processTreeView';
import type { ExitedView } from '../host/recentlyExited';
import type { OrphanView } from '../host/orphanSource';
export type { OrphanView } from '../host/orphanSource';
import type { ResourceSnapshot, ResourceTotals } from '../host/resourceSampler';
import type { GatewayStatus } from '../host/supervisor';
import { HERMES_SETUP_HINT } from './backendAlerts';
import { formatBytes, formatCpuPercent, formatDuration, formatWorkerCount, truncate } from '../core/format';


export type NodeRef =
  | { kind: 'gateway' }
  | { kind: 'session'; sessionId: string }
  | { kind: 'worker'; sessionId: string; pid: number; startTime: number; pgid?: number }
  | { kind: 'child'; pid: number; workerPid: number }
  /** A node of the gateway's process tree (the backend's program, its descendants, a stale worker): Kill Process. */
  | { kind: 'process'; pid: number; startTime: number; role: 'program' | 'process' | 'staleWorker' }
  | { kind: 'orphans' }
  | { kind: 'orphan'; pid: number }
  | { kind: 'recentlyExited' }
  | { kind: 'exited'; pid: number };

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
  /** The program behind a hermes or command backend. */
  backend?: BackendView;
  /** hermes: workers whose session is gone. */
  staleWorkers?: StaleWorkerView[];
  resources?: ResourceSnapshot;
  orphans: OrphanView[];
  /** Workers and backend programs that exited lately, newest first (host/recentlyExited). */
  recentlyExited?: ExitedView[];
  now: number;
}

export function buildTree(input: TreeInput): TreeNode[] {
  const roots: TreeNode[] = [];
  const g = input.gateway;
  // Stopped and nothing else to show: an empty tree lets the viewsWelcome content appear.
  if (g.state !== 'stopped' && g.state !== 'failed') roots.push(gatewayNode(input));
  if (input.orphans.length) roots.push(orphansNode(input.orphans));
  // Not alone: a stopped or failed gateway's welcome content (Start, Show Log) needs an empty tree.
  // The rows are kept meanwhile and come back with the gateway.
  if (roots.length && input.recentlyExited?.length) roots.push(recentlyExitedNode(input.recentlyExited, input.now));
  return roots;
}

function gatewayNode(input: TreeInput): TreeNode {
  const g = input.gateway;
  const running = g.state === 'running';
  const b = running ? input.backend : undefined;
  const parts: string[] = [g.state];
  if (g.pid !== undefined) parts.push(`pid ${g.pid}`);
  // Ages to the minute: a row whose text changes is refreshed, and VS Code forgets the rows below
  // it until it has fetched them again (a menu command run then gets no row; ui/processTree.ts).
  if (running && g.startedAt !== undefined) parts.push(`up ${formatDuration(input.now - g.startedAt, 'minute')}`);
  if (g.state === 'restarting' && g.nextAttemptAt !== undefined) parts.push(`next try in ${formatDuration(Math.max(0, g.nextAttemptAt - input.now))}`);
  if (b) parts.push(b.state === 'running' ? b.name : `${b.name} ${b.state}`);
  const workers = input.sessions.filter((s) => s.worker).length;
  if (running && b?.name !== 'command') parts.push(formatWorkerCount(workers, g.limits?.maxWorkers));
  const id = 'gateway';
  const children: TreeNode[] = [];
  if (running) {
    if (b?.name === 'command') children.push(...commandNodes(b, input, id));
    else {
      if (b) children.push(programNode(b, input, id, []));
      children.push(...input.sessions.map((s) => sessionNode(s, input, id)));
      children.push(...(input.staleWorkers ?? []).map((w) => staleWorkerNode(w, input, id)));
    }
  }
  const programFailed = b !== undefined && (b.state === 'failed' || b.state === 'exited');
  return {
    id,
    label: 'Gateway',
    description: parts.join(' · '),
    tooltip: lines([
      `Gateway: ${g.state}`,
      g.pid !== undefined ? `pid ${g.pid}, process group ${g.pgid ?? '-'}` : undefined,
      running && g.startedAt !== undefined ? `Started ${new Date(g.startedAt).toLocaleString()}` : undefined,
      g.backend ? `Backend: ${g.backend}${backendBlurb(g.backend)}` : undefined,
      g.command ? `Command: ${g.command}` : undefined,
      b ? `${programTitle(b)}: ${b.display ? `${b.display}` : '(the default)'}${b.cwd ? ` (cwd ${b.cwd})` : ''}, ${b.state}${b.pid !== undefined ? `, pid ${b.pid}` : ''}` : undefined,
      running && b?.name !== 'command' && g.limits?.maxWorkers !== undefined
        ? `Workers: ${workers} of ${g.limits.maxWorkers} (gatewayWarden.limits.maxWorkers; at the limit the least recently used idle worker is stopped, and a command is refused when all are busy)`
        : undefined,
      running && b?.name !== 'command' && g.limits?.maxSessions !== undefined ? `Sessions: ${input.sessions.length} of ${g.limits.maxSessions} (gatewayWarden.limits.maxSessions)` : undefined,
      g.error ? `Last error: ${g.error}` : undefined,
    ]),
    icon: running ? (programFailed ? 'warning' : 'server-process') : g.state === 'restarting' ? 'warning' : 'loading~spin',
    iconColor: running ? (programFailed ? 'list.warningForeground' : 'testing.iconPassed') : g.state === 'restarting' ? 'list.warningForeground' : undefined,
    contextValue: `gateway ${running ? 'running' : g.state}`,
    // Always expandable: VS Code keeps an id's first collapsible state, so a node that starts as
    // a leaf would come back collapsed once it has children.
    collapsible: 'expanded',
    children,
    ref: { kind: 'gateway' },
  };
}

function backendBlurb(backend: string): string {
  switch (backend) {
    case 'embedded': return ' (the built-in gateway)';
    case 'warden': return ' (your gateway program, speaking the Warden protocol)';
    case 'hermes': return " (hermes-agent's tui_gateway, run and watched by the built-in gateway)";
    case 'command': return ' (your program, run and watched by the built-in gateway)';
    default: return '';
  }
}

function programTitle(b: BackendView): string {
  return b.name === 'hermes' ? 'hermes gateway' : b.name === 'command' ? 'Command' : `${b.name} program`;
}

/**
 * The backend's program: state, pid, CPU and memory (from the sampler, or the process.tree node
 * when there is one), why it failed or exited. Kill Process while it runs.
 */
function programNode(b: BackendView, input: TreeInput, parentId: string, children: TreeNode[], node?: ProcessNodeView): TreeNode {
  const pid = b.pid ?? node?.pid;
  const startTime = b.startTime ?? node?.startTime;
  const usage = pid !== undefined ? usageOf(pid, input, node) : undefined;
  const live = b.state === 'running' || b.state === 'starting';
  const down = b.state === 'failed' || b.state === 'exited';
  const desc = [
    pid !== undefined ? `pid ${pid}` : undefined,
    b.state === 'exited' && b.exit ? `exited (${b.exit.signal ?? `code ${b.exit.code}`})` : b.state,
    live ? formatCpuPercent(usage?.cpuPercent) : undefined,
    live && usage?.rssBytes !== undefined ? formatBytes(usage.rssBytes) : undefined,
    b.name === 'hermes' && b.lastError && !down ? `error: ${oneLine(b.lastError.message, 80)}` : undefined,
  ].filter(Boolean).join(' · ');
  const killable = live && pid !== undefined && startTime !== undefined;
  return {
    id: `program/${pid ?? 'none'}/${startTime ?? ''}`,
    label: b.name === 'hermes' ? 'hermes gateway' : node?.name ?? programName(b.display) ?? 'command',
    description: desc,
    tooltip: lines([
      `${programTitle(b)}: ${b.display ?? '(the default command)'}`,
      b.cwd ? `Working directory: ${b.cwd}` : undefined,
      `State: ${b.state}${pid !== undefined ? `, pid ${pid}` : ''}`,
      usage?.rssBytes !== undefined ? `Memory: ${formatBytes(usage.rssBytes)}` : undefined,
      b.error ? `\n${b.error}` : undefined,
      b.lastError ? `\nLast error from hermes${b.lastError.sessionId ? ` (session ${b.lastError.sessionId})` : ''}: ${b.lastError.message}` : undefined,
      down && b.name === 'hermes' ? `\n${HERMES_SETUP_HINT}` : undefined,
    ]),
    icon: down ? 'error' : b.name === 'hermes' ? 'hubot' : 'terminal',
    iconColor: down ? 'list.errorForeground' : b.lastError && b.name === 'hermes' ? 'list.warningForeground' : undefined,
    contextValue: `program${killable ? ' processKillable' : ''}`,
    collapsible: b.name === 'command' ? 'expanded' : 'none',
    children,
    ref: { kind: 'process', pid: pid ?? 0, startTime: startTime ?? 0, role: 'program' },
    parentId,
  };
}

/**
 * command backend: Gateway → the command → its descendants, from the gateway's process.tree
 * (polled while the view is visible); processes found only by group or tag ("escaped") are listed
 * under the gateway. Before the first answer (or elsewhere than where it is polled): the program alone.
 */
function commandNodes(b: BackendView, input: TreeInput, parentId: string): TreeNode[] {
  const tree = input.resources?.tree;
  if (!tree) return [programNode(b, input, parentId, [])];
  const kids = childrenByParent(tree);
  const gateway = tree.processes.find((p) => p.role === 'gateway');
  const listed = new Set(tree.processes.map((p) => p.pid));
  const seen = new Set<number>(gateway ? [gateway.pid] : []);
  const out: TreeNode[] = [];
  const program = tree.processes.find((p) => p.role === 'program' && (b.pid === undefined || p.pid === b.pid));
  if (program) seen.add(program.pid);
  const programKids = program ? (kids.get(program.pid) ?? []).map((c) => processNode(c, kids, input, `program/${program.pid}/${program.startTime}`, seen, 1)) : [];
  out.push(programNode(b, input, parentId, programKids.filter((n): n is TreeNode => n !== undefined), program));
  // Whatever else the gateway answers for: its other children, and escapees (parent not listed).
  const rest = tree.processes.filter((p) => p.role !== 'gateway' && (p.ppid === gateway?.pid || !listed.has(p.ppid) || p.escaped));
  for (const p of rest) {
    const n = processNode(p, kids, input, parentId, seen, 1);
    if (n) out.push(n);
  }
  return out;
}

const MAX_DEPTH = 64;

function processNode(p: ProcessNodeView, kids: Map<number, ProcessNodeView[]>, input: TreeInput, parentId: string, seen: Set<number>, depth: number): TreeNode | undefined {
  if (seen.has(p.pid)) return undefined;
  seen.add(p.pid);
  const id = `process/${p.pid}/${p.startTime}`;
  const children = depth >= MAX_DEPTH ? [] : (kids.get(p.pid) ?? [])
    .map((c) => processNode(c, kids, input, id, seen, depth + 1))
    .filter((n): n is TreeNode => n !== undefined);
  const usage = usageOf(p.pid, input, p);
  return {
    id,
    label: p.name,
    description: [
      `pid ${p.pid}`,
      p.escaped ? 'escaped' : undefined,
      formatCpuPercent(usage?.cpuPercent),
      usage?.rssBytes !== undefined ? formatBytes(usage.rssBytes) : undefined,
    ].filter(Boolean).join(' · '),
    tooltip: lines([
      `pid ${p.pid} (parent ${p.ppid}, group ${p.pgid ?? '-'})`,
      `Command: ${p.command || p.name}`,
      p.escaped ? 'Escaped: it left its parent (setsid, a double fork); found by its process group or the gateway\'s tag, and taken down with the rest' : undefined,
    ]),
    icon: 'terminal',
    contextValue: 'process processKillable',
    collapsible: children.length ? 'expanded' : 'none',
    children,
    ref: { kind: 'process', pid: p.pid, startTime: p.startTime, role: 'process' },
    parentId,
  };
}

/** hermes: a worker whose session is gone, until the gateway reaps it (or it exits). */
function staleWorkerNode(w: StaleWorkerView, input: TreeInput, parentId: string): TreeNode {
  const usage = input.resources?.usage.get(w.pid);
  const reap = w.reapAt !== undefined ? `taken down in ${formatDuration(Math.max(0, w.reapAt - input.now))}` : 'reported only';
  return {
    id: `stale/${w.pid}/${w.startTime}`,
    label: 'Stale worker',
    description: [`pid ${w.pid}`, 'its session is gone', reap, formatCpuPercent(usage?.cpuPercent), usage?.rssBytes !== undefined ? formatBytes(usage.rssBytes) : undefined]
      .filter(Boolean).join(' · '),
    tooltip: lines([
      `Stale worker — its session is gone (pid ${w.pid}${w.pgid !== undefined ? `, process group ${w.pgid}` : ''})`,
      w.sessionKey ? `Session key: ${w.sessionKey} (no live hermes session has it)` : undefined,
      w.command ? `Command: ${w.command}` : undefined,
      `Stale since ${new Date(w.staleSince).toLocaleTimeString()}`,
      w.reapAt !== undefined
        ? `The gateway takes it down at ${new Date(w.reapAt).toLocaleTimeString()} (gateway flag --stale-worker-grace-ms); Kill Process ends it now.`
        : 'Only reported (--stale-worker-grace-ms 0); Kill Process ends it.',
    ]),
    icon: 'warning',
    iconColor: 'list.warningForeground',
    contextValue: 'staleWorker processKillable',
    collapsible: 'none',
    children: [],
    ref: { kind: 'process', pid: w.pid, startTime: w.startTime, role: 'staleWorker' },
    parentId,
  };
}

/** CPU and memory: the sampler's /proc reading, else what process.tree said. */
function usageOf(pid: number, input: TreeInput, node?: ProcessNodeView): { cpuPercent?: number; rssBytes?: number } | undefined {
  const sampled = input.resources?.usage.get(pid);
  // Field by field: a first /proc reading has no CPU figure yet, process.tree may have one.
  if (!node) return sampled;
  return { cpuPercent: sampled?.cpuPercent ?? node.cpuPercent, rssBytes: sampled?.rssBytes ?? node.rssBytes };
}

function programName(display: string | undefined): string | undefined {
  const first = display?.split(' ')[0]?.replace(/^"|"$/g, '');
  return first ? first.split(/[\\/]/).pop() || undefined : undefined;
}

function oneLine(text: string, max: number): string {
  return truncate(text.replace(/\s+/g, ' ').trim(), max);
}

function sessionNode(s: SessionView, input: TreeInput, parentId: string): TreeNode {
  const id = `session/${s.sessionId}`;
  const attach = s.client ? `client ${s.client}` : undefined;
  // Shown until the session gets a new worker: why its worker went away although nobody closed it.
  const evicted = s.evicted && !s.worker ? s.evicted : undefined;
  const desc = [
    `${formatDuration(input.now - s.createdAt, 'minute')} old`, attach, s.closeOnDisconnect ? 'closes on disconnect' : undefined,
    evicted ? `worker ${evicted.reason === 'memory-limit' ? 'restarted at the memory limit' : 'stopped at the limit'} ${formatDuration(input.now - evicted.at)} ago` : undefined,
    s.agent?.model, s.agent?.error ? `error: ${oneLine(s.agent.error, 80)}` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  const worker = s.worker ? workerNode(s, input, id) : undefined;
  // The session's cost: its worker and everything it started (its cgroup, or the sampled table).
  const total = s.worker ? input.resources?.totals?.get(s.worker.pid) : undefined;
  return {
    id,
    label: s.label ?? s.sessionId,
    description: [desc, total ? totalText(total) : undefined].filter(Boolean).join(' · '),
    tooltip: lines([
      `Session ${s.sessionId}${s.label ? ` (${s.label})` : ''}`,
      `Created ${new Date(s.createdAt).toLocaleString()}`,
      s.client ? `Attached client: ${s.client}` : 'No attached client',
      s.closeOnDisconnect ? 'Closed when its client disconnects' : 'Stays open when its client disconnects',
      s.agent?.model ? `Model: ${s.agent.model}${s.agent.status ? ` (${s.agent.status})` : ''}` : undefined,
      s.agent?.error ? `Error from the backend: ${s.agent.error}` : undefined,
      total ? totalTooltip(total) : undefined,
      evicted ? evictionText(evicted) : s.worker ? undefined : input.backend?.name === 'hermes' ? 'No worker yet (hermes starts it once the session\'s agent is built)' : 'No worker yet (started by the first slash command)',
    ]),
    icon: s.agent?.error ? 'warning' : 'comment-discussion',
    iconColor: s.agent?.error ? 'list.warningForeground' : undefined,
    contextValue: 'session closable',
    collapsible: 'expanded',
    children: worker ? [worker] : [],
    ref: { kind: 'session', sessionId: s.sessionId },
    parentId,
  };
}

/** "Σ 4.2% CPU · 312 MB": the session's total, beside what its rows show one by one. */
function totalText(t: ResourceTotals): string | undefined {
  const parts = [formatCpuPercent(t.cpuPercent), t.memoryBytes !== undefined ? formatBytes(t.memoryBytes) : undefined].filter(Boolean);
  return parts.length ? `Σ ${parts.join(' · ')}` : undefined;
}

function totalTooltip(t: ResourceTotals): string {
  const from = t.source === 'cgroup' ? 'from its cgroup\'s files' : 'from the process table';
  return `Total of its worker and everything it started (${t.processes} process${t.processes === 1 ? '' : 'es'}, ${from}): ` +
    `${t.cpuPercent !== undefined ? `${formatCpuPercent(t.cpuPercent)}, ` : ''}memory ${formatBytes(t.memoryBytes)}`;
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
    formatCpuPercent(usage?.cpuPercent),
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
  // The worker's own group keeper (a `sh` with a long script): named for what it is.
  const keeper = p.cmdline.split(' ').includes(GROUP_KEEPER_NAME);
  return {
    id: `child/${p.pid}/${p.startTime ?? ''}`,
    label: keeper ? 'group keeper' : p.name,
    description: [`pid ${p.pid}`, formatCpuPercent(usage?.cpuPercent), usage?.rssBytes !== undefined ? formatBytes(usage.rssBytes) : undefined]
      .filter(Boolean)
      .join(' · '),
    tooltip: lines([
      `pid ${p.pid} (parent ${p.ppid}, group ${p.pgid ?? '-'})`,
      keeper ? "Gateway Warden's group keeper: takes this worker's process group down if the worker dies" : undefined,
      `Command: ${p.cmdline}`,
    ]),
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

/** Collapsed: a record of what went, for after the fact, not something to act on. */
function recentlyExitedNode(exits: ExitedView[], now: number): TreeNode {
  const id = 'recentlyExited';
  const crashed = exits.filter(abnormal).length;
  return {
    id,
    label: 'Recently exited',
    description: `${exits.length}${crashed ? ` · ${crashed} abnormal` : ''}`,
    tooltip: 'Workers and backend programs that exited in the last 10 minutes (the last 20), with their exit code or signal and how long they ran.',
    icon: 'history',
    contextValue: 'recentlyExited',
    collapsible: 'collapsed',
    children: exits.map((e) => exitedNode(e, now, id)),
    ref: { kind: 'recentlyExited' },
  };
}

function exitText(e: ExitedView): string {
  if (e.signal) return `signal ${e.signal}`;
  if (e.code !== null) return `exit code ${e.code}`;
  return 'exit status unknown';
}

/** Killed by a signal or a non-zero code (a clean exit or an unknown one is not flagged). */
function abnormal(e: ExitedView): boolean {
  return e.signal !== null || (e.code !== null && e.code !== 0);
}

function exitedNode(e: ExitedView, now: number, parentId: string): TreeNode {
  const ran = e.startedAt !== undefined ? e.exitedAt - e.startedAt : undefined;
  const title = e.kind === 'worker' ? 'Worker' : e.kind === 'staleWorker' ? 'Stale worker' : e.label === 'hermes' ? 'hermes gateway' : programName(e.command) ?? e.label ?? 'program';
  return {
    id: `exited/${e.kind}/${e.pid}/${e.startTime ?? ''}/${e.exitedAt}`,
    // Labelled by pid like the orphan rows: "Worker" or "hermes gateway" would read as a live one.
    label: `pid ${e.pid}`,
    description: [
      title,
      exitText(e),
      ran !== undefined ? `ran ${formatDuration(ran)}` : undefined,
      `${formatDuration(now - e.exitedAt)} ago`,
      e.kind === 'worker' && e.label ? e.label : undefined,
    ].filter(Boolean).join(' · '),
    tooltip: lines([
      `${title} pid ${e.pid}: ${exitText(e)}${e.reason ? ` (${e.reason})` : ''}`,
      e.kind === 'worker' && e.sessionId ? `Session ${e.sessionId}${e.label ? ` (${e.label})` : ''}` : undefined,
      e.kind === 'staleWorker' && e.label ? `Session key: ${e.label}` : undefined,
      e.command ? `Command: ${e.command}` : undefined,
      e.startedAt !== undefined ? `Started ${new Date(e.startedAt).toLocaleTimeString()}` : undefined,
      `Exited ${new Date(e.exitedAt).toLocaleTimeString()}${ran !== undefined ? ` after ${formatDuration(ran)}` : ''}`,
      e.code === null && e.signal === null ? 'The gateway could not see how it ended (it was not the gateway\'s own child).' : undefined,
    ]),
    icon: abnormal(e) ? 'error' : 'circle-outline',
    iconColor: abnormal(e) ? 'list.errorForeground' : undefined,
    contextValue: 'exited',
    collapsible: 'none',
    children: [],
    ref: { kind: 'exited', pid: e.pid },
    parentId,
  };
}

function evictionText(e: EvictionView): string {
  if (e.reason === 'memory-limit') {
    const used = e.memoryBytes !== undefined ? ` used ${formatBytes(e.memoryBytes)},` : '';
    const limit = e.limitBytes !== undefined ? ` (${formatBytes(e.limitBytes)})` : '';
    return `Its worker (pid ${e.pid}) was restarted ${new Date(e.at).toLocaleTimeString()}: the session's processes together${used} above ${e.setting ?? 'gatewayWarden.limits.workerMemoryMB'}${limit}; the worker and everything it started were taken down. The session stays; its next slash command starts a new worker.`;
  }
  const why = e.reason === 'worker-cap'
    ? `the live-worker limit${e.limit !== undefined ? ` (${e.limit})` : ''} was reached and it was the least recently used idle worker (gatewayWarden.limits.maxWorkers)`
    : `reason: ${e.reason}`;
  return `Its worker (pid ${e.pid}) was stopped ${new Date(e.at).toLocaleTimeString()}: ${why}. The session stays; its next slash command starts a new worker.`;
}

function lines(parts: (string | undefined)[]): string {
  return parts.filter((p): p is string => p !== undefined).join('\n');
}
