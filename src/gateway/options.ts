// Gateway options: each from a flag (`--name value`, `--name=value`) or an environment variable,
// the flag winning. A malformed value falls back to its default with a warning — never a crash.
import { Fingerprint, parseFingerprint } from '../core/fingerprint';
import { OWNER_ENV } from '../core/ownerMarker';

export interface GatewayOptions {
  /** The owner's fingerprint, watched by the gateway and every worker (undefined: not a fingerprint). */
  owner?: Fingerprint;
  /** The parent's fingerprint if given with --parent (otherwise sampled from ppid at start). */
  parent?: Fingerprint;
  slashTimeoutMs: number;
  workerIdleTimeoutMs: number;
  workerStartTimeoutMs: number;
  /** session.create is refused past this many open sessions. */
  maxSessions: number;
  /** Worker processes alive at once (starting, ready or closing); see sessions.ts for the rule. */
  maxWorkers: number;
  /** A session whose processes together use more than this many MB is restarted (0 = off); see memoryCeiling.ts. */
  workerMemoryMB: number;
  pollMs: number;
  /** SIGTERM→SIGKILL grace for the workers' groups on a shutdown (the whole shutdown is bounded by it plus gateway.ts SHUTDOWN_SLACK_MS). */
  shutdownGraceMs: number;
  /** SIGTERM grace for the workers' groups when the lifeline is lost (the host is gone). */
  lifelineGraceMs: number;
  /** Attach endpoint: the port on 127.0.0.1 (0 = any free port), or undefined when off. */
  listenPort?: number;
  tokenFile?: string;
  /** Attach endpoint: how long a new connection has to complete an authenticated upgrade. */
  attachHandshakeTimeoutMs: number;
  reattachGraceMs: number;
  pingMs: number;
  maxLineBytes: number;
  workerPath?: string;
}

export const DEFAULT_OPTIONS: GatewayOptions = {
  slashTimeoutMs: 45_000,
  workerIdleTimeoutMs: 30 * 60_000,
  workerStartTimeoutMs: 30_000,
  maxSessions: 256,
  maxWorkers: 16,
  workerMemoryMB: 0,
  pollMs: 1000,
  shutdownGraceMs: 500,
  lifelineGraceMs: 100,
  reattachGraceMs: 20_000,
  attachHandshakeTimeoutMs: 3000,
  pingMs: 10_000,
  maxLineBytes: 1024 * 1024,
};

interface NumberOption {
  key: keyof GatewayOptions;
  flag: string;
  env: string;
  min: number;
}

const NUMBERS: NumberOption[] = [
  { key: 'slashTimeoutMs', flag: '--slash-timeout-ms', env: 'GATEWAY_WARDEN_SLASH_TIMEOUT_MS', min: 1 },
  { key: 'workerIdleTimeoutMs', flag: '--worker-idle-timeout-ms', env: 'GATEWAY_WARDEN_WORKER_IDLE_TIMEOUT_MS', min: 0 },
  { key: 'workerStartTimeoutMs', flag: '--worker-start-timeout-ms', env: 'GATEWAY_WARDEN_WORKER_START_TIMEOUT_MS', min: 1 },
  { key: 'maxSessions', flag: '--max-sessions', env: 'GATEWAY_WARDEN_MAX_SESSIONS', min: 1 },
  { key: 'maxWorkers', flag: '--max-workers', env: 'GATEWAY_WARDEN_MAX_WORKERS', min: 1 },
  { key: 'workerMemoryMB', flag: '--worker-memory-mb', env: 'GATEWAY_WARDEN_WORKER_MEMORY_MB', min: 0 },
  { key: 'pollMs', flag: '--poll-ms', env: 'GATEWAY_WARDEN_POLL_MS', min: 10 },
  { key: 'shutdownGraceMs', flag: '--shutdown-grace-ms', env: 'GATEWAY_WARDEN_SHUTDOWN_GRACE_MS', min: 0 },
  { key: 'lifelineGraceMs', flag: '--lifeline-grace-ms', env: 'GATEWAY_WARDEN_LIFELINE_GRACE_MS', min: 0 },
  { key: 'reattachGraceMs', flag: '--reattach-grace-ms', env: 'GATEWAY_WARDEN_REATTACH_GRACE_MS', min: 0 },
  { key: 'attachHandshakeTimeoutMs', flag: '--attach-handshake-timeout-ms', env: 'GATEWAY_WARDEN_ATTACH_HANDSHAKE_TIMEOUT_MS', min: 1 },
  { key: 'pingMs', flag: '--ping-ms', env: 'GATEWAY_WARDEN_PING_MS', min: 10 },
  { key: 'maxLineBytes', flag: '--max-line-bytes', env: 'GATEWAY_WARDEN_MAX_LINE_BYTES', min: 1024 },
];

const STRINGS = ['--owner', '--parent', '--token-file', '--worker', '--listen'];

export interface ParsedOptions {
  options: GatewayOptions;
  warnings: string[];
}

/** Splits argv into flag → value (a bare flag maps to ''). */
function flagMap(argv: readonly string[], warnings: string[]): Map<string, string> {
  const known = new Set([...NUMBERS.map((n) => n.flag), ...STRINGS]);
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (!known.has(name)) {
      warnings.push(`ignoring unknown argument ${JSON.stringify(a)}`);
      continue;
    }
    if (eq > 0) flags.set(name, a.slice(eq + 1));
    else if (name === '--listen') {
      // `--listen` alone means any free port; `--listen 8123` a given one.
      if (argv[i + 1] !== undefined && /^\d+$/.test(argv[i + 1])) flags.set(name, argv[++i]);
      else flags.set(name, '');
    } else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) flags.set(name, argv[++i]);
    else warnings.push(`${name} needs a value; ignored`);
  }
  return flags;
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedOptions {
  const warnings: string[] = [];
  const flags = flagMap(argv, warnings);
  const options: GatewayOptions = { ...DEFAULT_OPTIONS };
  for (const n of NUMBERS) {
    const fromFlag = flags.get(n.flag);
    const text = fromFlag ?? env[n.env];
    if (text === undefined || text === '') continue;
    const v = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < n.min) {
      warnings.push(`${fromFlag !== undefined ? n.flag : n.env}=${JSON.stringify(text)} is not an integer >= ${n.min}; using the default ${String(DEFAULT_OPTIONS[n.key])}`);
      continue;
    }
    (options[n.key] as number) = v;
  }

  const ownerText = flags.get('--owner') ?? env[OWNER_ENV];
  if (ownerText) {
    options.owner = parseFingerprint(ownerText);
    if (!options.owner) warnings.push(`owner ${JSON.stringify(ownerText)} is not a fingerprint (pid:start:boot); kept as the marker, not watched`);
  }
  const parentText = flags.get('--parent');
  if (parentText !== undefined) {
    options.parent = parseFingerprint(parentText);
    if (!options.parent) warnings.push(`--parent ${JSON.stringify(parentText)} is not a fingerprint; watching ppid instead`);
  }

  const listen = flags.get('--listen') ?? env.GATEWAY_WARDEN_LISTEN;
  if (listen !== undefined) {
    const t = listen.trim().toLowerCase();
    if (t === '' && flags.has('--listen')) options.listenPort = 0;
    else if (t === '' || t === 'off' || t === 'false' || t === 'no') options.listenPort = undefined;
    else if (t === 'on' || t === 'true' || t === 'yes') options.listenPort = 0;
    else if (/^\d+$/.test(t) && Number(t) <= 65535) options.listenPort = Number(t);
    else warnings.push(`listen value ${JSON.stringify(listen)} is not a port (0-65535) or on/off; the attach endpoint stays off`);
  }
  options.tokenFile = flags.get('--token-file') || env.GATEWAY_WARDEN_TOKEN_FILE || undefined;
  options.workerPath = flags.get('--worker') || env.GATEWAY_WARDEN_WORKER_PATH || undefined;
  return { options, warnings };
}
