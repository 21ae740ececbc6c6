// Gateway options and its backend (backends/backendOptions.ts): each from a flag (`--name value`,
// `--name=value`) or an environment variable, the flag winning. A malformed or out-of-range value
// falls back to its default with a warning — never a crash.
import { Fingerprint, parseFingerprint } from '../core/fingerprint';
import { OWNER_ENV } from '../core/ownerMarker';
import { FlagSpec, intAtLeast, readArgv } from '../core/readArgv';
import { DEFAULT_MAX_LINE_BYTES } from '../core/rpc';
import { DEFAULT_TIMEOUTS, gatewayTimeouts, GatewayTimeouts, MAX_TIMING_OPTION_MS, TIMEOUT_FLAGS } from '../core/timeouts';
import {
  BACKEND_ENV, BACKEND_NAMES, BackendName, BackendSpec, DEFAULT_BACKEND_SPEC, DEFAULT_HERMES_COMMAND, MAX_ARG_CHARS, MAX_COMMAND_ARGS,
} from './backends/backendOptions';

/** Its timeouts (core/timeouts.ts, which says what each bounds) and the rest. */
export interface GatewayOptions extends GatewayTimeouts {
  /** The owner's fingerprint, watched by the gateway and every worker (undefined: not a fingerprint). */
  owner?: Fingerprint;
  /** The parent's fingerprint if given with --parent (otherwise sampled from ppid at start). */
  parent?: Fingerprint;
  /** session.create is refused past this many open sessions. */
  maxSessions: number;
  /** Worker processes alive at once (starting, ready or closing); see sessions.ts for the rule. */
  maxWorkers: number;
  /** A session whose processes together use more than this many MB is restarted (0 = off); see memoryCeiling.ts. */
  workerMemoryMB: number;
  /** Attach endpoint: the port on 127.0.0.1 (0 = any free port), or undefined when off. */
  listenPort?: number;
  tokenFile?: string;
  maxLineBytes: number;
  workerPath?: string;
}

export const DEFAULT_OPTIONS: GatewayOptions = {
  ...gatewayTimeouts(DEFAULT_TIMEOUTS),
  maxSessions: 256,
  maxWorkers: 16,
  workerMemoryMB: 0,
  maxLineBytes: DEFAULT_MAX_LINE_BYTES,
};

interface NumberOption<K> {
  key: K;
  flag: string;
  env: string;
  min: number;
  /** The timing options (milliseconds, each a timer's delay somewhere): MAX_TIMING_OPTION_MS. */
  max?: number;
}

const NUMBERS: NumberOption<keyof GatewayOptions>[] = [
  ...(Object.keys(TIMEOUT_FLAGS) as (keyof GatewayTimeouts)[]).map((key) => ({ key, ...TIMEOUT_FLAGS[key], max: MAX_TIMING_OPTION_MS })),
  { key: 'maxSessions', flag: 'max-sessions', env: 'GATEWAY_WARDEN_MAX_SESSIONS', min: 1 },
  { key: 'maxWorkers', flag: 'max-workers', env: 'GATEWAY_WARDEN_MAX_WORKERS', min: 1 },
  { key: 'workerMemoryMB', flag: 'worker-memory-mb', env: 'GATEWAY_WARDEN_WORKER_MEMORY_MB', min: 0 },
  { key: 'maxLineBytes', flag: 'max-line-bytes', env: 'GATEWAY_WARDEN_MAX_LINE_BYTES', min: 1024 },
];

const BACKEND_NUMBERS: NumberOption<'startTimeoutMs' | 'staleWorkerGraceMs'>[] = [
  { key: 'startTimeoutMs', flag: 'backend-start-timeout-ms', env: BACKEND_ENV.startTimeoutMs, min: 1, max: MAX_TIMING_OPTION_MS },
  { key: 'staleWorkerGraceMs', flag: 'stale-worker-grace-ms', env: BACKEND_ENV.staleWorkerGraceMs, min: 0, max: MAX_TIMING_OPTION_MS },
];

/** Every flag of the gateway's; all take a value but --listen (optional: see below) and --help. */
const FLAGS: Record<string, FlagSpec> = {
  ...Object.fromEntries(
    [...NUMBERS, ...BACKEND_NUMBERS].map((n) => n.flag).concat('owner', 'parent', 'token-file', 'worker', 'backend', 'cwd').map((f) => [f, { type: 'string' }]),
  ),
  // `--listen` alone is any free port, `--listen 8123` a given one: the next word is its value only
  // when it is a port, else it is a command's first word (parseArgs has no optional values).
  listen: { type: 'boolean', optionalValue: /^\d+$/ },
  help: { type: 'boolean', short: 'h' },
};

export interface GatewayArgs {
  options: GatewayOptions;
  backend: BackendSpec;
  warnings: string[];
  /** `--help` or `-h` before the command: print USAGE and exit. */
  help: boolean;
}

/**
 * `node gateway.js [OPTIONS] [--backend NAME] [--cwd DIR] [--] COMMAND ARGS...`: the command
 * begins after `--` or at the first word that is not a flag or a flag's value, and is taken as it is.
 */
export function parseGatewayArgs(argv: readonly string[], env: NodeJS.ProcessEnv): GatewayArgs {
  const read = readArgv(argv, FLAGS, true);
  const warnings = read.problems.map((p) => `${p}; ignored`);
  const flag = (name: string) => read.flags.get(name)?.at(-1);
  const options: GatewayOptions = { ...DEFAULT_OPTIONS };
  const backend: BackendSpec = { ...DEFAULT_BACKEND_SPEC, command: [] };
  readNumbers(NUMBERS, options, DEFAULT_OPTIONS, flag, env, warnings);
  readNumbers(BACKEND_NUMBERS, backend, DEFAULT_BACKEND_SPEC, flag, env, warnings);

  const ownerText = flag('owner') ?? env[OWNER_ENV];
  if (ownerText) {
    options.owner = parseFingerprint(ownerText);
    if (!options.owner) warnings.push(`owner ${JSON.stringify(ownerText)} is not a fingerprint (pid:start:boot); kept as the marker, not watched`);
  }
  const parentText = flag('parent');
  if (parentText !== undefined) {
    options.parent = parseFingerprint(parentText);
    if (!options.parent) warnings.push(`--parent ${JSON.stringify(parentText)} is not a fingerprint; watching ppid instead`);
  }

  const listen = flag('listen') ?? env.GATEWAY_WARDEN_LISTEN;
  if (listen !== undefined) {
    const t = listen.trim().toLowerCase();
    if (t === '' && read.flags.has('listen')) options.listenPort = 0;
    else if (t === '' || t === 'off' || t === 'false' || t === 'no') options.listenPort = undefined;
    else if (t === 'on' || t === 'true' || t === 'yes') options.listenPort = 0;
    else if (/^\d+$/.test(t) && Number(t) <= 65535) options.listenPort = Number(t);
    else warnings.push(`listen value ${JSON.stringify(listen)} is not a port (0-65535) or on/off; the attach endpoint stays off`);
  }
  options.tokenFile = flag('token-file') || env.GATEWAY_WARDEN_TOKEN_FILE || undefined;
  options.workerPath = flag('worker') || env.GATEWAY_WARDEN_WORKER_PATH || undefined;

  const nameText = flag('backend') ?? env[BACKEND_ENV.backend];
  if (nameText !== undefined && nameText.trim() !== '') {
    const n = nameText.trim().toLowerCase();
    if ((BACKEND_NAMES as readonly string[]).includes(n)) backend.name = n as BackendName;
    else warnings.push(`backend ${JSON.stringify(nameText)} is not one of ${BACKEND_NAMES.join(', ')}; running the embedded backend`);
  }
  const cwd = flag('cwd') ?? env[BACKEND_ENV.cwd];
  if (cwd) backend.cwd = cwd;
  backend.command = backendCommand(backend.name, read.rest ?? [], warnings);
  return { options, backend, warnings, help: read.flags.has('help') };
}

/** Each number from its flag or else its environment variable; a malformed or out-of-range one keeps the default, with a warning. */
function readNumbers<K extends string>(
  table: readonly NumberOption<K>[], into: Partial<Record<K, unknown>>, defaults: Partial<Record<K, unknown>>,
  flag: (name: string) => string | undefined, env: NodeJS.ProcessEnv, warnings: string[],
): void {
  for (const n of table) {
    const fromFlag = flag(n.flag);
    const text = fromFlag ?? env[n.env];
    if (text === undefined || text === '') continue;
    const v = intAtLeast(text, n.min);
    if (v !== undefined && v <= (n.max ?? v)) into[n.key] = v;
    else warnings.push(`${fromFlag !== undefined ? `--${n.flag}` : n.env}=${JSON.stringify(text)} is not an integer ${n.max === undefined ? `>= ${n.min}` : `from ${n.min} to ${n.max}`}; using the default ${String(defaults[n.key])}`);
  }
}

/** The program the hermes or command backend starts: the command given (bounded), or hermes' default. */
function backendCommand(name: BackendName, command: readonly string[], warnings: string[]): string[] {
  if (command.length > 0) {
    if (name === 'embedded') {
      warnings.push(`ignoring the command ${JSON.stringify(command.join(' ').slice(0, 200))}: the embedded backend runs no program (use --backend hermes or --backend command)`);
    } else if (command.length > MAX_COMMAND_ARGS || command.some((x) => x.length > MAX_ARG_CHARS)) {
      warnings.push(`the command has more than ${MAX_COMMAND_ARGS} arguments or an argument longer than ${MAX_ARG_CHARS} characters; not started`);
    } else if (command[0] === '') {
      warnings.push('the command is an empty string; not started');
    } else {
      return [...command];
    }
  }
  return name === 'hermes' ? [...DEFAULT_HERMES_COMMAND] : [];
}
