// Status-bar item: the worker count (and the backend, when not the embedded gateway); clicking
// focuses the processes view.
import type * as vscode from 'vscode';
import type { BackendView } from '../host/gatewayModel';
import type { GatewayStatus } from '../host/supervisor';
import { formatWorkerCount } from './format';

export interface StatusBarText {
  text: string;
  tooltip: string;
  /** Theme color id of the item's background: the warning colour while a leak alert holds. */
  background?: string;
}

export const ALERT_BACKGROUND = 'statusBarItem.warningBackground';

/** `alerts`: the messages of the leak-alert conditions that hold now (host/leakConditions). */
export function statusBarText(gateway: GatewayStatus, workers: number, orphans: number, program?: BackendView, alerts: readonly string[] = []): StatusBarText {
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
