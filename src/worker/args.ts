// Worker options from argv (`--name value` or `--name=value`) and the environment. Kept tiny:
// it runs before the lifeline is armed.
import { Fingerprint, parseFingerprint } from '../core/fingerprint';
import { OWNER_ENV, PARENT_ENV } from '../core/ownerMarker';
import { DEFAULT_MAX_LINE_BYTES } from '../core/rpc';

/** The gateway refuses a line limit below this; so does the worker. */
const MIN_LINE_BYTES = 1024;

/** Test knob: milliseconds the worker waits before it is ready (simulates slow imports). */
export const START_DELAY_ENV = 'GATEWAY_WARDEN_TEST_WORKER_START_DELAY_MS';
/** Test knob: enables /busy, /crash, /badreply. */
export const TEST_COMMANDS_ENV = 'GATEWAY_WARDEN_TEST_COMMANDS';

export interface WorkerArgs {
  sessionId: string;
  parent?: Fingerprint;
  owner?: Fingerprint;
  pollMs: number;
  idleTimeoutMs: number;
  /** The longest line the gateway reads from this worker (and sends to it): replies are fitted to it. */
  maxLineBytes: number;
  startDelayMs: number;
  /** The gateway started us with the kernel's parent-death signal set (`--parent-death-signal KILL`): no guard thread needed. */
  parentDeathSignal: boolean;
  testCommands: boolean;
  /** The session's cgroup leaf to join before anything else (cgroup containment), if any. */
  cgroup?: string;
  warnings: string[];
}

export function argValue(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i].startsWith(name + '=')) return argv[i].slice(name.length + 1);
  }
  return undefined;
}

function positiveInt(text: string | undefined, fallback: number, what: string, warnings: string[]): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    warnings.push(`ignoring ${what}=${JSON.stringify(text)} (not a non-negative integer); using ${fallback}`);
    return fallback;
  }
  return n;
}

export function parseWorkerArgs(argv: readonly string[], env: NodeJS.ProcessEnv): WorkerArgs {
  const warnings: string[] = [];
  const parentText = argValue(argv, '--parent') ?? env[PARENT_ENV];
  const ownerText = argValue(argv, '--owner') ?? env[OWNER_ENV];
  const parent = parseFingerprint(parentText);
  const owner = parseFingerprint(ownerText);
  if (parentText && !parent) warnings.push(`parent fingerprint ${JSON.stringify(parentText)} is malformed; watching ppid only`);
  if (ownerText && !owner) warnings.push(`owner ${JSON.stringify(ownerText)} is not a fingerprint; not watched`);
  return {
    sessionId: argValue(argv, '--session') ?? '',
    parent,
    owner,
    pollMs: positiveInt(argValue(argv, '--poll-ms'), 1000, '--poll-ms', warnings) || 1000,
    idleTimeoutMs: positiveInt(argValue(argv, '--idle-timeout-ms'), 30 * 60_000, '--idle-timeout-ms', warnings),
    maxLineBytes: lineLimit(argValue(argv, '--max-line-bytes'), warnings),
    startDelayMs: positiveInt(env[START_DELAY_ENV], 0, START_DELAY_ENV, warnings),
    parentDeathSignal: argValue(argv, '--parent-death-signal') === 'KILL',
    testCommands: env[TEST_COMMANDS_ENV] === '1',
    cgroup: argValue(argv, '--cgroup') || undefined,
    warnings,
  };
}

function lineLimit(text: string | undefined, warnings: string[]): number {
  const n = positiveInt(text, DEFAULT_MAX_LINE_BYTES, '--max-line-bytes', warnings);
  if (n >= MIN_LINE_BYTES) return n;
  // Smaller is not a limit the gateway could have: stay inside it rather than trust a default.
  warnings.push(`--max-line-bytes ${n} is below ${MIN_LINE_BYTES}; using ${MIN_LINE_BYTES}`);
  return MIN_LINE_BYTES;
}
