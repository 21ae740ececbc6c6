// Leak alerts as VS Code warnings: one per fresh condition (host/leakConditions decides which),
// with what to do about it. "Don't Show Again" is remembered per condition in globalState.
import type { Log } from '../host/seams';
import { LEAK_CONDITIONS, LeakAlert, LeakCondition } from '../host/leakConditions';
import type { WindowApi } from './vscodeApi';

export const LEAK_ACTIONS = { clear: 'Clear Orphans', show: 'Show', report: 'Copy Report', mute: "Don't Show Again" } as const;
/** globalState key: the conditions the user muted. */
export const MUTED_KEY = 'gatewayWarden.alerts.muted';
/** Added by the diagnostics report (issue 14, item 1); executed by id only. */
export const COPY_REPORT_COMMAND = 'gatewayWarden.copyDiagnosticsReport';
export const CLEAR_ORPHANS_COMMAND = 'gatewayWarden.clearOrphans';

/** The part of vscode.Memento used here. */
export interface StateStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

export class LeakAlertNotifier {
  constructor(
    private readonly window: Pick<WindowApi, 'showWarningMessage'>,
    private readonly state: StateStore,
    private readonly run: (command: string) => Thenable<unknown>,
    private readonly showView: () => void,
    private readonly log: Log,
  ) {}

  /** Muted conditions; anything else stored under the key (an older or hand-edited value) is ignored. */
  muted(): Set<LeakCondition> {
    const v = this.state.get<unknown>(MUTED_KEY);
    return new Set(Array.isArray(v) ? (v.filter((c) => (LEAK_CONDITIONS as readonly unknown[]).includes(c)) as LeakCondition[]) : []);
  }

  /** One warning per alert; not awaited (the check goes on while a toast is open). */
  notify(alerts: readonly LeakAlert[]): void {
    for (const a of alerts) {
      this.log.warn(`leak alert (${a.condition}): ${a.message}`);
      const actions: string[] = a.condition === 'orphans' ? [LEAK_ACTIONS.clear] : [];
      actions.push(LEAK_ACTIONS.show, LEAK_ACTIONS.report, LEAK_ACTIONS.mute);
      Promise.resolve(this.window.showWarningMessage(`Gateway Warden: ${a.message}`, ...actions))
        .then((pick) => this.act(a.condition, pick))
        .catch((e: Error) => this.log.warn(`leak alert (${a.condition}): ${e.message}`));
    }
  }

  private async act(condition: LeakCondition, pick: string | undefined): Promise<void> {
    if (pick === LEAK_ACTIONS.clear) await this.run(CLEAR_ORPHANS_COMMAND);
    else if (pick === LEAK_ACTIONS.show) this.showView();
    else if (pick === LEAK_ACTIONS.report) await this.run(COPY_REPORT_COMMAND);
    else if (pick === LEAK_ACTIONS.mute) {
      const muted = this.muted();
      muted.add(condition);
      await this.state.update(MUTED_KEY, LEAK_CONDITIONS.filter((c) => muted.has(c)));
      this.log.info(`leak alerts: "${condition}" will not be shown again (globalState ${MUTED_KEY})`);
    }
  }
}
