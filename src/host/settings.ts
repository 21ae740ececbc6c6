// Validated settings. A bad value never crashes anything: it is reported as a problem (shown to
// the user once) and the default is used instead.
import * as os from 'node:os';
import * as path from 'node:path';
import { regexPatternProblem } from '../core/orphanPatterns';
import { SettingReader } from './seams';

export interface WardenSettings {
  /** Custom gateway program; undefined means the embedded dist/gateway.js. */
  gatewayCommand?: string;
  gatewayArgs: string[];
  autoStart: boolean;
  /** 0 disables the idle timeout. */
  workerIdleTimeoutMs: number;
  watchdogPollMs: number;
  shutdownGraceMs: number;
  /** The gateway's caps (see LIMIT_BOUNDS); passed to it at launch. */
  maxSessions: number;
  maxWorkers: number;
  scanOrphansOnStartup: boolean;
  /** Regular-expression sources that passed regexPatternProblem (valid, bounded). */
  extraOrphanPatterns: string[];
}

export const DEFAULT_SETTINGS: Readonly<WardenSettings> = Object.freeze({
  gatewayArgs: [],
  autoStart: true,
  workerIdleTimeoutMs: 30 * 60_000,
  watchdogPollMs: 1000,
  shutdownGraceMs: 500,
  maxSessions: 256,
  maxWorkers: 16,
  scanOrphansOnStartup: true,
  extraOrphanPatterns: [],
});

export interface SettingsResult {
  settings: WardenSettings;
  /** Human-readable messages, one per rejected value. */
  problems: string[];
}

const S = 'gatewayWarden.';

/** Bounds of the limits.* settings (package.json says the same). Each worker is a Node process (~50 MB). */
export const LIMIT_BOUNDS = { maxSessions: { min: 1, max: 10_000 }, maxWorkers: { min: 1, max: 256 } } as const;

export function readSettings(get: SettingReader, home: () => string = os.homedir): SettingsResult {
  const problems: string[] = [];
  const bad = (key: string, value: unknown, why: string, fallback: unknown) => {
    problems.push(`Setting ${S}${key} = ${short(value)} ${why}; using ${short(fallback)}.`);
  };

  const bool = (key: string, def: boolean): boolean => {
    const v = get(key);
    if (v === undefined || v === null) return def;
    if (typeof v === 'boolean') return v;
    bad(key, v, 'is not true or false', def);
    return def;
  };

  const num = (key: string, def: number, min: number, max: number, integer: boolean): number => {
    const v = get(key);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      bad(key, v, `is not ${integer ? 'a whole number' : 'a number'}`, def);
      return def;
    }
    if (v < min || v > max) {
      bad(key, v, `is outside ${min}–${max}`, def);
      return def;
    }
    return v;
  };

  const strings = (key: string): string[] | undefined => {
    const v = get(key);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      bad(key, v, 'is not a list of strings', []);
      return undefined;
    }
    return v as string[];
  };

  let gatewayCommand: string | undefined;
  const cmd = get('gateway.command');
  if (typeof cmd === 'string') {
    gatewayCommand = cmd.trim() || undefined;
  } else if (cmd !== undefined && cmd !== null) {
    bad('gateway.command', cmd, 'is not a string', '(embedded gateway)');
  }
  if (gatewayCommand !== undefined && /[\0\n]/.test(gatewayCommand)) {
    bad('gateway.command', gatewayCommand, 'contains a NUL or newline', '(embedded gateway)');
    gatewayCommand = undefined;
  }
  // No shell, so no `~` expansion unless we do it; and a relative path would resolve against the
  // extension host's working directory, which nobody chose.
  if (gatewayCommand !== undefined && /^~(?=$|[\\/])/.test(gatewayCommand)) gatewayCommand = path.join(home(), gatewayCommand.slice(1));
  if (gatewayCommand !== undefined && /[\\/]/.test(gatewayCommand) && !path.isAbsolute(gatewayCommand)) {
    bad('gateway.command', gatewayCommand, 'is a relative path (use an absolute path or a program name on PATH)', '(embedded gateway)');
    gatewayCommand = undefined;
  }

  const gatewayArgs = strings('gateway.args') ?? [];
  if (gatewayArgs.length && gatewayCommand === undefined) {
    problems.push(`Setting ${S}gateway.args is ignored: it applies only with ${S}gateway.command.`);
  }

  const extraOrphanPatterns: string[] = [];
  // Machine scope (package.json): a workspace cannot set these; and none may backtrack for ever.
  for (const p of strings('orphans.extraPatterns') ?? []) {
    const why = regexPatternProblem(p);
    if (why) problems.push(`Setting ${S}orphans.extraPatterns: ${short(p)} ${why}; skipped.`);
    else extraOrphanPatterns.push(p);
  }

  const settings: WardenSettings = {
    gatewayCommand,
    gatewayArgs: gatewayCommand === undefined ? [] : gatewayArgs,
    autoStart: bool('autoStart', DEFAULT_SETTINGS.autoStart),
    workerIdleTimeoutMs: Math.round(num('worker.idleTimeoutMinutes', 30, 0, 1440, false) * 60_000),
    watchdogPollMs: num('watchdog.pollMs', DEFAULT_SETTINGS.watchdogPollMs, 100, 60_000, true),
    shutdownGraceMs: num('shutdown.graceMs', DEFAULT_SETTINGS.shutdownGraceMs, 0, 3000, true),
    maxSessions: num('limits.maxSessions', DEFAULT_SETTINGS.maxSessions, LIMIT_BOUNDS.maxSessions.min, LIMIT_BOUNDS.maxSessions.max, true),
    maxWorkers: num('limits.maxWorkers', DEFAULT_SETTINGS.maxWorkers, LIMIT_BOUNDS.maxWorkers.min, LIMIT_BOUNDS.maxWorkers.max, true),
    scanOrphansOnStartup: bool('orphans.scanOnStartup', DEFAULT_SETTINGS.scanOrphansOnStartup),
    extraOrphanPatterns,
  };
  return { settings, problems };
}

function short(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
