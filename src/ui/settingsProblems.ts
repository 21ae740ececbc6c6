// Settings problems are reported when they appear, not on every configuration change: the
// configuration event fires for any gatewayWarden key, and repeating an unchanged complaint each
// time is noise. A problem that is fixed and made again is new again.
import type { Log } from '../host/seams';
import type { WindowApi } from './vscodeApi';

export const SETTINGS_ACTIONS = { open: 'Open Settings', log: 'Show Log' } as const;
const SHOWN_IN_TOAST = 3;

export class SettingsProblemReporter {
  private current = new Set<string>();

  constructor(
    private readonly window: Pick<WindowApi, 'showWarningMessage'>,
    private readonly log: Log & { show(): void },
    private readonly openSettings: () => void,
  ) {}

  /** Takes the problems of the latest read; logs and shows only those not in the previous read. */
  report(problems: readonly string[]): string[] {
    const fresh = problems.filter((p) => !this.current.has(p));
    this.current = new Set(problems);
    if (!fresh.length) return fresh;
    for (const p of fresh) this.log.warn(p);
    const listed = fresh.slice(0, SHOWN_IN_TOAST).join(' ');
    const more = fresh.length > SHOWN_IN_TOAST ? ` (and ${fresh.length - SHOWN_IN_TOAST} more in the log)` : '';
    // Not awaited: the caller (a configuration listener) must not wait for the toast.
    Promise.resolve(this.window.showWarningMessage(`Gateway Warden: ${listed}${more}`, SETTINGS_ACTIONS.open, SETTINGS_ACTIONS.log)).then(
      (pick) => {
        if (pick === SETTINGS_ACTIONS.open) this.openSettings();
        else if (pick === SETTINGS_ACTIONS.log) this.log.show();
      },
      () => undefined,
    );
    return fresh;
  }
}
