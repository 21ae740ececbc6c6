// The program behind a hermes or command backend runs under our gateway, which stays up when the
// program does not: "running" alone would hide that hermes never started, exited, or cannot build
// an agent. These notifications say so, with what to change, once per occurrence. They follow the
// model (written from gateway.ready, backend.state and hermes' error events), not raw events.
import type { BackendView } from '../host/gatewayModel';
import type { Log } from '../host/seams';
import type { WindowApi } from './vscodeApi';

export const ALERT_ACTIONS = { log: 'Show Log', settings: 'Open Settings', restart: 'Restart' } as const;
export type AlertAction = (typeof ALERT_ACTIONS)[keyof typeof ALERT_ACTIONS];

/** How a hermes user points the warden at their install. */
export const HERMES_SETUP_HINT =
  'Set gatewayWarden.gateway.command to the python of your hermes-agent environment (e.g. ~/hermes-agent/.venv/bin/python), gatewayWarden.gateway.args to ["-m", "tui_gateway.entry"] and gatewayWarden.gateway.cwd to your hermes-agent checkout.';

export interface Alert {
  level: 'error' | 'warning' | 'info';
  message: string;
  actions: AlertAction[];
}

/** Text that shows an interpreter without hermes' dependencies (seen on the real hermes: "agent init failed: No module named 'httpx'"). */
const MISSING_DEPENDENCY = /agent init failed|No module named|ModuleNotFoundError|ImportError/;
const MAX_SHOWN_CHARS = 600;
/** hermes errors shown per gateway start; later ones (and repeats) go to the log only. */
const MAX_ERROR_ALERTS = 5;

/** The program failed to start or exited: what happened and what to do. */
export function programAlert(b: BackendView): Alert | undefined {
  if (b.state !== 'failed' && b.state !== 'exited') return undefined;
  const why = oneLine(b.error ?? `${b.display ?? 'the program'} ${b.state}`);
  if (b.name === 'hermes') {
    if (b.state === 'failed') {
      return { level: 'error', message: `Gateway Warden: hermes-agent's gateway did not start: ${why} — ${HERMES_SETUP_HINT}`, actions: [ALERT_ACTIONS.log, ALERT_ACTIONS.settings] };
    }
    return {
      level: 'error',
      message: `Gateway Warden: hermes-agent's gateway exited: ${why}. Its sessions were closed and its workers taken down; Restart starts it again.`,
      actions: [ALERT_ACTIONS.restart, ALERT_ACTIONS.log],
    };
  }
  if (b.state === 'failed') {
    return {
      level: 'error',
      message: `Gateway Warden: the ${b.name} backend's program did not start: ${why} — check gatewayWarden.gateway.command, .args and .cwd.`,
      actions: [ALERT_ACTIONS.log, ALERT_ACTIONS.settings],
    };
  }
  const clean = b.exit?.code === 0 && !b.exit.signal;
  return {
    level: clean ? 'info' : 'warning',
    message: `Gateway Warden: ${b.display ? `\`${oneLine(b.display)}\`` : 'the command'} ${b.exit ? `exited (${b.exit.signal ? `signal ${b.exit.signal}` : `exit code ${b.exit.code}`})` : 'exited'}; anything it left running was taken down. Restart runs it again.`,
    actions: [ALERT_ACTIONS.restart, ALERT_ACTIONS.log],
  };
}

/** hermes' own error event (e.g. an agent that cannot be built). */
export function backendErrorAlert(b: BackendView): Alert | undefined {
  const e = b.lastError;
  if (!e) return undefined;
  const missing = MISSING_DEPENDENCY.test(e.message);
  return {
    level: 'error',
    message:
      `Gateway Warden: ${b.name} reported an error${e.sessionId ? ` in session ${e.sessionId}` : ''}: ${oneLine(e.message)}` +
      (missing && b.name === 'hermes' ? ` — the python running hermes lacks its dependencies. ${HERMES_SETUP_HINT}` : ''),
    actions: missing ? [ALERT_ACTIONS.log, ALERT_ACTIONS.settings] : [ALERT_ACTIONS.log],
  };
}

export class BackendAlerts {
  private programKey: string | undefined;
  private errorAt: number | undefined;
  private readonly errorsShown = new Set<string>();

  constructor(
    private readonly window: Pick<WindowApi, 'showErrorMessage' | 'showWarningMessage' | 'showInformationMessage'>,
    private readonly log: Log,
    private readonly act: (action: AlertAction) => void,
  ) {}

  /** A new gateway: what the last one reported may be reported again. */
  reset(): void {
    this.programKey = undefined;
    this.errorAt = undefined;
    this.errorsShown.clear();
  }

  /** Called on every model change; shows what is new. Only while the gateway runs (a stop ends the program too). */
  update(gatewayState: string, b: BackendView | undefined): void {
    if (gatewayState !== 'running' || !b) return;
    const program = programAlert(b);
    const key = `${b.pid}:${b.startTime}:${b.state}`;
    if (program && key !== this.programKey) {
      this.programKey = key;
      this.show(program);
    }
    const e = b.lastError;
    if (e && e.at !== this.errorAt) {
      this.errorAt = e.at;
      const alert = backendErrorAlert(b);
      if (!alert) return;
      if (this.errorsShown.has(e.message) || this.errorsShown.size >= MAX_ERROR_ALERTS) {
        this.log.error(alert.message);
        return;
      }
      this.errorsShown.add(e.message);
      this.show(alert);
    }
  }

  private show(a: Alert): void {
    (a.level === 'info' ? this.log.info : a.level === 'warning' ? this.log.warn : this.log.error).call(this.log, a.message);
    const shown = a.message.length > MAX_SHOWN_CHARS ? `${a.message.slice(0, MAX_SHOWN_CHARS - 20)}… (more in the log)` : a.message;
    const fn = a.level === 'info' ? this.window.showInformationMessage : a.level === 'warning' ? this.window.showWarningMessage : this.window.showErrorMessage;
    // Not awaited: the caller is a model listener.
    Promise.resolve(fn.call(this.window, shown, ...a.actions)).then(
      (pick) => {
        if (pick) this.act(pick as AlertAction);
      },
      () => undefined,
    );
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
