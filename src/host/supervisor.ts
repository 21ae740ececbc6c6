// The managed gateway: start, stop, restart on unexpected exit with backoff, give up on a
// crash loop, and tear everything down within VS Code's deactivate budget.
import { OWNER_ENV } from '../core/ownerMarker';
import { Fingerprint } from '../core/fingerprint';
import { cgroupTarget, describeProblems, processGroup, Target, teardown, TeardownOptions, teardownSync } from '../core/kill';
import { CrashPolicy, CrashWindow, DEFAULT_CRASH_POLICY } from './crashWindow';
import { delay, Emitter } from '../core/emitter';
import { DEFAULT_TIMEOUTS, shutdownBoundMs, Timeouts } from '../core/timeouts';
import { GatewayEvent, GatewayExit, GatewayLimits, GatewayProcess, limitsOf } from './gatewayProcess';
import { LaunchSpec } from './launchSpec';
import type { GatewayBackend } from './settings';
import { Log } from './seams';
import { gatewayCgroupPlace } from './sessionCgroups';

export type GatewayState = 'stopped' | 'starting' | 'running' | 'stopping' | 'restarting' | 'failed';

export interface GatewayStatus {
  state: GatewayState;
  pid?: number;
  pgid?: number;
  startedAt?: number;
  command?: string;
  /** Why the gateway is `failed` (or why the last start failed). */
  error?: string;
  /** When `restarting`: when the next attempt is due. */
  nextAttemptAt?: number;
  /** When `running`: the caps the gateway reported at start-up. */
  limits?: GatewayLimits;
  /** What runs (gatewayWarden.gateway.backend): embedded, warden, hermes, command. */
  backend?: GatewayBackend;
}

export interface GiveUp {
  message: string;
  crashes: number;
}

export interface SupervisorOptions {
  /** Read afresh on every start, so settings changes apply on the next (re)start. */
  launch: () => LaunchSpec | Promise<LaunchSpec>;
  log: Log;
  readyTimeoutMs?: number;
  crashPolicy?: Partial<CrashPolicy>;
  /** The host's timeouts (from its settings; default DEFAULT_TIMEOUTS): the grace, the deactivate and stop budgets. */
  timeouts?: () => Timeouts;
  /**
   * Worker groups the registry knows to be alive. The gateway owns them; the host tears them
   * down itself only when the gateway cannot: it crashed, or does not answer.
   */
  workerGroups?: () => { pgid: number; leader: Fingerprint }[];
  now?: () => number;
}


/** What a crashed gateway left, and the sweep taking it down. */
interface CrashSweep {
  targets: Target[];
  done: Promise<void>;
}

export class GatewaySupervisor {
  private gw: GatewayProcess | undefined;
  /** Spawned but not yet ready (not in `gw`): dispose and the exit hook must end it too. */
  private starting: GatewayProcess | undefined;
  /** The sweep after a crash, while it runs (deactivate waits for it, or SIGKILLs its targets). */
  private crashSweep: CrashSweep | undefined;
  private status: GatewayStatus = { state: 'stopped' };
  private readonly crashes: CrashWindow;
  private restartTimer: NodeJS.Timeout | undefined;
  private op: Promise<void> = Promise.resolve();
  private disposed = false;

  /** The GATEWAY_WARDEN_OWNER our gateways carry (their launch spec's): what corroborates their groups. */
  private ownerMarker?: string;
  private readonly stateEmitter = new Emitter<GatewayStatus>();
  private readonly eventEmitter = new Emitter<GatewayEvent>();
  private readonly startedEmitter = new Emitter<GatewayProcess>();
  private readonly exitEmitter = new Emitter<{ gateway: GatewayProcess; exit: GatewayExit; expected: boolean }>();
  private readonly giveUpEmitter = new Emitter<GiveUp>();
  readonly onDidChangeState = this.stateEmitter.event;
  /** Gateway events (session.*, worker.*), from whichever gateway is current. */
  readonly onEvent = this.eventEmitter.event;
  readonly onDidStart = this.startedEmitter.event;
  readonly onDidExit = this.exitEmitter.event;
  /** Crash loop: automatic restarts stopped. */
  readonly onDidGiveUp = this.giveUpEmitter.event;

  constructor(private readonly opts: SupervisorOptions) {
    this.crashes = new CrashWindow({ ...DEFAULT_CRASH_POLICY, ...opts.crashPolicy });
  }

  get current(): GatewayStatus {
    return { ...this.status };
  }

  get gateway(): GatewayProcess | undefined {
    return this.gw;
  }

  /** Starts the gateway (a no-op while one runs). Rejects with a clear message on failure. */
  start(): Promise<void> {
    return this.serial(async () => {
      if (this.gw && !this.gw.hasExited) return;
      this.clearRestartTimer();
      this.crashes.reset();
      await this.launch(false);
    });
  }

  stop(): Promise<void> {
    return this.serial(() => this.teardown('stopped'));
  }

  restart(): Promise<void> {
    return this.serial(async () => {
      await this.teardown('stopped');
      this.throwIfDisposed(); // deactivated during the teardown: no replacement
      this.crashes.reset();
      await this.launch(false);
    });
  }

  request<T = unknown>(method: string, params?: unknown, timeoutMs?: number): Promise<T> {
    if (!this.gw || this.status.state !== 'running') {
      return Promise.reject(new Error(`The gateway is not running (${this.status.state}).`));
    }
    return this.gw.request<T>(method, params, timeoutMs);
  }

  /**
   * Deactivate path: the gateway tears its sessions down (its workers get the user's grace, at
   * most deactivateMaxGraceMs); the host then takes down only what is provably left, so each
   * group is swept once. All within `budgetMs`; if that runs out anyway the synchronous SIGKILL
   * sweep runs before this resolves.
   */
  async dispose(budgetMs = this.timeouts().deactivateBudgetMs): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.clearRestartTimer();
    const t = this.timeouts();
    const graceMs = Math.min(t.shutdownGraceMs, t.deactivateMaxGraceMs, Math.floor(budgetMs / 2));
    const done = Promise.all([
      this.teardownGateway(this.gw, graceMs, budgetMs - 200),
      // Not ready yet, so no sessions to ask it to close: its group goes as a failed start's does.
      this.sweep('teardown (not ready)', this.starting ? [this.starting.target()] : [], { graceMs, timeoutMs: budgetMs - 200 }),
      // What a crashed gateway left, still in its sweep's grace: past the budget it is SIGKILLed
      // below, as the host is about to exit (the sweep would never get to its SIGKILL).
      this.crashSweep?.done,
    ]);
    // A teardown that failed is as good as one out of time: the synchronous sweep still runs.
    let failure: unknown;
    const inTime = await Promise.race([done.then(() => true, (e: unknown) => ((failure = e), false)), delay(budgetMs).then(() => false)]);
    if (!inTime) {
      this.opts.log.warn(failure === undefined ? `gateway teardown exceeded ${budgetMs} ms; killing synchronously` : `gateway teardown failed (${(failure as Error)?.message ?? String(failure)}); killing synchronously`);
      this.disposeSync();
    }
    this.setStatus({ state: 'stopped' });
    this.disposeEmitters();
  }

  /** Synchronous SIGKILL of whatever is left of the gateway's group and the worker groups (exit paths). */
  disposeSync(): void {
    this.disposed = true;
    this.clearRestartTimer();
    const targets = [...this.targets(this.gw, true), ...(this.starting ? [this.starting.target()] : []), ...(this.crashSweep?.targets ?? [])];
    const r = teardownSync(targets, { firstSignal: 'SIGKILL', timeoutMs: 500, ownerMarker: this.ownerMarker });
    const problems = describeProblems(r);
    if (problems) this.opts.log.warn(`exit: ${problems}`);
  }

  // ---------------------------------------------------------------------------------------

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.op.then(() => {
      this.throwIfDisposed();
      return fn();
    });
    this.op = next.catch(() => undefined);
    return next;
  }

  private async launch(isRestart: boolean): Promise<void> {
    let spec: LaunchSpec;
    try {
      spec = await this.opts.launch();
      this.ownerMarker = spec.env[OWNER_ENV] ?? this.ownerMarker;
    } catch (e) {
      this.throwIfDisposed();
      this.setStatus({ state: 'failed', error: (e as Error).message });
      throw e;
    }
    this.throwIfDisposed(); // a spec built for a disposed supervisor is never spawned
    this.setStatus({ state: 'starting', command: spec.display, backend: spec.backend });
    this.opts.log.info(`${isRestart ? 'restarting' : 'starting'} gateway: ${spec.display}`);
    // Again right before the spawn (a state listener may have disposed us): start() spawns and
    // calls onSpawn synchronously, so a dispose from here on finds the process in `starting`.
    this.throwIfDisposed();
    let gw: GatewayProcess;
    try {
      gw = await GatewayProcess.start(spec, { log: this.opts.log, readyTimeoutMs: this.opts.readyTimeoutMs, onSpawn: (g) => (this.starting = g) });
    } catch (e) {
      const message = (e as Error).message;
      if (this.disposed) {
        this.opts.log.debug(`start ended by the shutdown: ${message}`);
        throw shuttingDown();
      }
      this.opts.log.error(message);
      if (isRestart) {
        this.onCrash(message);
        return;
      }
      this.setStatus({ state: 'failed', command: spec.display, error: message, backend: spec.backend });
      throw e;
    } finally {
      // Once disposed it stays: dispose()'s budget fallback and the exit hook may still need it.
      if (!this.disposed) this.starting = undefined;
    }
    // Disposed while it got ready: dispose() or the exit hook took it down as `starting`.
    this.throwIfDisposed();
    this.gw = gw;
    // Only the current gateway speaks for the view: one that outlived its teardown (a restart
    // moved on after the bound) must not feed the next one's model.
    gw.onEvent((ev) => {
      if (this.gw === gw) this.eventEmitter.fire(ev);
    });
    gw.onExit((exit) => this.onExit(gw, exit));
    this.setStatus({ state: 'running', pid: gw.pid, pgid: gw.pgid, startedAt: gw.startedAt, command: spec.display, limits: limitsOf(gw.readyEvent), backend: spec.backend });
    this.startedEmitter.fire(gw);
  }

  private throwIfDisposed(): void {
    if (this.disposed) throw shuttingDown();
  }

  private onExit(gw: GatewayProcess, exit: GatewayExit): void {
    const expected = this.gw !== gw || this.status.state === 'stopping' || this.disposed;
    this.exitEmitter.fire({ gateway: gw, exit, expected });
    if (expected) return;
    this.gw = undefined;
    const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const message = `The gateway (pid ${gw.pid}) ${how} unexpectedly.`;
    this.opts.log.warn(message);
    // Whatever it left (its group, its workers' groups: their exit events died with it) must go
    // before a replacement starts; the backoff gives the sweep its time.
    const graceMs = this.timeouts().shutdownGraceMs;
    const sweep: CrashSweep = { targets: this.targets(gw, true), done: Promise.resolve() };
    sweep.done = this.sweep('after crash', sweep.targets, { graceMs, timeoutMs: shutdownBoundMs(graceMs) }).finally(() => {
      if (this.crashSweep === sweep) this.crashSweep = undefined;
    });
    this.crashSweep = sweep;
    this.onCrash(message);
  }

  private onCrash(message: string): void {
    const backoff = this.crashes.record(this.now());
    if (backoff === undefined) {
      const crashes = this.crashes.recent;
      const m = `${message} It crashed ${crashes} times within ${Math.round(this.policyWindowMs() / 1000)} s; automatic restarts are stopped.`;
      this.opts.log.error(m);
      this.setStatus({ state: 'failed', error: m, command: this.status.command, backend: this.status.backend });
      this.giveUpEmitter.fire({ message: m, crashes });
      return;
    }
    this.opts.log.info(`restarting the gateway in ${backoff} ms`);
    this.setStatus({ state: 'restarting', error: message, nextAttemptAt: this.now() + backoff, command: this.status.command, backend: this.status.backend });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.serial(() => this.launch(true)).catch(() => undefined);
    }, backoff);
  }

  private async teardown(final: GatewayState): Promise<void> {
    this.clearRestartTimer();
    const gw = this.gw;
    if (gw && !gw.hasExited) this.setStatus({ ...this.status, state: 'stopping' });
    const t = this.timeouts();
    await this.teardownGateway(gw, t.shutdownGraceMs, t.stopBudgetMs);
    this.gw = undefined;
    this.setStatus({ state: final });
  }

  /**
   * Stops one gateway within `budgetMs`: it is asked to shut down and does its own sessions.
   * Afterwards the host takes down only what is still there (the engine finds an empty group
   * with one kill(-pgid, 0)): the gateway's group, and the worker groups only when the gateway
   * did not answer — then the gateway gets SIGKILL at once (a hung one runs no handler).
   */
  private async teardownGateway(gw: GatewayProcess | undefined, graceMs: number, budgetMs: number): Promise<void> {
    const t0 = Date.now();
    if (gw) this.setStatus({ ...this.status, state: 'stopping' });
    // Taken before the polite phase: the workers as they were while the gateway still told us.
    const workers = this.workerTargets();
    // What our own sweep may need afterwards: the grace, SIGKILL and its settling time.
    const politeMs = Math.max(0, budgetMs - graceMs - 300);
    // One that has not answered gateway.status within stopProbeMs is hung: we tear its workers down ourselves.
    const stop = gw ? await gw.askToStop(graceMs, politeMs, this.timeouts().stopProbeMs) : { exited: true, answered: false };
    this.opts.log.debug(`teardown: polite phase ${Date.now() - t0} ms (gateway ${stop.exited ? 'exited' : 'still running'}${stop.answered ? '' : ', did not answer'})`);
    const timeoutMs = Math.max(200, budgetMs - (Date.now() - t0));
    // Workers first: a hung gateway's SIGKILL wakes every worker at once (stdin EOF), and their
    // teardowns would then slow the signals still to be sent to their groups.
    await this.sweep('teardown', [...(stop.answered ? [] : [...workers, ...gatewayCgroupTargets(gw)]), ...(gw ? [gw.target(!stop.answered)] : [])], { graceMs, timeoutMs });
    if (gw && !gw.hasExited) await Promise.race([gw.whenExited(), delay(200)]);
  }

  private async sweep(what: string, targets: Target[], opts: TeardownOptions): Promise<void> {
    if (!targets.length) return;
    const r = await teardown(targets, { ...opts, ownerMarker: this.ownerMarker });
    this.opts.log.debug(`${what}: ${targets.length} group(s) in ${Math.round(r.elapsedMs)} ms`);
    const problems = describeProblems(r);
    if (problems) this.opts.log.warn(`${what}: ${problems}`);
  }

  /** The gateway's group (POSIX) and, with `workers`, every live worker group the registry knows, and its cgroup tree. */
  private targets(gw: GatewayProcess | undefined, workers: boolean): Target[] {
    return [...(gw ? [gw.target()] : []), ...(workers ? [...this.workerTargets(), ...gatewayCgroupTargets(gw)] : [])];
  }

  private workerTargets(): Target[] {
    return (this.opts.workerGroups?.() ?? []).map((g) => processGroup(g.pgid, g.leader));
  }

  private timeouts(): Timeouts {
    return this.opts.timeouts?.() ?? DEFAULT_TIMEOUTS;
  }

  private setStatus(s: GatewayStatus): void {
    this.status = s;
    this.stateEmitter.fire({ ...s });
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private disposeEmitters(): void {
    for (const e of [this.stateEmitter, this.eventEmitter, this.startedEmitter, this.exitEmitter, this.giveUpEmitter]) e.dispose();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private policyWindowMs(): number {
    return { ...DEFAULT_CRASH_POLICY, ...this.opts.crashPolicy }.windowMs;
  }
}

function shuttingDown(): Error {
  return new Error('Gateway Warden is shutting down.');
}

/**
 * The cgroup tree a gateway said it made (gateway.ready `cgroup`), for the paths where the
 * gateway cannot take it down itself (it crashed, or does not answer): one cgroup.kill reaches
 * every worker and everything they started, setsid escapees included, and the engine removes the
 * tree. Only where the host can corroborate it (gatewayCgroupPlace).
 */
function gatewayCgroupTargets(gw: GatewayProcess | undefined): Target[] {
  const place = gatewayCgroupPlace(gw);
  return place ? [cgroupTarget(place.tree, { parent: place.parent })] : [];
}
