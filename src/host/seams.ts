// The only things host/ needs from VS Code, as plain interfaces. The real implementations live
// in src/ui/ (which may import vscode); tests pass fakes.

/**
 * A leveled log sink (VS Code's LogOutputChannel has this shape). It must never throw: a log call
 * sits in every teardown path (ui/outputLog.ts makes a channel VS Code may have closed safe).
 */
export interface Log {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Reads one setting of the `gatewayWarden` section (undefined when unset). */
export type SettingReader = (key: string) => unknown;

/** A log that drops everything (tests, early start-up). */
export const nullLog: Log = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
