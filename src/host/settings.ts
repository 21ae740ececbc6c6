// Validated settings. A bad value never crashes anything: it is reported as a problem (shown to
// the user once) and the default is used instead.
import * as os from 'node:os';
import * as path from 'node:path';
import { regexPatternProblem } from '../core/orphanPatterns';
import { DEFAULT_TIMEOUTS, Timeouts } from '../core/timeouts';
import { SettingReader } from './seams';

/**
 * What runs as the gateway: `embedded` (our dist/gateway.js), `warden` (the user's program, which
 * speaks the Warden protocol itself), or our gateway hosting `hermes` (hermes-agent's tui_gateway)
 * or `command` (any program) as its child.
 */
export type GatewayBackend = 'embedded' | 'warden' | 'hermes' | 'command';
export const GATEWAY_BACKENDS: readonly GatewayBackend[] = ['embedded', 'warden', 'hermes', 'command'];

export interface WardenSettings {
  /** The effective backend (`embedded` with a gateway command set runs it as `warden`, as before the setting existed). */
  backend: GatewayBackend;
  /** `warden`: the gateway program; `hermes`/`command`: the program our gateway starts (hermes: undefined = the gateway's default, `python3 -m tui_gateway.entry`). */
  gatewayCommand?: string;
  gatewayArgs: string[];
  /** `hermes`/`command`: the program's working directory (absolute); undefined = the gateway's. */
  gatewayCwd?: string;
  autoStart: boolean;
  /** The lifecycle's waits: worker.idleTimeoutMinutes, watchdog.pollMs and shutdown.graceMs over the defaults (core/timeouts.ts). */
  timeouts: Timeouts;
  /** The gateway's caps (see LIMIT_BOUNDS); passed to it at launch. */
  maxSessions: number;
  maxWorkers: number;
  /** A session whose worker and descendants use more than this many MB together is restarted; 0 = off (see LIMIT_BOUNDS). */
  workerMemoryMB: number;
  scanOrphansOnStartup: boolean;
  /** Regular-expression sources that passed regexPatternProblem (valid, bounded). */
  extraOrphanPatterns: string[];
  /** Leak alerts: how often the periodic check runs; 0 = off (see ALERT_BOUNDS). */
  alertIntervalMs: number;
  /** Leak alerts: the gateway's total memory (gateway, workers, descendants) above this warns. */
  alertTotalMemoryBytes: number;
}

export const DEFAULT_SETTINGS: Readonly<WardenSettings> = Object.freeze({
  backend: 'embedded' as GatewayBackend,
  gatewayArgs: [],
  autoStart: true,
  timeouts: DEFAULT_TIMEOUTS,
  maxSessions: 256,
  maxWorkers: 16,
  workerMemoryMB: 0,
  scanOrphansOnStartup: true,
  extraOrphanPatterns: [],
  alertIntervalMs: 5 * 60_000,
  alertTotalMemoryBytes: 4096 * 1024 * 1024,
});

export interface SettingsResult {
  settings: WardenSettings;
  /** Human-readable messages, one per rejected value. */
  problems: string[];
}

const S = 'gatewayWarden.';

/** Bounds of the limits.* settings (package.json says the same). Each worker is a Node process (~50 MB). */
export const LIMIT_BOUNDS = {
  maxSessions: { min: 1, max: 10_000 },
  maxWorkers: { min: 1, max: 256 },
  /** 0 = off; otherwise at least 64 MB (an idle worker alone is ~45 MB resident: less would restart every worker it starts). */
  workerMemoryMB: { off: 0, min: 64, max: 1_048_576 },
} as const;

/** Bounds of the alerts.* settings (package.json says the same): whole minutes (0 = off), whole MB. */
export const ALERT_BOUNDS = {
  intervalMinutes: { min: 0, max: 1440, default: 5 },
  totalMemoryMB: { min: 64, max: 1_048_576, default: 4096 },
} as const;

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

  const gatewayCommand = pathSetting('gateway.command', get('gateway.command'), 'program', bad, home);

  let backend: GatewayBackend | undefined;
  const b = get('gateway.backend');
  if (typeof b === 'string' && (GATEWAY_BACKENDS as readonly string[]).includes(b)) backend = b as GatewayBackend;
  else if (b !== undefined && b !== null) bad('gateway.backend', b, `is not one of ${GATEWAY_BACKENDS.join(', ')}`, gatewayCommand === undefined ? 'embedded' : 'warden (gateway.command is set)');
  // Before the backend setting existed, a gateway command meant a Warden-protocol gateway.
  if ((backend ?? 'embedded') === 'embedded') backend = gatewayCommand === undefined ? 'embedded' : 'warden';
  if (gatewayCommand === undefined && (backend === 'warden' || backend === 'command')) {
    const what = backend === 'warden' ? 'a program that speaks the Gateway Warden protocol' : 'the program to run under the warden';
    problems.push(`Setting ${S}gateway.backend = "${backend}" needs ${S}gateway.command (${what}); using the embedded gateway.`);
    backend = 'embedded';
  }
  const wrapped = backend === 'hermes' || backend === 'command';

  const gatewayArgs = strings('gateway.args') ?? [];
  if (gatewayArgs.length && gatewayCommand === undefined) {
    problems.push(`Setting ${S}gateway.args is ignored: it applies only with ${S}gateway.command.`);
  }

  let gatewayCwd = pathSetting('gateway.cwd', get('gateway.cwd'), 'folder', bad, home);
  if (gatewayCwd !== undefined && !wrapped) {
    problems.push(`Setting ${S}gateway.cwd is ignored: it applies only with ${S}gateway.backend = "hermes" or "command".`);
    gatewayCwd = undefined;
  }

  const extraOrphanPatterns: string[] = [];
  // Machine scope (package.json): a workspace cannot set these; and none may backtrack for ever.
  for (const p of strings('orphans.extraPatterns') ?? []) {
    const why = regexPatternProblem(p);
    if (why) problems.push(`Setting ${S}orphans.extraPatterns: ${short(p)} ${why}; skipped.`);
    else extraOrphanPatterns.push(p);
  }

  const settings: WardenSettings = {
    backend: backend ?? 'embedded',
    gatewayCommand,
    gatewayArgs: gatewayCommand === undefined ? [] : gatewayArgs,
    gatewayCwd,
    autoStart: bool('autoStart', DEFAULT_SETTINGS.autoStart),
    timeouts: {
      ...DEFAULT_TIMEOUTS,
      workerIdleTimeoutMs: Math.round(idleTimeoutMinutes(num('worker.idleTimeoutMinutes', DEFAULT_TIMEOUTS.workerIdleTimeoutMs / 60_000, 0, 1440, false), bad) * 60_000),
      pollMs: num('watchdog.pollMs', DEFAULT_TIMEOUTS.pollMs, 100, 60_000, true),
      shutdownGraceMs: num('shutdown.graceMs', DEFAULT_TIMEOUTS.shutdownGraceMs, 0, 3000, true),
    },
    maxSessions: num('limits.maxSessions', DEFAULT_SETTINGS.maxSessions, LIMIT_BOUNDS.maxSessions.min, LIMIT_BOUNDS.maxSessions.max, true),
    maxWorkers: num('limits.maxWorkers', DEFAULT_SETTINGS.maxWorkers, LIMIT_BOUNDS.maxWorkers.min, LIMIT_BOUNDS.maxWorkers.max, true),
    workerMemoryMB: workerMemoryMB(num('limits.workerMemoryMB', DEFAULT_SETTINGS.workerMemoryMB, LIMIT_BOUNDS.workerMemoryMB.off, LIMIT_BOUNDS.workerMemoryMB.max, true), bad),
    scanOrphansOnStartup: bool('orphans.scanOnStartup', DEFAULT_SETTINGS.scanOrphansOnStartup),
    extraOrphanPatterns,
    alertIntervalMs: num('alerts.intervalMinutes', ALERT_BOUNDS.intervalMinutes.default, ALERT_BOUNDS.intervalMinutes.min, ALERT_BOUNDS.intervalMinutes.max, true) * 60_000,
    alertTotalMemoryBytes: num('alerts.totalMemoryMB', ALERT_BOUNDS.totalMemoryMB.default, ALERT_BOUNDS.totalMemoryMB.min, ALERT_BOUNDS.totalMemoryMB.max, true) * 1024 * 1024,
  };
  return { settings, problems };
}

/**
 * worker.idleTimeoutMinutes: 0 (never) or at least a minute. Less would close every session
 * moments after each command (0.0001 is 6 ms), and the setting is one a workspace may set.
 */
function idleTimeoutMinutes(v: number, bad: (key: string, value: unknown, why: string, fallback: unknown) => void): number {
  if (v === 0 || v >= 1) return v;
  const fallback = DEFAULT_TIMEOUTS.workerIdleTimeoutMs / 60_000;
  bad('worker.idleTimeoutMinutes', v, 'is under 1 minute (it would close sessions between commands; 0 turns the idle timeout off)', fallback);
  return fallback;
}

/** limits.workerMemoryMB: 0 (off) or within LIMIT_BOUNDS; 1–63 would restart every worker it starts, so it is off too, said as a problem. */
function workerMemoryMB(v: number, bad: (key: string, value: unknown, why: string, fallback: unknown) => void): number {
  const b = LIMIT_BOUNDS.workerMemoryMB;
  if (v === b.off || v >= b.min) return v;
  bad('limits.workerMemoryMB', v, `is below ${b.min} (an idle worker alone uses about 45 MB; 0 turns the limit off)`, b.off);
  return b.off;
}

/**
 * A program or folder path from a setting: a string without NUL or newline; `~/` is the home folder
 * (no shell would expand it). A relative path is refused: it would resolve against the extension
 * host's working directory, which nobody chose — except a program's bare name, looked up on PATH.
 */
function pathSetting(
  key: string, v: unknown, kind: 'program' | 'folder', bad: (key: string, value: unknown, why: string, fallback: unknown) => void, home: () => string,
): string | undefined {
  const fallback = kind === 'program' ? '(embedded gateway)' : "(the gateway's own working directory)";
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    bad(key, v, 'is not a string', fallback);
    return undefined;
  }
  let p = v.trim();
  if (!p) return undefined;
  if (/[\0\n]/.test(p)) {
    bad(key, p, 'contains a NUL or newline', fallback);
    return undefined;
  }
  if (/^~(?=$|[\\/])/.test(p)) p = path.join(home(), p.slice(1));
  if (kind === 'program' ? /[\\/]/.test(p) && !path.isAbsolute(p) : !path.isAbsolute(p)) {
    bad(key, p, kind === 'program' ? 'is a relative path (use an absolute path or a program name on PATH)' : 'is not an absolute path', fallback);
    return undefined;
  }
  return p;
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
