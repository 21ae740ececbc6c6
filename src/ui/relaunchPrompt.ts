// After a change to a setting the gateway reads only at launch: offer to restart a running (or
// starting) gateway, or to start a failed one (the change may be the fix). One offer of a kind at a
// time: the settings editor fires a change per edit, and a stack of identical toasts helps nobody.
import type { GatewayState } from '../host/supervisor';
import type { WindowApi } from './vscodeApi';

/** Read by the gateway (argv or environment) only when it starts. */
export const LAUNCH_SETTING_KEYS = [
  'gateway.backend', 'gateway.command', 'gateway.args', 'gateway.cwd', 'worker.idleTimeoutMinutes', 'watchdog.pollMs', 'shutdown.graceMs',
  'limits.maxSessions', 'limits.maxWorkers', 'limits.workerMemoryMB',
] as const;

export interface RelaunchOffer {
  message: string;
  action: string;
  command: 'gatewayWarden.restartGateway' | 'gatewayWarden.startGateway';
}

export function relaunchOffer(state: GatewayState, affects: (section: string) => boolean): RelaunchOffer | undefined {
  if (!LAUNCH_SETTING_KEYS.some((k) => affects(`gatewayWarden.${k}`))) return undefined;
  // A starting gateway was launched with the spec read before it was `starting`: it needs a restart too.
  if (state === 'running' || state === 'starting') {
    return { message: 'Gateway Warden: restart the gateway to apply the changed settings?', action: 'Restart', command: 'gatewayWarden.restartGateway' };
  }
  if (state === 'failed') {
    return { message: 'Gateway Warden: the gateway settings changed. Start the gateway with them?', action: 'Start Gateway', command: 'gatewayWarden.startGateway' };
  }
  return undefined; // stopped: the next start uses them; restarting: the next attempt reads them
}

export class RelaunchPrompter {
  /** The offers on screen, by what they run: one of each kind at a time. */
  private readonly open = new Set<RelaunchOffer['command']>();

  constructor(
    private readonly window: Pick<WindowApi, 'showInformationMessage'>,
    private readonly run: (command: RelaunchOffer['command']) => Thenable<unknown>,
    /** The gateway's state when the user answers. */
    private readonly state: () => GatewayState,
  ) {}

  /** Shows the offer for this change, unless one of its kind is already on screen. Never rejects. */
  async onChange(state: GatewayState, affects: (section: string) => boolean): Promise<void> {
    const offer = relaunchOffer(state, affects);
    if (!offer || this.open.has(offer.command)) return;
    this.open.add(offer.command);
    try {
      const pick = await this.window.showInformationMessage(offer.message, offer.action);
      if (pick !== offer.action) return;
      // The toast may have waited in the notification centre while the gateway was started or
      // stopped: what the click does is decided by the state now (stopped: the next start reads them).
      const now = relaunchOffer(this.state(), () => true);
      if (now) await this.run(now.command);
    } catch {
      // the command handlers report their own failures
    } finally {
      this.open.delete(offer.command);
    }
  }
}
