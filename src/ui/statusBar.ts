// Status-bar item: the worker count (and the backend, when not the embedded gateway); clicking
// focuses the processes view.
import type * as vscode from 'vscode';
import type { BackendView } from '../host/gatewayModel';
import type { GatewayStatus } from '../host/supervisor';
import { formatBytes, formatCpuPercent, formatDuration, formatWorkerCount } from '../core/format';

/** The gateway's total (gateway, workers and everything they started), from the latest sample. */
export interface GatewayTotal {
  cpuPercent?: number;
  memoryBytes?: number;
  processes: number;
  source: 'cgroup' | 'process-table';
  /** How old the sample is. */
  ageMs: number;
}

/** Older samples say how old they are (the sampler runs while the view is visible; the leak check samples too). */
const FRESH_MS = 10_000;

function totalLine(t: GatewayTotal): string {
  const parts = [t.memoryBytes !== undefined ? formatBytes(t.memoryBytes) : undefined, formatCpuPercent(t.cpuPercent)].filter(Boolean).join(', ');
  const from = t.source === 'cgroup' ? 'its cgroup' : `${t.processes} process${t.processes === 1 ? '' : 'es'}`;
  const age = t.ageMs > FRESH_MS ? `, sampled ${formatDuration(t.ageMs)} ago` : '';
  return `\nTotal: ${parts || 'not measured'} (the gateway, its workers and everything they started; ${from}${age})`;
}

export interface StatusBarText {
  text: string;
  tooltip: string;
  /** Theme color id of the item's background: the warning colour while a leak alert holds. */
  background?: string;
}

export const ALERT_BACKGROUND = 'statusBarItem.warningBackground';

/** `alerts`: the messages of the leak-alert conditions that hold now (host/leakConditions). */
export function statusBarText(gateway: GatewayStatus, workers: number, orphans: number, program?: BackendView, alerts: readonly string[] = [], total?: GatewayTotal): StatusBarText {
  const running = gateway.state === 'running';
  // The program behind a hermes or command backend counts only while our gateway runs it.
  const p = running ? program : undefined;
  const programDown = p !== undefined && (p.state === 'failed' || p.state === 'exited');
  const icon = running ? (programDown ? '$(error)' : '$(server-process)') : gateway.state === 'failed' ? '$(error)' : gateway.state === 'stopped' ? '$(circle-slash)' : '$(loading~spin)';
  const orphanText = orphans ? ` $(warning) ${orphans}` : '';
  // The cap is the gateway's (reported at start-up), so it is shown only while one runs.
  const max = running ? gateway.limits?.maxWorkers : undefined;
  const w = formatWorkerCount(workers, max);
  const atLimit = max !== undefined && workers >= max;
  // embedded and warden: just the count, as ever; hermes and command name their backend first.
  const backend = gateway.backend === 'hermes' || gateway.backend === 'command' ? gateway.backend : undefined;
  const count = backend === 'command' ? (programDown ? p!.state : '') : max === undefined ? String(workers) : w;
  const label = [backend, programDown && backend !== 'command' ? p!.state : undefined, count].filter(Boolean).join(' ');
  return {
    text: `${icon} ${label}${orphanText}`,
    tooltip:
      `Gateway Warden: gateway ${gateway.state}${gateway.pid ? ` (pid ${gateway.pid})` : ''}${backend === 'command' ? '' : `, ${w}`}${orphans ? `, ${orphans} orphaned process${orphans === 1 ? '' : 'es'}` : ''}.` +
      (running && total ? totalLine(total) : '') +
      (gateway.backend ? `\nBackend: ${gateway.backend}${p ? ` — ${p.display ?? '(default command)'}: ${p.state}${p.pid !== undefined ? ` (pid ${p.pid})` : ''}` : ''}` : '') +
      (programDown && p!.error ? `\n${p!.error}` : '') +
      (atLimit ? `\nAt the worker limit (gatewayWarden.limits.maxWorkers): a new worker first stops the least recently used idle one; when all are busy, the command is refused.` : '') +
      // Why it is down, where the user looks first (the full story is in the log).
      (gateway.error && (gateway.state === 'failed' || gateway.state === 'restarting') ? `\n${gateway.error}` : '') +
      alerts.map((a) => `\nWarning: ${a}`).join('') +
      '\nClick to show the processes.',
    background: alerts.length ? ALERT_BACKGROUND : undefined,
  };
}

export function createStatusBar(vs: typeof vscode): vscode.StatusBarItem {
  const item = vs.window.createStatusBarItem('gatewayWarden.status', vs.StatusBarAlignment.Left, 10);
  item.name = 'Gateway Warden';
  item.command = 'gatewayWarden.processes.focus';
  return item;
}
