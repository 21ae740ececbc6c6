// Sessions and their lazily started workers. The one close path is close(): session.close, a
// client's disconnect, the idle timeout, gateway shutdown and lifeline loss all end up here,
// and a second call answers false.
import { randomUUID } from 'node:crypto';
import { Fingerprint } from '../core/fingerprint';
import { sweepGroups } from '../core/groupSweep';
import { RpcError, RpcErrorCode } from '../core/rpc';
import { WorkerInfo, WorkerProcess } from './workerProcess';

/** The client id of the host's stdio connection: it may act on every session. */
export const HOST_CLIENT = 'stdio';

export type CloseReason = 'requested' | 'client-disconnected' | 'reattach-timeout' | 'idle-timeout' | 'shutdown' | 'lifeline';

export interface Session {
  id: string;
  label: string;
  closeOnDisconnect: boolean;
  createdAt: number;
  /** The client connection the session belongs to now; null while detached. */
  attachedTo: string | null;
  worker: WorkerProcess | null;
  /** The in-flight start of the worker: the per-session lock (one start at a time). */
  starting: Promise<WorkerProcess> | null;
  closed: boolean;
  idleTimer?: NodeJS.Timeout;
  /** Slash commands in flight: a session is never idle while one runs (or its worker starts). */
  busy: number;
  reattachTimer?: NodeJS.Timeout;
}

export interface SessionSummary {
  sessionId: string;
  label: string;
  closeOnDisconnect: boolean;
  createdAt: number;
  attached: boolean;
  worker: WorkerInfo | null;
}

export interface SessionManagerOptions {
  workerPath: string;
  ownerMarker: string;
  owner?: Fingerprint;
  pollMs: number;
  slashTimeoutMs: number;
  workerIdleTimeoutMs: number;
  workerStartTimeoutMs: number;
  reattachGraceMs: number;
  emit(type: string, payload: Record<string, unknown>): void;
  log(message: string): void;
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  /** Every worker process not yet exited, attached or not (for status and the final sweep). */
  readonly liveWorkers = new Set<WorkerProcess>();
  private accepting = true;

  constructor(private readonly opts: SessionManagerOptions) {}

  get size(): number {
    return this.sessions.size;
  }

  stopAccepting(): void {
    this.accepting = false;
  }

  create(label: string | undefined, closeOnDisconnect: boolean, clientId: string): Session {
    this.assertAccepting();
    const id = randomUUID();
    const s: Session = {
      id, label: label ?? `session ${this.sessions.size + 1}`, closeOnDisconnect, createdAt: Date.now(),
      attachedTo: clientId, worker: null, starting: null, closed: false, busy: 0,
    };
    this.sessions.set(id, s);
    this.opts.emit('session.created', { sessionId: id, label: s.label, closeOnDisconnect, createdAt: s.createdAt });
    return s;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  list(): SessionSummary[] {
    return [...this.sessions.values()].map((s) => ({
      sessionId: s.id, label: s.label, closeOnDisconnect: s.closeOnDisconnect, createdAt: s.createdAt,
      attached: s.attachedTo !== null, worker: s.worker ? s.worker.info() : null,
    }));
  }

  /**
   * The ownership rule: the host may drive, close or re-attach every session; another connection
   * only the sessions attached to it, and — with session.attach — a detached one (its connection
   * went away and it waits for a re-attach). Unknown ids pass: the method itself answers them.
   */
  assertMayAct(id: string, clientId: string, method: string): void {
    const s = this.sessions.get(id);
    if (!s || clientId === HOST_CLIENT || s.attachedTo === clientId) return;
    if (s.attachedTo === null && method === 'session.attach') return;
    const whose = s.attachedTo === null ? 'no connection (detached): session.attach it first' : s.attachedTo === HOST_CLIENT ? 'the host' : 'another connection';
    throw new RpcError(RpcErrorCode.NotOwner, `${method}: session ${id} belongs to ${whose}`, { sessionId: id });
  }

  attach(id: string, clientId: string): Session {
    const s = this.require(id);
    s.attachedTo = clientId;
    if (s.reattachTimer) clearTimeout(s.reattachTimer);
    s.reattachTimer = undefined;
    return s;
  }

  /** A client went away: its closeOnDisconnect sessions close, the rest wait for a re-attach. */
  clientGone(clientId: string): void {
    for (const s of this.sessions.values()) {
      if (s.attachedTo !== clientId) continue;
      if (s.closeOnDisconnect) {
        void this.close(s.id, 'client-disconnected');
        continue;
      }
      s.attachedTo = null;
      s.reattachTimer = setTimeout(() => void this.close(s.id, 'reattach-timeout'), this.opts.reattachGraceMs);
    }
  }

  async exec(id: string, command: string): Promise<string> {
    const s = this.require(id);
    this.assertAccepting();
    s.busy++;
    this.touch(s);
    let worker: WorkerProcess | undefined;
    try {
      worker = await this.workerFor(s);
      this.emitState(s, worker);
      return await this.execOn(s, worker, command);
    } finally {
      s.busy--;
      if (!s.closed) this.touch(s);
      if (worker && s.worker === worker) this.emitState(s, worker);
    }
  }

  /** Live worker state for clients: its lifecycle state, whether a command runs, last activity. */
  private emitState(s: Session, w: WorkerProcess): void {
    this.opts.emit('worker.state', {
      sessionId: s.id, pid: w.pid, state: w.state, busy: s.busy > 0, lastActivityAt: w.lastActivityAt,
    });
  }

  private async execOn(s: Session, worker: WorkerProcess, command: string): Promise<string> {
    try {
      return await worker.exec(command, this.opts.slashTimeoutMs);
    } catch (e) {
      if (s.closed) throw new RpcError(RpcErrorCode.ServerError, `session ${s.id} was closed during the command`);
      if (e instanceof RpcError && (e.code === RpcErrorCode.RequestTimeout || e.code === RpcErrorCode.ServerError)) {
        // Timed out, died or broke the protocol: retire it; the next command gets a fresh one.
        this.retire(s, worker);
      }
      throw e;
    }
  }

  /** The one close path. Resolves true once the session's worker (and its group) is gone. */
  async close(id: string, reason: CloseReason): Promise<boolean> {
    const s = this.sessions.get(id);
    if (!s || s.closed) return false;
    s.closed = true;
    this.sessions.delete(id);
    if (s.idleTimer) clearTimeout(s.idleTimer);
    if (s.reattachTimer) clearTimeout(s.reattachTimer);
    // A worker still starting is in s.worker already, so it is closed here, not attached later.
    const worker = s.worker;
    s.worker = null;
    if (worker) await worker.close();
    if (s.starting) await s.starting.catch(() => undefined);
    this.opts.emit('session.closed', { sessionId: id, reason });
    this.opts.log(`session ${id} closed (${reason})`);
    return true;
  }

  /**
   * Every session and worker at once. First ONE sweep over all worker groups (SIGTERM, `graceMs`,
   * then SIGKILL until empty, one /proc scan per poll): a polite close per worker, each with its
   * own group kill and scans, made 50 workers take ~10× the bare kill time on 2 cores. A worker's
   * SIGTERM handler does what the polite request would: it takes its own children down. Then the
   * one close path per session, cheap now that the groups are empty.
   */
  async closeAll(reason: CloseReason, graceMs: number): Promise<void> {
    this.stopAccepting();
    const workers = [...this.liveWorkers].filter((w) => w.pgid !== null && !w.exitInfo);
    if (workers.length) {
      const r = await sweepGroups(workers.map((w) => ({ pgid: w.pgid!, leader: w.fingerprint })), { graceMs, timeoutMs: graceMs + 3000 });
      this.opts.log(`shutdown: swept ${workers.length} worker group(s) in ${Math.round(r.elapsedMs)} ms`);
      for (const why of r.refused) this.opts.log(`shutdown: ${why}`);
      if (r.survivors.length) this.opts.log(`shutdown: still alive after the sweep: ${r.survivors.join(', ')}`);
      else if (!r.refused.length) for (const w of workers) w.groupEmptied();
    }
    await Promise.all([
      ...[...this.sessions.keys()].map((id) => this.close(id, reason)),
      ...[...this.liveWorkers].map((w) => w.close()),
    ]);
  }

  private require(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw RpcError.invalidParams(`unknown or closed session ${JSON.stringify(id)}`);
    return s;
  }

  private assertAccepting(): void {
    if (!this.accepting) throw new RpcError(RpcErrorCode.ServerError, 'the gateway is shutting down');
  }

  /** Restarts the idle clock; it runs only while no command is in flight. */
  private touch(s: Session): void {
    if (s.idleTimer) clearTimeout(s.idleTimer);
    s.idleTimer = undefined;
    if (this.opts.workerIdleTimeoutMs > 0 && s.busy === 0) {
      s.idleTimer = setTimeout(() => void this.close(s.id, 'idle-timeout'), this.opts.workerIdleTimeoutMs);
    }
  }

  /** The session's worker, started on first use; concurrent callers share one start. */
  private workerFor(s: Session): Promise<WorkerProcess> {
    if (s.worker && s.worker.state === 'ready') return Promise.resolve(s.worker);
    s.starting ??= this.startWorker(s).finally(() => {
      s.starting = null;
    });
    return s.starting;
  }

  private async startWorker(s: Session): Promise<WorkerProcess> {
    const w = WorkerProcess.spawn({
      sessionId: s.id,
      workerPath: this.opts.workerPath,
      ownerMarker: this.opts.ownerMarker,
      owner: this.opts.owner,
      pollMs: this.opts.pollMs,
      idleTimeoutMs: this.opts.workerIdleTimeoutMs > 0 ? this.opts.workerIdleTimeoutMs + 60_000 : 0,
      log: this.opts.log,
    });
    this.liveWorkers.add(w);
    s.worker = w;
    const ids = { sessionId: s.id, pid: w.pid, startTime: w.fingerprint.startTime, pgid: w.pgid };
    this.opts.emit('worker.started', ids);
    void w.exited.then((e) => {
      this.liveWorkers.delete(w);
      if (s.worker === w) s.worker = null;
      this.opts.emit('worker.exited', { ...ids, code: e.code, signal: e.signal });
      // A worker killed outright (SIGKILL, OOM) could not take its /run children down; they are
      // still in its group. close() is idempotent and tears that group down (a no-op if empty).
      void w.close();
    });
    try {
      await w.waitReady(this.opts.workerStartTimeoutMs);
    } catch (e) {
      this.retire(s, w);
      throw e;
    }
    if (s.closed) {
      // hermes' create/close race: the session went away while this worker was starting.
      await w.close();
      throw new RpcError(RpcErrorCode.ServerError, `session ${s.id} was closed while its worker was starting`);
    }
    return w;
  }

  private retire(s: Session, w: WorkerProcess): void {
    if (s.worker === w) s.worker = null;
    void w.close();
  }
}
