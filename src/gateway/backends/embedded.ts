// The embedded backend: the gateway's own sessions and slash workers (SessionManager), exactly as
// before backends existed — same methods, same replies, same events.
import { Fingerprint } from '../../core/fingerprint';
import { describeProblems, teardownSync } from '../../core/kill';
import type { Containment } from '../cgroupContainment';
import type { GatewayOptions } from '../options';
import { CloseReason, SessionManager } from '../sessions';
import type { NamedWorker } from '../workerKillTarget';
import { Backend, BackendHost, GatewayCounts, KnownProcess, notSupported, SessionCloseReason, ShutdownReason } from './backend';

export class EmbeddedBackend implements Backend {
  readonly name = 'embedded' as const;
  readonly sessions: SessionManager;

  constructor(
    private readonly options: GatewayOptions,
    ownerMarker: string,
    owner: Fingerprint | undefined,
    workerPath: string,
    private readonly host: BackendHost,
    containment?: Containment,
  ) {
    this.sessions = new SessionManager({
      workerPath,
      ownerMarker,
      owner,
      pollMs: options.pollMs,
      slashTimeoutMs: options.slashTimeoutMs,
      workerIdleTimeoutMs: options.workerIdleTimeoutMs,
      workerStartTimeoutMs: options.workerStartTimeoutMs,
      reattachGraceMs: options.reattachGraceMs,
      shutdownGraceMs: options.shutdownGraceMs,
      maxSessions: options.maxSessions,
      maxWorkers: options.maxWorkers,
      maxLineBytes: options.maxLineBytes,
      workerMemoryMB: options.workerMemoryMB,
      containment,
      emit: (type, payload) => host.emit(type, payload),
      log: (m) => host.log(m),
    });
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  createSession(params: { label?: string; closeOnDisconnect: boolean }, clientId: string): Promise<{ sessionId: string }> {
    return Promise.resolve({ sessionId: this.sessions.create(params.label, params.closeOnDisconnect, clientId).id });
  }

  async closeSession(sessionId: string, reason: SessionCloseReason, clientId: string): Promise<boolean> {
    this.sessions.assertMayAct(sessionId, clientId, 'session.close');
    return this.sessions.close(sessionId, reason as CloseReason);
  }

  async attachSession(sessionId: string, clientId: string): Promise<{ sessionId: string; attached: true }> {
    this.sessions.assertMayAct(sessionId, clientId, 'session.attach');
    return { sessionId: this.sessions.attach(sessionId, clientId).id, attached: true };
  }

  listSessions(clientId: string): Promise<Record<string, unknown>> {
    return Promise.resolve({ sessions: this.sessions.list(clientId) });
  }

  async exec(sessionId: string, command: string, clientId: string): Promise<Record<string, unknown>> {
    this.sessions.assertMayAct(sessionId, clientId, 'slash.exec');
    return { output: await this.sessions.exec(sessionId, command) };
  }

  /**
   * Ends the session's worker and everything in its group (SIGTERM, a grace, SIGKILL until the
   * group is empty); the session stays and its next command starts a new worker. The worker's
   * exit is reported as usual (worker.exited) by the session manager.
   */
  async killWorker(sessionId: string, clientId: string, named?: NamedWorker): Promise<Record<string, unknown>> {
    this.sessions.assertMayAct(sessionId, clientId, 'worker.kill');
    return this.sessions.killWorker(sessionId, named);
  }

  call(): Promise<unknown> {
    return Promise.reject(notSupported('embedded', 'backend.call', 'it reaches the program behind the hermes backend; this gateway runs its own workers'));
  }

  clientGone(clientId: string): void {
    this.sessions.clientGone(clientId);
  }

  sessionOwner(sessionId: string): string | null | undefined {
    return this.sessions.ownerOf(sessionId);
  }

  counts(): GatewayCounts {
    return {
      limits: { maxSessions: this.options.maxSessions, maxWorkers: this.options.maxWorkers },
      sessions: this.sessions.size,
      // Worker processes not yet exited: starting, ready and closing ones (what the cap counts).
      workers: this.sessions.liveWorkers.size,
      busyWorkers: this.sessions.busyWorkers,
    };
  }

  statusExtras(): Record<string, unknown> {
    return {};
  }

  knownProcesses(): KnownProcess[] {
    return [...this.sessions.liveWorkers].map((w) => ({ pid: w.pid, startTime: w.fingerprint.startTime, role: 'worker' as const, sessionId: w.sessionId }));
  }

  /** Each worker leads its group: a `/run cmd &` child re-parented away from it is still there. */
  processGroups(): number[] {
    return [...this.sessions.liveWorkers].flatMap((w) => (w.pgid !== null ? [w.pgid] : []));
  }

  stopAccepting(): void {
    this.sessions.stopAccepting();
  }

  shutdown(reason: ShutdownReason, workerGraceMs: number): Promise<void> {
    return this.sessions.closeAll(reason, workerGraceMs);
  }

  /** Every worker group (or session cgroup) left, in one teardown. */
  finalSweep(): void {
    const groups = [...this.sessions.liveWorkers].filter((w) => w.pgid !== null).flatMap((w) => w.targets);
    if (groups.length === 0) return;
    const problems = describeProblems(teardownSync(groups, { firstSignal: 'SIGKILL', timeoutMs: 1000 }));
    if (problems) this.host.log(`final sweep of the worker groups: ${problems}`);
  }
}
