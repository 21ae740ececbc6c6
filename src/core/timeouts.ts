// Every wait of the lifecycle chain in one object. The host builds it from its settings
// (host/settings.ts), hands our gateway its part as flags (timeoutArgs: the flags and their
// environment variables are a contract, docs/protocol.md), the gateway hands each worker what it
// needs (gateway/workerProcess.ts), and each reads its values from it. The defaults live here only.

export interface Timeouts {
  /** How often the gateway and every worker check that their parent and owner live: how long a dead host goes unnoticed (gatewayWarden.watchdog.pollMs). */
  pollMs: number;
  /** SIGTERM→SIGKILL gap for the workers' groups on a requested shutdown (gatewayWarden.shutdown.graceMs; gateway.shutdown's graceMs). */
  shutdownGraceMs: number;
  /** The same gap when the lifeline is lost: the host is gone and nobody waits for the cleanup. */
  lifelineGraceMs: number;
  /** What a gateway shutdown may take beyond its grace (SIGKILL, reaping, cgroups removed): grace + this bounds the whole shutdown. */
  shutdownSlackMs: number;
  /** How long a slash command may run before its caller gets an error. */
  slashTimeoutMs: number;
  /** A session with nothing running is closed after this; 0 = never (gatewayWarden.worker.idleTimeoutMinutes). */
  workerIdleTimeoutMs: number;
  /** How long a new worker may take to say it is ready. */
  workerStartTimeoutMs: number;
  /** Closing one session's worker: how long its polite shutdown request may take before signals. */
  workerPoliteCloseMs: number;
  /** Closing one session's worker: SIGTERM→SIGKILL gap on its group. */
  workerCloseGraceMs: number;
  /** Closing one session's worker: the bound of that group teardown. */
  workerCloseTimeoutMs: number;
  /** SIGTERM→SIGKILL gap for a worker's own children when it exits, and for its reaper's sweep of them. */
  workerExitGraceMs: number;
  /** The bound of that teardown (under the worker's blocked-loop guard, which allows 10 s). */
  workerExitTimeoutMs: number;
  /** hermes backend: how long its gateway may take to say gateway.ready (--backend-start-timeout-ms). */
  backendStartTimeoutMs: number;
  /** hermes backend: how long a confirmed stale worker is left before it is taken down; 0 = only reported (--stale-worker-grace-ms). */
  staleWorkerGraceMs: number;
  /** Attach endpoint: how long a new connection has to complete an authenticated upgrade. */
  attachHandshakeTimeoutMs: number;
  /** Attach endpoint: how long a dropped client's sessions wait for it to attach again. */
  reattachGraceMs: number;
  /** Attach endpoint: the interval of the keep-alive ping. */
  pingMs: number;
  /** Host, on deactivate: at most this much of shutdownGraceMs is used (VS Code allows about 5 s in all). */
  deactivateMaxGraceMs: number;
  /** Host: the whole teardown on deactivate; past it the synchronous SIGKILL sweep runs. */
  deactivateBudgetMs: number;
  /** Host: the bound of a stop's or restart's teardown (no deactivate budget, but a bound all the same). */
  stopBudgetMs: number;
  /** Host, stopping a gateway: how long it has to answer at all before it counts as hung (its workers' groups are then swept by the host too). */
  stopProbeMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  pollMs: 1000,
  shutdownGraceMs: 500,
  lifelineGraceMs: 100,
  shutdownSlackMs: 3000,
  slashTimeoutMs: 45_000,
  workerIdleTimeoutMs: 30 * 60_000,
  workerStartTimeoutMs: 30_000,
  workerPoliteCloseMs: 1000,
  workerCloseGraceMs: 500,
  workerCloseTimeoutMs: 5000,
  workerExitGraceMs: 300,
  workerExitTimeoutMs: 3000,
  backendStartTimeoutMs: 30_000,
  staleWorkerGraceMs: 30_000,
  attachHandshakeTimeoutMs: 3000,
  reattachGraceMs: 20_000,
  pingMs: 10_000,
  deactivateMaxGraceMs: 1000,
  deactivateBudgetMs: 2500,
  stopBudgetMs: 6500,
  stopProbeMs: 150,
});

/**
 * The most a timing option of the gateway (a flag or its environment variable) may say: 24 days.
 * Node's timers wait at most 2^31 - 1 ms (about 24.8 days) and turn a longer delay into 1 ms, so a
 * huge idle timeout would close every session at once; and the gateway adds up to a minute to some
 * options (a worker's idle timer, hermes' slash timeout, the shutdown's bound): a day short of the
 * limit leaves room for every such margin.
 */
export const MAX_TIMING_OPTION_MS = 24 * 24 * 3600_000;

/** The gateway's flags for its timeouts (and the environment variables a Warden-protocol gateway reads), with the least value each accepts (the most: MAX_TIMING_OPTION_MS). */
export const TIMEOUT_FLAGS = {
  slashTimeoutMs: { flag: 'slash-timeout-ms', env: 'GATEWAY_WARDEN_SLASH_TIMEOUT_MS', min: 1 },
  workerIdleTimeoutMs: { flag: 'worker-idle-timeout-ms', env: 'GATEWAY_WARDEN_WORKER_IDLE_TIMEOUT_MS', min: 0 },
  workerStartTimeoutMs: { flag: 'worker-start-timeout-ms', env: 'GATEWAY_WARDEN_WORKER_START_TIMEOUT_MS', min: 1 },
  pollMs: { flag: 'poll-ms', env: 'GATEWAY_WARDEN_POLL_MS', min: 10 },
  shutdownGraceMs: { flag: 'shutdown-grace-ms', env: 'GATEWAY_WARDEN_SHUTDOWN_GRACE_MS', min: 0 },
  lifelineGraceMs: { flag: 'lifeline-grace-ms', env: 'GATEWAY_WARDEN_LIFELINE_GRACE_MS', min: 0 },
  reattachGraceMs: { flag: 'reattach-grace-ms', env: 'GATEWAY_WARDEN_REATTACH_GRACE_MS', min: 0 },
  attachHandshakeTimeoutMs: { flag: 'attach-handshake-timeout-ms', env: 'GATEWAY_WARDEN_ATTACH_HANDSHAKE_TIMEOUT_MS', min: 1 },
  pingMs: { flag: 'ping-ms', env: 'GATEWAY_WARDEN_PING_MS', min: 10 },
} as const;

/** The timeouts the gateway takes as flags (and reports in gateway.status `options`). */
export type GatewayTimeouts = Pick<Timeouts, keyof typeof TIMEOUT_FLAGS>;

const GATEWAY_KEYS = Object.keys(TIMEOUT_FLAGS) as (keyof GatewayTimeouts)[];

export function gatewayTimeouts(t: Readonly<GatewayTimeouts>): GatewayTimeouts {
  return Object.fromEntries(GATEWAY_KEYS.map((k) => [k, t[k]])) as unknown as GatewayTimeouts;
}

/**
 * The gateway's part of t as its flags (`--poll-ms 250 …`), for the host's launch of our gateway:
 * only those that differ from the defaults, which are the gateway's own (this object), so its
 * command line — in the process table and the tree — stays short.
 */
export function timeoutArgs(t: Readonly<GatewayTimeouts>): string[] {
  return GATEWAY_KEYS.filter((k) => t[k] !== DEFAULT_TIMEOUTS[k]).flatMap((k) => [`--${TIMEOUT_FLAGS[k].flag}`, String(t[k])]);
}

/** The same as environment variables, for a Warden-protocol gateway of the user's (which takes no flags of ours). */
export function timeoutEnv(t: Readonly<GatewayTimeouts>): Record<string, string> {
  return Object.fromEntries(GATEWAY_KEYS.map((k) => [TIMEOUT_FLAGS[k].env, String(t[k])]));
}

/** The whole gateway shutdown's bound for a SIGTERM→SIGKILL grace of graceMs. */
export function shutdownBoundMs(graceMs: number, t: Pick<Timeouts, 'shutdownSlackMs'> = DEFAULT_TIMEOUTS): number {
  return graceMs + t.shutdownSlackMs;
}
