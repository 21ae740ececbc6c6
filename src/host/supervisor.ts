// The managed gateway: start, stop, restart on unexpected exit with backoff, give up on a
// crash loop, and tear everything down within VS Code's deactivate budget.
import { Fingerprint } from '../core/fingerprint';
import { CrashPolicy, CrashWindow, DEFAULT_CRASH_POLICY } from './crashWindow';
import { Emitter } from './emitter';
import { sweepGroups, sweepGroupsSync, SweepTarget } from '../core/groupSweep';
import { GatewayEvent, GatewayExit, GatewayLimits, GatewayProcess, limitsOf } from './gatewayProcess';
import { LaunchSpec } from './launchSpec';
import type { GatewayBackend } from './settings';
import { Log } from './seams';

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
  launch: () => LaunchSpec;
  log: Log;
  readyTimeoutMs?: number;
  crashPolicy?: Partial<CrashPolicy>;
  /** Grace between SIGTERM and SIGKILL on teardown. */
  graceMs?: () => number;
  /** Extra groups to tear down on stop (workers in their own groups), from the registry. */
  extraGroups?: () => { pgid: number; leader: Fingerprint }[];
  now?: () => number;
}

export class GatewaySupervisor {
  private gw: GatewayProcess | undefined;
  private status: GatewayStatus = { state: 'stopped' };
  private readonly crashes: CrashWindow;
  private restartTimer: NodeJS.Timeout | undefined;
  private op: Promise<void> = Promise.resolve();
  private disposed = false;

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
   * Deactivate path: polite shutdown (short), then one sweep of the gateway's group and every
   * worker group, bounded by `budgetMs`; if the budget runs out anyway (a hung, e.g.
   * SIGSTOPped, gateway) the synchronous SIGKILL sweep runs before this resolves.
   */
  async dispose(budgetMs = 2500): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.clearRestartTimer();
    const gw = this.gw;
    // Deactivate has VS Code's 5 s budget: short polite phase and grace (SIGKILL follows anyway).
    const graceMs = Math.min(this.opts.graceMs?.() ?? 500, 150);
    const politeMs = Math.min(150, budgetMs / 5);
    const done = this.teardownGateway(gw, { graceMs, politeMs, timeoutMs: Math.max(200, budgetMs - politeMs - 300) });
    const inTime = await Promise.race([done.then(() => true), delay(budgetMs).then(() => false)]);
    if (!inTime) {
      this.opts.log.warn(`gateway teardown exceeded ${budgetMs} ms; killing synchronously`);
      this.disposeSync();
    }
    this.setStatus({ state: 'stopped' });
    this.disposeEmitters();
  }

  /** Synchronous SIGKILL of the gateway's group and every known worker group (exit paths). */
  disposeSync(): void {
    this.disposed = true;
    this.clearRestartTimer();
    try {
      sweepGroupsSync(this.targets(this.gw), { graceMs: 0, timeoutMs: 500, firstSignal: 'SIGKILL' });
    } catch {
      // best effort: nothing more can be done synchronously
    }
  }

  // ---------------------------------------------------------------------------------------

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.op.then(() => {
      if (this.disposed) throw new Error('Gateway Warden is shutting down.');
      return fn();
    });
    this.op = next.catch(() => undefined);
    return next;
  }

  private async launch(isRestart: boolean): Promise<void> {
    let spec: LaunchSpec;
    try {
      spec = this.opts.launch();
    } catch (e) {
      this.setStatus({ state: 'failed', error: (e as Error).message });
      throw e;
    }
    this.setStatus({ state: 'starting', command: spec.display, backend: spec.backend });
    this.opts.log.info(`${isRestart ? 'restarting' : 'starting'} gateway: ${spec.display}`);
    let gw: GatewayProcess;
    try {
      gw = await GatewayProcess.start(spec, { log: this.opts.log, readyTimeoutMs: this.opts.readyTimeoutMs });
    } catch (e) {
      const message = (e as Error).message;
      this.opts.log.error(message);
      if (isRestart && !this.disposed) {
        this.onCrash(message);
        return;
      }
      this.setStatus({ state: 'failed', command: spec.display, error: message, backend: spec.backend });
      throw e;
    }
    if (this.disposed) {
      await gw.forceKill();
      return;
    }
    this.gw = gw;
    gw.onEvent((ev) => this.eventEmitter.fire(ev));
    gw.onExit((exit) => this.onExit(gw, exit));
    this.setStatus({ state: 'running', pid: gw.pid, pgid: gw.pgid, startedAt: gw.startedAt, command: spec.display, limits: limitsOf(gw.readyEvent), backend: spec.backend });
    this.startedEmitter.fire(gw);
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
    const graceMs = this.opts.graceMs?.() ?? 500;
    void sweepGroups(this.targets(gw), { graceMs, timeoutMs: graceMs + 3000 }).then(
      (r) => {
        for (const why of r.refused) this.opts.log.warn(`after crash: ${why}`);
        if (r.survivors.length) this.opts.log.error(`after crash: still alive: ${r.survivors.join(', ')}`);
      },
      () => undefined,
    );
    this.onCrash(message);
  }

  private onCrash(message: string): void {
    const backoff = this.crashes.record(this.now());
    if (backoff === undefined) {
      const crashes = this.crashes.recent;
      const m = `${message} It crashed ${crashes} times within ${Math.round(this.policyWindowMs() / 1000)} s; automatic restarts are stopped.`;
      this.opts.log.error(m);
      this.setStatus({ state: 'failed', error: m, command: this.status.command });
      this.giveUpEmitter.fire({ message: m, crashes });
      return;
    }
    this.opts.log.info(`restarting the gateway in ${backoff} ms`);
    this.setStatus({ state: 'restarting', error: message, nextAttemptAt: this.now() + backoff, command: this.status.command });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.serial(() => this.launch(true)).catch(() => undefined);
    }, backoff);
  }

  private async teardown(final: GatewayState): Promise<void> {
    this.clearRestartTimer();
    const gw = this.gw;
    if (gw && !gw.hasExited) this.setStatus({ ...this.status, state: 'stopping' });
    const graceMs = this.opts.graceMs?.() ?? 500;
    await this.teardownGateway(gw, { graceMs, politeMs: 1500, timeoutMs: 5000 });
    this.gw = undefined;
    this.setStatus({ state: final });
  }

  private async teardownGateway(
    gw: GatewayProcess | undefined,
    t: { graceMs: number; politeMs: number; timeoutMs: number },
  ): Promise<void> {
    if (gw) this.setStatus({ ...this.status, state: 'stopping' });
    // Taken before the polite phase: worker exits arriving meanwhile must not hide their groups.
    const targets = this.targets(gw);
    const t0 = Date.now();
    if (gw) await gw.askToStop(t.graceMs, t.politeMs);
    this.opts.log.debug(`teardown: polite phase ${Date.now() - t0} ms (gateway ${gw?.hasExited ? 'exited' : 'still running'}); sweeping ${targets.length} group(s)`);
    if (gw && process.platform === 'win32') await gw.forceKill(t.graceMs, t.timeoutMs);
    const r = await sweepGroups(targets, { graceMs: t.graceMs, timeoutMs: t.timeoutMs });
    for (const why of r.refused) this.opts.log.warn(`teardown: ${why}`);
    this.opts.log.debug(`teardown: sweep ${Math.round(r.elapsedMs)} ms`);
    if (r.survivors.length) this.opts.log.error(`teardown: still alive after ${Math.round(r.elapsedMs)} ms: ${r.survivors.join(', ')}`);
    if (gw && !gw.hasExited) await Promise.race([gw.whenExited(), delay(200)]);
  }

  /** The gateway's group (POSIX) and every live worker group the registry knows. */
  private targets(gw: GatewayProcess | undefined): SweepTarget[] {
    const out: SweepTarget[] = [];
    if (gw && gw.pgid > 0) out.push({ pgid: gw.pgid, leader: gw.fingerprint });
    for (const g of this.opts.extraGroups?.() ?? []) if (!out.some((o) => o.pgid === g.pgid)) out.push(g);
    return out;
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

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
