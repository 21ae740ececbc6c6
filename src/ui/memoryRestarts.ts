// A worker restarted at its session's memory ceiling (the gateway's worker.restarted, reason
// memory-limit): a warning that names the setting, with Open Settings and Show. One toast per
// session at a time (a session that keeps outgrowing the limit is the fourth leak alert's job).
import type { Log } from '../host/seams';
import type { GatewayEvent } from '../host/gatewayProcess';
import { formatBytes } from '../core/format';
import type { WindowApi } from './vscodeApi';

export const MEMORY_SETTING = 'gatewayWarden.limits.workerMemoryMB';
export const RESTART_ACTIONS = { settings: 'Open Settings', show: 'Show' } as const;

/** The warning for one worker.restarted, or undefined for an event that is not a memory restart. */
export function memoryRestartMessage(ev: GatewayEvent, label?: string): string | undefined {
  if (ev.type !== 'worker.restarted' || ev.reason !== 'memory-limit' || typeof ev.sessionId !== 'string') return undefined;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const used = n(ev.memoryBytes);
  const limit = n(ev.limitBytes);
  const setting = typeof ev.setting === 'string' && ev.setting.startsWith('gatewayWarden.') ? ev.setting : MEMORY_SETTING;
  const who = label ? `"${label}"` : ev.sessionId;
  return `Gateway Warden: the worker of session ${who}${n(ev.pid) !== undefined ? ` (pid ${n(ev.pid)})` : ''} was restarted: ` +
    `its processes together used ${used !== undefined ? formatBytes(used) : 'more'}, above ${setting}${limit !== undefined ? ` (${formatBytes(limit)})` : ''}. ` +
    'It and everything it started were stopped; the session stays and its next command starts a new worker.';
}

export class MemoryRestartNotifier {
  private readonly open = new Set<string>();

  constructor(
    private readonly window: Pick<WindowApi, 'showWarningMessage'>,
    private readonly openSettings: (query: string) => void,
    private readonly showView: () => void,
    private readonly log: Log,
  ) {}

  /** Shows the warning for a memory restart (not awaited); returns whether the event was one. */
  notify(ev: GatewayEvent, label?: string): boolean {
    const message = memoryRestartMessage(ev, label);
    if (!message) return false;
    this.log.warn(message.replace(/^Gateway Warden: /, ''));
    const key = ev.sessionId as string;
    if (this.open.has(key)) return true;
    this.open.add(key);
    Promise.resolve(this.window.showWarningMessage(message, RESTART_ACTIONS.settings, RESTART_ACTIONS.show))
      .then((pick) => {
        if (pick === RESTART_ACTIONS.settings) this.openSettings(MEMORY_SETTING);
        else if (pick === RESTART_ACTIONS.show) this.showView();
      })
      .catch((e: Error) => this.log.warn(`memory restart notification: ${e.message}`))
      .finally(() => this.open.delete(key));
    return true;
  }
}
