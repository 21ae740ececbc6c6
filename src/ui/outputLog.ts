// The extension's log, over its output channel, that never throws. VS Code calls deactivate()
// and disposes the extension's subscriptions right after, without waiting for the promise
// deactivate returns; every method of a disposed channel throws "Channel has been closed". The
// teardown still running then (and a gateway's late stderr line) would throw out of a log call
// and stop halfway. So the channel is disposed only once deactivate is done, and a line written
// to a channel that is closed anyway goes to the extension host's own stderr instead.
import type { LogOutputChannel } from 'vscode';
import type { Log } from '../host/seams';

export interface OutputLog extends Log {
  show(): void;
  /** Closes the channel (deactivate's last step); later lines go to stderr. */
  dispose(): void;
}

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export function outputLog(channel: Pick<LogOutputChannel, Level | 'show' | 'dispose'>, fallback: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): OutputLog {
  const write = (level: Level) => (message: string) => {
    try {
      channel[level](message);
    } catch (e) {
      if (level !== 'trace' && level !== 'debug') fallback(`Gateway Warden [${level}] ${message} (the log channel: ${(e as Error)?.message ?? String(e)})`);
    }
  };
  return {
    trace: write('trace'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    show: () => {
      try {
        channel.show();
      } catch {
        // closed: there is no window to show it in any more
      }
    },
    dispose: () => {
      try {
        channel.dispose();
      } catch {
        // already gone
      }
    },
  };
}
