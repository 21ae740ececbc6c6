// Sessions and their lazily started workers. The one close path is close(): session.close, a
// client's disconnect, the idle timeout, gateway shutdown and lifeline loss all end up here,
// and a second call answers false.
import { randomUUID } from 'node:crypto';
import { Fingerprint } from '../core/fingerprint';
import { describeProblems, teardown } from '../core/kill';
import type { Containment } from './cgroupContainment';
import { RpcError, RpcErrorCode } from '../core/rpc';
import { shutdownBoundMs } from '../core/timeouts';
import { limitReached } from './limits';
import { limitBytesOf, MemoryCeiling, memoryRestartError, RestartDecision, sampleIntervalMs, workerRestartedEvent } from './memoryCeiling';
import { assertMayAct, listedFor } from './sessionOwnership';
import { WorkerInfo, WorkerProcess } from './workerProcess';
import { WorkerSlots } from './workerSlots';
import { NamedWorker, notCurrentWorker } from './workerKillTarget';

export { HOST_CLIENT } from './sessionOwnership';

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
  /** The gateway's shutdown grace: what a worker gives its children when the shutdown's SIGTERM ends it. */
  shutdownGraceMs?: number;
  /** session.create is refused at once past this many open sessions. */
  maxSessions: number;
  /** Worker processes alive at once, starting and closing ones included. */
  maxWorkers: number;
  /** The gateway's line limit, passed on to each worker (its replies must fit the gateway's). */
  maxLineBytes?: number;
  /** A session whose processes together use more than this many MB is restarted (0 or absent: off). */
  workerMemoryMB?: number;
  /** cgroup containment: a leaf per session that its worker joins; absent or without a tree, process groups only. */
  containment?: Containment;
  emit(type: string, payload: Record<string, unknown>): void;
  log(message: string): void;
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  /** Sessions being closed (out of `sessions`, their session.closed not yet out). */
  private readonly closing = new Map<string, Session>();
  /** Every worker process not yet exited, attached or not (for status and the final sweep). */
  readonly liveWorkers = new Set<WorkerProcess>();
  private readonly slots: WorkerSlots;
  private accepting = true;
  /** The host-gone end said session.closed for every session (announceClosed). */
  private closedAnnounced = false;
  /** The memory ceiling per session (workerMemoryMB); sleeps while off or no worker lives. */
  readonly memoryCeiling: MemoryCeiling;
  /** Workers restarted by the ceiling: a command that was running in one says so. */
  private readonly restartedFor = new WeakMap<WorkerProcess, RestartDecision>();
  /**
   * Workers whose close has not finished: a session's close waits for its own (its answer says
   * they are gone), and with cgroup containment so does its next worker (their leaf teardown).
   */
  private readonly unfinished = new Set<WorkerProcess>();

  constructor(private readonly opts: SessionManagerOptions) {
    this.slots = new WorkerSlots(opts.maxWorkers);
    this.memoryCeiling = new MemoryCeiling({
      limitBytes: limitBytesOf(opts.workerMemoryMB ?? 0),
      intervalMs: sampleIntervalMs(opts.pollMs),
      workers: () => [...this.sessions.values()].flatMap((s) => {
        const w = s.worker;
        // In its leaf (cgroup containment): the leaf's own members and files, no /proc scan.
        const leaf = w?.contained ? w.cgroup?.leaf : undefined;
        return w && !s.closed && (w.state === 'ready' || w.state === 'starting') ? [{ sessionId: s.id, fingerprint: w.fingerprint, pgid: w.pgid, leaf }] : [];
      }),
      restart: (d) => this.restartForMemory(d),
      log: opts.log,
    });
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Workers running a command or starting for one (the rest are idle: eviction candidates). */
  get busyWorkers(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.worker && s.busy > 0) n++;
    return n;
  }

  stopAccepting(): void {
    this.accepting = false;
    this.memoryCeiling.dispose();
    this.slots.failWaiters(new RpcError(RpcErrorCode.ServerError, 'the gateway is shutting down'));
  }

  create(label: string | undefined, closeOnDisconnect: boolean, clientId: string): Session {
    this.assertAccepting();
    if (this.sessions.size >= this.opts.maxSessions) {
      const n = this.sessions.size;
      throw limitReached('maxSessions', this.opts.maxSessions, `${n} session${n === 1 ? ' is' : 's are'} open`, 'Close a session');
    }
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

  /** The sessions `clientId` may see (sessionOwnership.ts: the host all). */
  list(clientId: string): SessionSummary[] {
    return [...this.sessions.values()].filter((s) => listedFor(s.attachedTo, clientId)).map((s) => ({
      sessionId: s.id, label: s.label, closeOnDisconnect: s.closeOnDisconnect, createdAt: s.createdAt,
      attached: s.attachedTo !== null, worker: s.worker ? s.worker.info() : null,
    }));
  }

  /** The connection a session is attached to, until its session.closed is out (see Backend.sessionOwner). */
  ownerOf(id: string): string | null | undefined {
    return (this.sessions.get(id) ?? this.closing.get(id))?.attachedTo;
  }

  /** The ownership rule (sessionOwnership.ts); unknown ids pass: the method itself answers them. */
  assertMayAct(id: string, clientId: string, method: string): void {
    assertMayAct(this.sessions.get(id), id, clientId, method);
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
      const restart = this.restartedFor.get(worker);
      if (restart) throw memoryRestartError(s.id, worker.pid, restart);
      if (e instanceof RpcError && (e.code === RpcErrorCode.RequestTimeout || e.code === RpcErrorCode.ServerError)) {
        // Timed out, died or broke the protocol: retire it; the next command gets a fresh one.
        this.retire(s, worker);
      }
      throw e;
    }
  }

  /** The one close path. Resolves true once the session's workers (and their groups) are gone. */
  async close(id: string, reason: CloseReason): Promise<boolean> {
    const s = this.sessions.get(id);
    if (!s || s.closed) return false;
    s.closed = true;
    this.sessions.delete(id);
    // Its events (worker.exited, session.closed) still reach its connection.
    this.closing.set(id, s);
    if (s.idleTimer) clearTimeout(s.idleTimer);
    if (s.reattachTimer) clearTimeout(s.reattachTimer);
    try {
      // A worker still starting is in s.worker already, so it is closed here, not attached later.
      const worker = s.worker;
      s.worker = null;
      if (worker) await worker.close();
      if (s.starting) await s.starting.catch(() => undefined);
      // Its earlier workers (retired after a timeout, evicted, killed, restarted) close in the
      // background: gone too before the answer, their worker.exited still to its connection.
      await this.earlierClosed(s);
      await this.opts.containment?.dropSessionLeaf(id);
      if (!this.closedAnnounced) this.opts.emit('session.closed', { sessionId: id, reason });
    } finally {
      this.closing.delete(id);
    }
    this.opts.log(`session ${id} closed (${reason})`);
    return true;
  }

  /**
   * Every session and worker at once. First ONE sweep over all worker groups (SIGTERM, `graceMs`,
   * then SIGKILL until empty, one /proc scan per poll): a polite close per worker, each with its
   * own group kill and scans, made 50 workers take ~10× the bare kill time on 2 cores. A worker's
   * SIGTERM handler does what the polite request would: it takes its own children down (in its
   * cgroup leaf a worker has none: SIGTERM ends it at once, and the sweep takes the leaf). Then
   * the one close path per session, cheap now that the groups are empty.
   */
  async closeAll(reason: CloseReason, graceMs: number): Promise<void> {
    this.stopAccepting();
    const workers = [...this.liveWorkers].filter((w) => w.pgid !== null && !w.exitInfo);
    const c = this.opts.containment;
    // The host is gone with cgroup containment: the whole tree (every leaf: a worker's, one whose
    // worker exited, an empty one; see Containment.endHostGone) — the kernel's lists, no /proc
    // scan — and a worker that never joined its leaf by its group. The grace stays for whoever
    // handles SIGTERM (the short lifeline grace); the tree ends with one cgroup.kill.
    const hostGone = reason === 'lifeline' && c?.kind === 'cgroup';
    if (workers.length || hostGone) {
      // Host gone: blocking (no timer, no event-loop latency between the polls of a loaded
      // machine; there is nothing else to serve). Ending at once skips the close path: its
      // session.closed (what an attach client that owns a session waits for) is sent before the
      // end, and reaches the socket before it.
      const sweep = (hostGone
        ? Promise.resolve(c.endHostGone(() => this.announceClosed(reason), graceMs, workers.filter((w) => !w.contained).map((w) => w.target)))
        : teardown(workers.flatMap((w) => w.targets), { graceMs, timeoutMs: shutdownBoundMs(graceMs) })).then((r) => {
        this.opts.log(`shutdown: swept ${hostGone ? 'the cgroup tree' : `${workers.length} worker group(s)`} in ${Math.round(r.elapsedMs)} ms`);
        const problems = describeProblems(r);
        if (problems) this.opts.log(`shutdown: ${problems}`);
        return !problems;
      });
      for (const w of workers) w.sweptBy(sweep, hostGone);
      await sweep;
    }
    await Promise.all([
      ...[...this.sessions.keys()].map((id) => this.close(id, reason)),
      ...[...this.liveWorkers].map((w) => w.close()),
    ]);
  }

  /**
   * session.closed for every session, without closing it (the host-gone end: all of it is dead
   * already). Said once: when the end did not come after all, the close path that follows does
   * not say it again.
   */
  private announceClosed(reason: CloseReason): void {
    this.closedAnnounced = true;
    for (const id of this.sessions.keys()) this.opts.emit('session.closed', { sessionId: id, reason });
  }

  /**
   * worker.kill: the session's worker group ends now (SIGTERM, grace, SIGKILL until empty; no
   * polite request). The session stays; its next command starts a new worker.
   */
  async killWorker(id: string, named?: NamedWorker): Promise<Record<string, unknown>> {
    const s = this.require(id);
    const w = s.worker && !s.worker.exitInfo ? s.worker : null;
    const ids = w ? { pid: w.pid, startTime: w.fingerprint.startTime, pgid: w.pgid } : null;
    // Checked and acted on in one turn of the loop: the session cannot get a new worker between.
    const refused = notCurrentWorker(id, named, ids);
    if (refused) return refused;
    if (!w || !ids) return { sessionId: id, killed: false, worker: null };
    s.worker = null;
    const r = await w.close(false);
    const problems = r ? describeProblems(r) : '';
    if (problems) throw new RpcError(RpcErrorCode.ServerError, `worker ${w.pid} of session ${id} was not killed: ${problems}`, ids);
    return { sessionId: id, killed: true, worker: ids, survivors: r?.survivors ?? [], elapsedMs: Math.round(r?.elapsedMs ?? 0) };
  }

  /**
   * The memory ceiling's restart: `worker.restarted` says why, with the numbers (its
   * worker.exited follows, as after worker.evicted); then the session's worker and everything it
   * started go down (SIGTERM, grace, SIGKILL until empty — as worker.kill). The session stays and
   * its next command starts a new worker.
   */
  private async restartForMemory(d: RestartDecision): Promise<void> {
    const s = this.sessions.get(d.sessionId);
    const w = s?.worker;
    if (!s || s.closed || !w || w.pid !== d.pid || w.exitInfo) return;
    s.worker = null;
    this.restartedFor.set(w, d);
    this.opts.emit('worker.restarted', workerRestartedEvent(d, w.fingerprint.startTime));
    const r = await w.close(false);
    const problems = r ? describeProblems(r) : '';
    if (problems) this.opts.log(`memory ceiling: worker ${w.pid} of session ${s.id}: ${problems}`);
    else this.opts.log(`memory ceiling: worker ${w.pid} of session ${s.id} and its ${r?.processes.length ?? 0} process(es) taken down in ${Math.round(r?.elapsedMs ?? 0)} ms`);
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
    await this.takeSlot();
    let w: WorkerProcess;
    try {
      // The session may have closed (or the gateway begun shutting down) while the slot was freed.
      if (s.closed) throw new RpcError(RpcErrorCode.ServerError, `session ${s.id} was closed while waiting for a worker slot`);
      this.assertAccepting();
      const cgroup = await this.leafFor(s);
      // Where the leaf has a memory controller, memory.max holds the ceiling before anything runs.
      if (cgroup) this.memoryCeiling.leafReady(cgroup.leaf);
      w = WorkerProcess.spawn({
        cgroup,
        sessionId: s.id,
        workerPath: this.opts.workerPath,
        ownerMarker: this.opts.ownerMarker,
        owner: this.opts.owner,
        pollMs: this.opts.pollMs,
        idleTimeoutMs: this.opts.workerIdleTimeoutMs > 0 ? this.opts.workerIdleTimeoutMs + 60_000 : 0,
        exitGraceMs: this.opts.shutdownGraceMs,
        maxLineBytes: this.opts.maxLineBytes,
        log: this.opts.log,
      });
    } catch (e) {
      this.slots.release();
      throw e;
    }
    this.liveWorkers.add(w);
    this.unfinished.add(w);
    s.worker = w;
    const ids = { sessionId: s.id, pid: w.pid, startTime: w.fingerprint.startTime, pgid: w.pgid };
    this.opts.emit('worker.started', ids);
    this.memoryCeiling.wake();
    void w.exited.then((e) => {
      this.liveWorkers.delete(w);
      this.slots.release(); // the process is gone (reaped): its slot may start another
      if (s.worker === w) s.worker = null;
      this.opts.emit('worker.exited', { ...ids, code: e.code, signal: e.signal });
      // A worker killed outright (SIGKILL, OOM) could not take its /run children down; they are
      // still in its group. close() is idempotent and tears that group down (a no-op if empty).
      void w.close().finally(() => this.unfinished.delete(w));
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

  /**
   * With cgroup containment, the session's leaf for its next worker — once every earlier worker
   * of the session is closed: a leaf teardown still running (cgroup.kill) would take the new
   * worker with it. Undefined without containment (then nothing is waited for).
   */
  private async leafFor(s: Session): Promise<{ leaf: string; parent: string } | undefined> {
    const c = this.opts.containment;
    if (c?.kind !== 'cgroup') return undefined;
    await this.earlierClosed(s);
    if (s.closed) throw new RpcError(RpcErrorCode.ServerError, `session ${s.id} was closed while waiting for a worker slot`);
    this.assertAccepting();
    const leaf = c.sessionLeaf(s.id);
    return leaf !== undefined && c.tree ? { leaf, parent: c.tree.parentDir } : undefined;
  }

  /**
   * Once every worker of the session but its current one has finished its close (each bounded:
   * the polite request, the group teardown, the wait for its exit). Their close is under way
   * already; close() is idempotent, so this only waits.
   */
  private async earlierClosed(s: Session): Promise<void> {
    const earlier = [...this.unfinished].filter((w) => w.sessionId === s.id && w !== s.worker);
    if (earlier.length) await Promise.all(earlier.map((w) => w.close().catch(() => undefined)));
  }

  /**
   * A slot for a new worker, or a refusal at once. Free slot: taken. Otherwise, if a worker is on
   * its way out that no other start waits for, wait for its exit. Otherwise stop the least
   * recently used idle worker (its session stays; its next command starts a new worker) and wait
   * for its exit. Every worker busy: LimitReached, without waiting.
   */
  private takeSlot(): Promise<void> {
    if (this.slots.tryTake()) return Promise.resolve();
    const max = this.opts.maxWorkers;
    let leaving = 0;
    for (const w of this.liveWorkers) if (w.state === 'closing' || w.state === 'exited') leaving++;
    if (leaving <= this.slots.waiting) {
      const victim = this.leastRecentlyUsedIdle();
      if (!victim) {
        return Promise.reject(limitReached('maxWorkers', max, `all ${max} workers are busy`, 'Wait for a command to finish'));
      }
      this.evict(victim);
    }
    return this.slots.waitForRelease(this.opts.workerStartTimeoutMs, () =>
      limitReached('maxWorkers', max, `all ${max} workers are busy and none exited within ${this.opts.workerStartTimeoutMs} ms`, 'Try again'),
    );
  }

  private leastRecentlyUsedIdle(): Session | undefined {
    let best: Session | undefined;
    for (const s of this.sessions.values()) {
      if (s.closed || s.busy > 0 || s.starting || s.worker?.state !== 'ready') continue;
      if (!best || s.worker.lastActivityAt < best.worker!.lastActivityAt) best = s;
    }
    return best;
  }

  /** Stops an idle session's worker to make room; the session stays and gets a new one on demand. */
  private evict(s: Session): void {
    const w = s.worker!;
    s.worker = null;
    this.opts.emit('worker.evicted', {
      sessionId: s.id, pid: w.pid, startTime: w.fingerprint.startTime, reason: 'worker-cap', limit: this.opts.maxWorkers,
      idleMs: Date.now() - w.lastActivityAt,
    });
    this.opts.log(`worker ${w.pid} of session ${s.id} stopped: least recently used idle worker at the cap of ${this.opts.maxWorkers}`);
    void w.close();
  }

  private retire(s: Session, w: WorkerProcess): void {
    if (s.worker === w) s.worker = null;
    void w.close();
  }
}
