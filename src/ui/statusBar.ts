// Status-bar item: the worker count; clicking focuses the processes view.
import type * as vscode from 'vscode';
import type { GatewayStatus } from '../host/supervisor';
import { formatWorkerCount } from './format';

export interface StatusBarText {
  text: string;
  tooltip: string;
}

export function statusBarText(gateway: GatewayStatus, workers: number, orphans: number): StatusBarText {
  const icon = gateway.state === 'running' ? '$(server-process)' : gateway.state === 'failed' ? '$(error)' : gateway.state === 'stopped' ? '$(circle-slash)' : '$(loading~spin)';
  const orphanText = orphans ? ` $(warning) ${orphans}` : '';
  // The cap is the gateway's (reported at start-up), so it is shown only while one runs.
  const max = gateway.state === 'running' ? gateway.limits?.maxWorkers : undefined;
  const w = formatWorkerCount(workers, max);
  const atLimit = max !== undefined && workers >= max;
  return {
    text: `${icon} ${max === undefined ? workers : w}${orphanText}`,
    tooltip:
      `Gateway Warden: gateway ${gateway.state}${gateway.pid ? ` (pid ${gateway.pid})` : ''}, ${w}${orphans ? `, ${orphans} orphaned process${orphans === 1 ? '' : 'es'}` : ''}.` +
      (atLimit ? `\nAt the worker limit (gatewayWarden.limits.maxWorkers): a new worker first stops the least recently used idle one; when all are busy, the command is refused.` : '') +
      // Why it is down, where the user looks first (the full story is in the log).
      (gateway.error && (gateway.state === 'failed' || gateway.state === 'restarting') ? `\n${gateway.error}` : '') +
      '\nClick to show the processes.',
  };
}

export function createStatusBar(vs: typeof vscode): vscode.StatusBarItem {
  const item = vs.window.createStatusBarItem('gatewayWarden.status', vs.StatusBarAlignment.Left, 10);
  item.name = 'Gateway Warden';
  item.command = 'gatewayWarden.processes.focus';
  return item;
}
