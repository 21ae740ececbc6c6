// Status-bar item: the worker count; clicking focuses the processes view.
import type * as vscode from 'vscode';
import type { GatewayStatus } from '../host/supervisor';

export interface StatusBarText {
  text: string;
  tooltip: string;
}

export function statusBarText(gateway: GatewayStatus, workers: number, orphans: number): StatusBarText {
  const icon = gateway.state === 'running' ? '$(server-process)' : gateway.state === 'failed' ? '$(error)' : gateway.state === 'stopped' ? '$(circle-slash)' : '$(loading~spin)';
  const orphanText = orphans ? ` $(warning) ${orphans}` : '';
  const w = `${workers} worker${workers === 1 ? '' : 's'}`;
  return {
    text: `${icon} ${workers}${orphanText}`,
    tooltip:
      `Gateway Warden: gateway ${gateway.state}${gateway.pid ? ` (pid ${gateway.pid})` : ''}, ${w}${orphans ? `, ${orphans} orphaned process${orphans === 1 ? '' : 'es'}` : ''}.` +
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
