// Worker options from argv (`--name value` or `--name=value`) and the environment. Kept tiny:
// it runs before the lifeline is armed. A bad value falls back with a warning, never a crash.
import { Fingerprint, parseFingerprint } from '../core/fingerprint';
import { OWNER_ENV, PARENT_ENV } from '../core/ownerMarker';
import { FlagSpec, intAtLeast, readArgv } from '../core/readArgv';
import { DEFAULT_MAX_LINE_BYTES } from '../core/rpc';
import { DEFAULT_TIMEOUTS, MAX_TIMING_OPTION_MS, TIMEOUT_FLAGS } from '../core/timeouts';

/** The gateway refuses a line limit below this; so does the worker. */
const MIN_LINE_BYTES = 1024;

/** Test knob: milliseconds the worker waits before it is ready (simulates slow imports). */
export const START_DELAY_ENV = 'GATEWAY_WARDEN_TEST_WORKER_START_DELAY_MS';
/** Test knob: enables /busy, /crash, /badreply. */
export const TEST_COMMANDS_ENV = 'GATEWAY_WARDEN_TEST_COMMANDS';
/** The blocked-loop guard kills even a responsive worker this long after its parent's or owner's death. */
export const GUARD_MAX_MS = 10_000;

export interface WorkerArgs {
  sessionId: string;
  parent?: Fingerprint;
  owner?: Fingerprint;
  pollMs: number;
  idleTimeoutMs: number;
  /**
   * SIGTERM→SIGKILL gap for our children when a signal (SIGTERM, SIGINT, SIGHUP) ends us: the
   * gateway's shutdown grace (its shutdown sweeps our group with it: ours must not be shorter).
   */
  exitGraceMs: number;
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

/** The flags the gateway starts a worker with, and the group keeper its reaper with (reaper.ts). */
const WORKER_FLAGS: Record<string, FlagSpec> = Object.fromEntries(
  ['session', 'parent', 'owner', 'poll-ms', 'idle-timeout-ms', 'exit-grace-ms', 'max-line-bytes', 'parent-death-signal', 'cgroup', 'reap-group', 'reap-leader'].map((f) => [f, { type: 'string' }]),
);

/** The value of `name` (`--flag`) in argv, the last one given; undefined when absent. */
export function argValue(argv: readonly string[], name: string): string | undefined {
  return readArgv(argv, WORKER_FLAGS).flags.get(name.slice(2))?.at(-1);
}

function positiveInt(text: string | undefined, fallback: number, what: string, warnings: string[]): number {
  if (text === undefined || text === '') return fallback;
  const n = intAtLeast(text, 0);
  if (n === undefined) warnings.push(`ignoring ${what}=${JSON.stringify(text)} (not a non-negative integer); using ${fallback}`);
  return n ?? fallback;
}

export function parseWorkerArgs(argv: readonly string[], env: NodeJS.ProcessEnv): WorkerArgs {
  const { flags, problems } = readArgv(argv, WORKER_FLAGS);
  const warnings = problems.map((p) => `${p}; ignored`);
  const flag = (name: string) => flags.get(name)?.at(-1);
  const parentText = flag('parent') ?? env[PARENT_ENV];
  const ownerText = flag('owner') ?? env[OWNER_ENV];
  const parent = parseFingerprint(parentText);
  const owner = parseFingerprint(ownerText);
  if (parentText && !parent) warnings.push(`parent fingerprint ${JSON.stringify(parentText)} is malformed; watching ppid only`);
  if (ownerText && !owner) warnings.push(`owner ${JSON.stringify(ownerText)} is not a fingerprint; not watched`);
  return {
    sessionId: flag('session') ?? '',
    parent,
    owner,
    // Bounded as the gateway bounds what it passes: a timer past 2^31-1 ms fires at once, and a
    // poll under 10 ms is a busy loop whose guard would misjudge a healthy event loop as blocked.
    pollMs: boundedMs(flag('poll-ms'), DEFAULT_TIMEOUTS.pollMs, '--poll-ms', TIMEOUT_FLAGS.pollMs.min, MAX_TIMING_OPTION_MS, warnings),
    // The gateway passes its own idle timeout plus a minute (workerProcess.ts).
    idleTimeoutMs: boundedMs(flag('idle-timeout-ms'), DEFAULT_TIMEOUTS.workerIdleTimeoutMs, '--idle-timeout-ms', 0, MAX_TIMING_OPTION_MS + 60_000, warnings),
    exitGraceMs: boundedMs(flag('exit-grace-ms'), DEFAULT_TIMEOUTS.workerExitGraceMs, '--exit-grace-ms', 0, MAX_TIMING_OPTION_MS, warnings),
    maxLineBytes: lineLimit(flag('max-line-bytes'), warnings),
    startDelayMs: positiveInt(env[START_DELAY_ENV], 0, START_DELAY_ENV, warnings),
    parentDeathSignal: flag('parent-death-signal') === 'KILL',
    testCommands: env[TEST_COMMANDS_ENV] === '1',
    cgroup: flag('cgroup') || undefined,
    warnings,
  };
}

/** A duration flag within [min, max]; outside it, a warning and the default. */
function boundedMs(text: string | undefined, fallback: number, name: string, min: number, max: number, warnings: string[]): number {
  const n = positiveInt(text, fallback, name, warnings);
  if (n >= min && n <= max) return n;
  warnings.push(`${name} ${n} is outside ${min}–${max}; using ${fallback}`);
  return fallback;
}

function lineLimit(text: string | undefined, warnings: string[]): number {
  const n = positiveInt(text, DEFAULT_MAX_LINE_BYTES, '--max-line-bytes', warnings);
  if (n >= MIN_LINE_BYTES) return n;
  // Smaller is not a limit the gateway could have: stay inside it rather than trust a default.
  warnings.push(`--max-line-bytes ${n} is below ${MIN_LINE_BYTES}; using ${MIN_LINE_BYTES}`);
  return MIN_LINE_BYTES;
}
