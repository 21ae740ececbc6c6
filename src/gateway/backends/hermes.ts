// The hermes backend: hermes-agent's own gateway (`python3 -m tui_gateway.entry`) as the
// gateway's child, translated to the Warden protocol. Our sessions are hermes' sessions
// (`sessionId` = hermes' `session_id`); session.create/close and slash.exec map one to one;
// session.list is session.active_list joined with the slash workers found in the process table
// (hermesWorkers.ts), which are reported with worker.started / worker.exited like our own, and
// whose stale ones are taken down. hermes' own events reach clients as backend.event, and
// backend.call reaches any other hermes method. hermes' own exit is never relied on: on shutdown
// and lifeline loss its gateway, every worker group and everything carrying our tag are swept —
// with cgroup containment, the `program` leaf hermes runs in (its workers and theirs with it).
import { delay } from '../../core/emitter';
import { Fingerprint } from '../../core/fingerprint';
import type { Target } from '../../core/kill';
import { RpcError, RpcErrorCode } from '../../core/rpc';
import type { Containment } from '../cgroupContainment';
import { limitReached } from '../limits';
import { limitBytesOf, MemoryCeiling, memoryRestartError, RestartDecision, sampleIntervalMs, workerRestartedEvent } from '../memoryCeiling';
import type { GatewayOptions } from '../options';
import { assertMayAct, HOST_CLIENT, listedFor } from '../sessionOwnership';
import { NamedWorker, notCurrentWorker } from '../workerKillTarget';
import { Backend, BackendHost, GatewayCounts, KnownProcess, SessionCloseReason, ShutdownReason } from './backend';
import type { BackendSpec } from './backendOptions';
import { checkHermesCallParams } from './hermesCallParams';
import { HermesLink, HermesNotification } from './hermesLink';
import { fromHermesActiveList, fromHermesClose, fromHermesCreate, fromHermesSlashExec, HermesErrorCode, HermesLiveSession, toHermesCreate, toHermesSlashExec } from './hermesProtocol';
import { ActiveListSchedule } from './hermesActiveListSchedule';
import { HermesWorker, HermesWorkerTracker, WorkerTakeDown } from './hermesWorkers';
import { ForeignProgram, notStartedInfo } from './program';
import { endTreeWithHost, takeDownProgram, takeDownProgramSync } from './programTeardown';

const EXPECTED = 'hermes-agent\'s gateway.ready event (is hermes-agent installed for that interpreter, and importable from that working directory?)';
/** Inline hermes methods (session.create/close/active_list) answer in milliseconds; a close waits for its worker (≤ 2 s). */
const REQUEST_TIMEOUT_MS = 15_000;
const ACTIVE_LIST_TIMEOUT_MS = 5_000;
/** slash.exec may first wait for the session's agent build (hermes gives it 30 s). */
const AGENT_BUILD_WAIT_MS = 30_000;
/** A requested shutdown gives hermes' own session.close this long before the sweep. */
const POLITE_CLOSE_MS = 1_000;
/** SIGTERM grace of worker.kill and of what the hermes gateway left when it exited. */
const KILL_GRACE_MS = 500;

interface HermesSession {
  sessionId: string;
  label: string;
  closeOnDisconnect: boolean;
  createdAt: number;
  /** The client connection it belongs to; null while detached. */
  attachedTo: string | null;
  /** Its worker's --session-key (hermes' stored session id; can change on auto-compression). */
  sessionKey: string;
  status?: string;
  model?: string;
  busy: number;
  lastActivityAt: number;
  reattachTimer?: NodeJS.Timeout;
  closing?: Promise<boolean>;
  /**
   * The worker worker.kill took down (pid:startTime) while hermes still holds it as the session's
   * worker: hermes learns of its death only when the next slash.exec fails (5030), then starts a
   * new one with the command after. That one failure is ours to absorb (see exec).
   */
  killedWorker?: string;
  /** The latest restart of its worker at the memory ceiling (a command it cut off says so). */
  restartedFor?: RestartDecision;
}

/** backend.call methods after which hermes has one more live session (each with its worker). */
const MAKES_A_SESSION: ReadonlySet<string> = new Set(['session.create', 'session.resume']);

/** A session.create on its way to hermes, holding its place under --max-sessions (withSessionSlot). */
interface PendingCreate {
  clientId: string;
  /** Its client disconnected meanwhile: the session meets clientGone's rule once it is ours. */
  clientGone: boolean;
}

export class HermesBackend implements Backend {
  readonly name = 'hermes' as const;
  private program?: ForeignProgram;
  private link?: HermesLink;
  private startup?: Promise<void>;
  private readonly sessions = new Map<string, HermesSession>();
  private readonly pendingCreates = new Set<PendingCreate>();
  private readonly workers: HermesWorkerTracker;
  private accepting = true;
  private stopping = false;
  /** The host-gone end said session.closed for every session (announceClosed). */
  private closedAnnounced = false;
  private pollTimer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private queuedRefresh?: Promise<void>;
  private activeListFailures = 0;
  private readonly activeListSchedule: ActiveListSchedule;
  /** gatewayWarden.limits.workerMemoryMB for hermes' workers: each session's leaf (or the worker's group) sampled. */
  private readonly memoryCeiling: MemoryCeiling;

  constructor(
    private readonly spec: BackendSpec,
    private readonly options: GatewayOptions,
    private readonly ownerMarker: string,
    private readonly host: BackendHost,
    private readonly containment?: Containment,
  ) {
    const c = containment;
    this.workers = new HermesWorkerTracker({
      host, staleWorkerGraceMs: spec.staleWorkerGraceMs, staleCheckIntervalMs: options.pollMs,
      sessionLive: (id) => this.sessions.has(id),
      // With cgroup containment each worker found with a live session moves into its session's leaf.
      leaves: c && {
        adopt: (w) => {
          const leaf = this.program?.cgroup ? c.adoptIntoSessionLeaf(w.sessionId, w, this.program.cgroup) : undefined;
          if (leaf !== undefined) this.memoryCeiling.leafReady(leaf);
          return leaf;
        },
        target: (leaf) => c.leafTarget(leaf),
      },
    });
    this.memoryCeiling = new MemoryCeiling({
      limitBytes: limitBytesOf(options.workerMemoryMB),
      intervalMs: sampleIntervalMs(options.pollMs),
      workers: () => this.workers.workers().flatMap((w) => {
        const s = w.sessionId !== null ? this.sessions.get(w.sessionId) : undefined;
        if (!s || s.closing || w.stale || w.reaping) return [];
        // Its own group only when it leads one (current hermes); older hermes' workers share the
        // program's group: without a leaf they are not sampled. A leaf another live worker shares
        // (a leaked predecessor) is not its alone: sampling it would restart it for the other's memory.
        return [{ sessionId: s.sessionId, fingerprint: this.workers.fingerprint(w), pgid: w.pgid === w.pid ? w.pgid : null, leaf: this.workers.leafOf(w) }];
      }),
      restart: (d) => this.restartForMemory(d),
      log: (m) => host.log(m),
    });
    this.activeListSchedule = new ActiveListSchedule(options.pollMs);
  }

  start(): Promise<void> {
    this.startup ??= this.doStart();
    return this.startup;
  }

  private async doStart(): Promise<void> {
    if (this.stopping) return;
    const p = new ForeignProgram({
      backend: 'hermes',
      command: this.spec.command,
      cwd: this.spec.cwd,
      ownerMarker: this.ownerMarker,
      expected: EXPECTED,
      outputNote: () => this.link?.noiseNote() ?? '',
      cgroupLeaf: this.containment?.programLeaf(),
      log: (m) => this.host.log(m),
    });
    this.program = p;
    p.onState(() => this.stateChanged());
    if (p.state === 'failed' || !p.child) {
      this.stateChanged();
      return;
    }
    this.host.log(`hermes: started ${p.what()} as pid ${p.pid}${p.cgroup ? ` in cgroup ${p.cgroup}` : ''}; waiting up to ${this.spec.startTimeoutMs} ms for its gateway.ready`);
    const link = new HermesLink(p.child.stdout!, p.child.stdin!, this.options.maxLineBytes, (m) => this.host.log(m));
    this.link = link;
    link.onNotification((n) => this.onHermesEvent(n));
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      link.ready.then(() => 'ready' as const),
      p.exited.then(() => 'exited' as const),
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.spec.startTimeoutMs))),
    ]);
    clearTimeout(timer);
    void p.exited.then(() => this.afterExit());
    if (outcome === 'ready' && p.alive && !this.stopping) {
      p.markRunning();
      this.pollTimer = setInterval(() => this.poll(), this.options.pollMs);
      this.pollTimer.unref();
      await this.refresh();
      return;
    }
    if (outcome === 'timeout') {
      p.fail(`no gateway.ready within ${seconds(this.spec.startTimeoutMs)} from ${p.what()}; is hermes-agent installed for that interpreter (and importable from that working directory)?${link.noiseNote()}${p.tailNote()}`);
      // Not a hermes gateway (or a hung one): nothing it started may stay.
      const r = await takeDownProgram([], KILL_GRACE_MS, this.roots(), this.leaves());
      this.host.log(`hermes: took down ${r.processes} process(es) of the program that did not come up`);
    }
  }

  private stateChanged(): void {
    const info = this.program?.info();
    if (!info) return;
    if (info.error) this.host.log(`hermes: ${info.error}`);
    else this.host.log(`hermes: the hermes gateway (pid ${info.pid}) is ${info.state}`);
    this.host.emit('backend.state', { backend: 'hermes', state: info.state, pid: info.pid, startTime: info.startTime, error: info.error, exit: info.exit });
  }

  /** The hermes gateway exited while we were not stopping: everything it started is an orphan now. */
  private async afterExit(): Promise<void> {
    clearInterval(this.pollTimer);
    this.link?.peer.dispose('the hermes gateway exited');
    if (this.stopping) return;
    const r = await takeDownProgram(this.workers.groupTargets(), KILL_GRACE_MS, this.roots(), this.leaves());
    this.host.log(`hermes: the hermes gateway exited; took down ${r.processes} process(es) and ${r.groups} worker group(s) it left`);
    this.workers.forgetAll('gone with the hermes gateway');
    for (const s of [...this.sessions.values()]) this.dropSession(s, 'backend-exited');
  }

  private onHermesEvent(n: HermesNotification): void {
    this.host.emit('backend.event', { backend: 'hermes', event: n.raw });
    // hermes says session.info once a session's agent is built, which is when its worker starts.
    if (n.type === 'session.info' && this.program?.state === 'running') void this.refresh();
  }

  // ---- requests ----------------------------------------------------------------------------

  async createSession(params: { label?: string; closeOnDisconnect: boolean }, clientId: string): Promise<{ sessionId: string }> {
    this.assertAccepting();
    const mapped = toHermesCreate({ label: params.label, closeOnDisconnect: params.closeOnDisconnect });
    if (!mapped.ok) throw RpcError.invalidParams(`session.create: ${mapped.message}`);
    return this.withSessionSlot(clientId, async (pending) => {
      await this.readyToCreate(pending, 'session.create');
      const created = fromHermesCreate(await this.request('session.create', mapped.value, REQUEST_TIMEOUT_MS));
      if (!created.ok) throw new RpcError(RpcErrorCode.ServerError, `hermes: ${created.message}`, { backend: 'hermes' });
      await this.refuseIfStopping(created.value.sessionId);
      const now = Date.now();
      const s: HermesSession = {
        sessionId: created.value.sessionId,
        label: params.label ?? `session ${this.sessions.size + 1}`,
        closeOnDisconnect: params.closeOnDisconnect,
        createdAt: now,
        attachedTo: clientId,
        sessionKey: created.value.storedSessionId,
        model: created.value.model,
        busy: 0,
        lastActivityAt: now,
      };
      this.sessions.set(s.sessionId, s);
      this.host.emit('session.created', { sessionId: s.sessionId, label: s.label, closeOnDisconnect: s.closeOnDisconnect, createdAt: s.createdAt });
      if (pending.clientGone) this.clientLeft(s);
      return { sessionId: s.sessionId };
    });
  }

  /**
   * The one --max-sessions check, for session.create and backend.call's: JsonRpcPeer runs
   * requests concurrently, so a slot is taken before hermes is asked (each create it answers
   * starts a ~44 MB worker) and given back only once `create` has put the session in our map, or
   * failed.
   */
  private async withSessionSlot<T>(clientId: string, create: (pending: PendingCreate) => Promise<T>): Promise<T> {
    const n = this.sessions.size + this.pendingCreates.size;
    if (n >= this.options.maxSessions) {
      const opening = this.pendingCreates.size > 0 ? ' (some still being created)' : '';
      throw limitReached('maxSessions', this.options.maxSessions, `${n} session${n === 1 ? ' is' : 's are'} open${opening}`, 'Close a session');
    }
    const pending: PendingCreate = { clientId, clientGone: false };
    this.pendingCreates.add(pending);
    try {
      return await create(pending);
    } finally {
      this.pendingCreates.delete(pending);
    }
  }

  /**
   * hermes up for a create holding its slot. The slot is taken before this wait (up to the start
   * timeout), so a client that leaves meanwhile is marked by clientGone: hermes never makes a
   * session (and its worker) for a connection that is gone.
   */
  private async readyToCreate(pending: PendingCreate, method: string): Promise<void> {
    await this.ready();
    this.assertAccepting();
    if (pending.clientGone) throw new RpcError(RpcErrorCode.ConnectionClosed, `${method} not sent to hermes: the client disconnected while hermes was starting`);
  }

  /**
   * Shutdown began while hermes made this session: its closes and sweep work from the sessions
   * they saw, so it is closed in hermes here, never added, and the create refused.
   */
  private async refuseIfStopping(sessionId: string): Promise<void> {
    if (this.accepting) return;
    await this.request('session.close', { session_id: sessionId }, POLITE_CLOSE_MS).catch(() => undefined);
    throw shuttingDown();
  }

  async closeSession(sessionId: string, reason: SessionCloseReason, clientId: string): Promise<boolean> {
    this.assertMayAct(sessionId, clientId, 'session.close');
    const s = this.sessions.get(sessionId);
    if (s) {
      if (s.closing) {
        await s.closing;
        return false;
      }
      s.closing = this.close(s, reason);
      return s.closing;
    }
    // Not one of ours (yet): a session created inside hermes since the last look is still closed.
    if (!this.linkUp()) return false;
    const r = fromHermesClose(await this.request('session.close', { session_id: sessionId }, REQUEST_TIMEOUT_MS));
    if (r.ok && r.value.closed) {
      this.host.emit('session.closed', { sessionId, reason });
      await this.refresh();
    }
    return r.ok && r.value.closed;
  }

  /** The one close path of a known session: hermes' close, then its worker's group swept. */
  private async close(s: HermesSession, reason: SessionCloseReason): Promise<boolean> {
    if (s.reattachTimer) clearTimeout(s.reattachTimer);
    const worker = this.workers.workerOf(s.sessionId);
    if (this.linkUp()) {
      try {
        await this.request('session.close', { session_id: s.sessionId }, REQUEST_TIMEOUT_MS);
      } catch (e) {
        this.host.log(`hermes: session.close of ${s.sessionId} failed (${(e as Error).message}); taking its worker down`);
      }
    }
    // hermes ends a worker per pid (SIGTERM, 1 s, SIGKILL): its own children can survive it.
    if (worker) await this.takeDownWorker(worker);
    // What an earlier worker of the session left in its leaf (one that exited on its own, or a
    // worker not found yet) goes with the session — unless another live worker holds that leaf
    // (dropSession then takes it once that one is gone).
    const leaf = this.containment?.existingLeaf(s.sessionId);
    if (leaf !== undefined && !this.workers.holdsLeaf(leaf, worker)) await this.containment?.dropSessionLeaf(s.sessionId);
    if (this.program?.alive) await this.refresh();
    this.dropSession(s, reason);
    return true;
  }

  /**
   * session.closed for every session, without closing it (the host-gone end: all of it is dead
   * already). Said once: when the end did not come after all, dropSession does not say it again.
   */
  private announceClosed(reason: SessionCloseReason): void {
    this.closedAnnounced = true;
    for (const s of this.sessions.values()) this.host.emit('session.closed', { sessionId: s.sessionId, reason });
  }

  private dropSession(s: HermesSession, reason: SessionCloseReason): void {
    if (s.reattachTimer) clearTimeout(s.reattachTimer);
    if (this.sessions.get(s.sessionId) !== s) return;
    // Out before the delete: its connection (sessionOwner) still gets it.
    if (!this.closedAnnounced) this.host.emit('session.closed', { sessionId: s.sessionId, reason });
    this.sessions.delete(s.sessionId);
    this.host.log(`hermes session ${s.sessionId} closed (${reason})`);
    // Closed inside hermes, or with it: what is left in the session's leaf goes too (a no-op after
    // close()) — unless its worker still lives in it: a stale worker (hermes #21467) is the stale
    // rule's, reported and taken down with its leaf after --stale-worker-grace-ms, or only reported.
    const leaf = this.containment?.existingLeaf(s.sessionId);
    if (leaf !== undefined && !this.workers.holdsLeaf(leaf)) void this.containment?.dropSessionLeaf(s.sessionId);
  }

  async attachSession(sessionId: string, clientId: string): Promise<{ sessionId: string; attached: true }> {
    this.assertMayAct(sessionId, clientId, 'session.attach');
    const s = this.sessions.get(sessionId);
    if (!s || s.closing) throw RpcError.invalidParams(`unknown or closed session ${JSON.stringify(sessionId)}`);
    s.attachedTo = clientId;
    if (s.reattachTimer) clearTimeout(s.reattachTimer);
    s.reattachTimer = undefined;
    return { sessionId, attached: true };
  }

  async listSessions(clientId: string): Promise<Record<string, unknown>> {
    await this.ready();
    await this.refresh();
    return {
      sessions: [...this.sessions.values()].filter((s) => !s.closing && listedFor(s.attachedTo, clientId)).map((s) => this.summary(s)),
      staleWorkers: this.staleSummary(),
    };
  }

  async exec(sessionId: string, command: string, clientId: string): Promise<Record<string, unknown>> {
    this.assertMayAct(sessionId, clientId, 'slash.exec');
    await this.ready();
    this.assertAccepting();
    const mapped = toHermesSlashExec(sessionId, command);
    if (!mapped.ok) throw RpcError.invalidParams(`slash.exec: ${mapped.message}`);
    const s = this.sessions.get(sessionId);
    if (s) {
      s.busy++;
      s.lastActivityAt = Date.now();
      this.emitState(s);
    }
    const restartedBefore = s?.restartedFor;
    try {
      const r = fromHermesSlashExec(await this.slashExec(s, mapped.value));
      if (!r.ok) throw new RpcError(RpcErrorCode.ServerError, `hermes: ${r.message}`, { backend: 'hermes' });
      return r.value;
    } catch (e) {
      // A command cut off by its session's close says so, not what hermes' dying worker said.
      if (s?.closing && e instanceof RpcError && e.code === RpcErrorCode.ServerError) {
        throw new RpcError(RpcErrorCode.ServerError, `session ${sessionId} was closed during the command`, { backend: 'hermes', ...(e.data as object) });
      }
      // …and one cut off by its worker's restart at the memory ceiling, why.
      const restart = s?.restartedFor;
      if (restart && restart !== restartedBefore && e instanceof RpcError && e.code === RpcErrorCode.ServerError) throw memoryRestartError(sessionId, restart.pid, restart);
      throw e;
    } finally {
      if (s) {
        s.busy--;
        s.lastActivityAt = Date.now();
      }
      // `/model` restarts the worker: the session may have a new pid now.
      void this.refresh().then(() => s && this.emitState(s));
    }
  }

  /**
   * hermes' slash.exec. When worker.kill took the session's worker down, hermes still holds it
   * and fails the next command once ("slash worker exited", 5030) before it starts a new worker:
   * the command never reached a live worker, so it is sent once more, and runs in the new one.
   * Only a command sent after the kill is: one already running met the kill itself.
   */
  private async slashExec(s: HermesSession | undefined, params: { session_id: string; command: string }): Promise<unknown> {
    const timeoutMs = this.options.slashTimeoutMs + AGENT_BUILD_WAIT_MS;
    const killed = s?.killedWorker;
    try {
      return await this.request('slash.exec', params, timeoutMs);
    } catch (e) {
      const hermesCode = e instanceof RpcError ? (e.data as { hermesCode?: unknown } | undefined)?.hermesCode : undefined;
      if (!s || hermesCode !== HermesErrorCode.SlashWorkerFailed) throw e;
      // hermes drops the worker of any command it fails so: whichever command met the killed
      // worker's death (one running through the kill, too), hermes holds it no more, and a later
      // 5030 is a new worker's own failure — never a reason to run its command twice.
      s.killedWorker = undefined;
      if (killed === undefined || s.closing) throw e;
      this.host.log(`hermes session ${s.sessionId}: hermes still held the worker worker.kill ended (${(e as Error).message}); sending the command again to its new worker`);
      return await this.request('slash.exec', params, timeoutMs);
    } finally {
      // Whatever the answer, hermes has now dropped the killed worker (a success means it had already).
      if (s && s.killedWorker === killed) s.killedWorker = undefined;
    }
  }

  async killWorker(sessionId: string, clientId: string, named?: NamedWorker): Promise<Record<string, unknown>> {
    this.assertMayAct(sessionId, clientId, 'worker.kill');
    await this.ready();
    if (!this.sessions.has(sessionId)) throw RpcError.invalidParams(`unknown or closed session ${JSON.stringify(sessionId)}`);
    await this.refresh();
    const w = this.workers.workerOf(sessionId);
    // After the refresh, with no wait before endWorker: the worker compared is the one signalled.
    const refused = notCurrentWorker(sessionId, named, w ? { pid: w.pid, startTime: w.startTime, pgid: w.pgid } : null);
    if (refused) return refused;
    if (!w) return { sessionId, killed: false, worker: null };
    const ids = { pid: w.pid, startTime: w.startTime, pgid: w.pgid };
    const r = await this.endWorker(sessionId, w);
    if (r.problem) throw new RpcError(RpcErrorCode.ServerError, `worker ${w.pid} of session ${sessionId} was not killed: ${r.problem}`, ids);
    return { sessionId, killed: true, worker: ids, survivors: r.survivors, elapsedMs: r.elapsedMs };
  }

  /**
   * A session's worker taken down, the session kept (worker.kill, the memory ceiling): hermes
   * still holds it and starts a new one at the session's next command (see slashExec).
   */
  private async endWorker(sessionId: string, w: HermesWorker): Promise<WorkerTakeDown> {
    // Marked before the signals: a command sent while the teardown still waits (for its leaf to
    // read empty, say) already meets hermes' one failure for the dead worker.
    const s = this.sessions.get(sessionId);
    const id = `${w.pid}:${w.startTime}`;
    if (s) s.killedWorker = id;
    const r = await this.takeDownWorker(w);
    // Not ended: a 5030 from it later is its own failure, and the command is not sent again.
    if (s && r.problem && s.killedWorker === id) s.killedWorker = undefined;
    await this.refresh();
    return r;
  }

  /** The memory ceiling's restart: worker.restarted, then the worker and everything it started taken down. */
  private async restartForMemory(d: RestartDecision): Promise<void> {
    const s = this.sessions.get(d.sessionId);
    const w = this.workers.workerOf(d.sessionId);
    if (!s || s.closing || !w || w.pid !== d.pid) return;
    s.restartedFor = d;
    this.host.emit('worker.restarted', workerRestartedEvent(d, w.startTime));
    const r = await this.endWorker(d.sessionId, w);
    this.host.log(`memory ceiling: hermes worker ${w.pid} of session ${d.sessionId} ${r.problem ? `not taken down: ${r.problem}` : `taken down in ${r.elapsedMs} ms`}`);
  }

  async call(method: string, params: unknown): Promise<unknown> {
    // A bad type in a known method can end the whole hermes gateway (hermesCallParams.ts).
    const checked = checkHermesCallParams(method, params);
    if (!checked.ok) throw RpcError.invalidParams(`backend.call: ${checked.message}`, { backend: 'hermes', method });
    if (!MAKES_A_SESSION.has(method)) {
      await this.ready();
      this.assertAccepting();
      // It may have closed sessions: our view follows hermes'.
      return this.passThrough(method, params).finally(() => void this.refresh());
    }
    // A session made inside hermes (a create, or a resume: a stored session opened as a new live
    // one) is one of ours the next moment (the refresh adopts it): the same cap applies, its slot
    // held until it is adopted.
    return this.withSessionSlot(HOST_CLIENT, async (pending) => {
      await this.readyToCreate(pending, method);
      try {
        const result = await this.passThrough(method, params);
        const created = fromHermesCreate(result);
        if (created.ok) await this.refuseIfStopping(created.value.sessionId);
        return result;
      } finally {
        await this.refresh();
      }
    });
  }

  /** Passed through as it is: hermes' own result, hermes' own error. */
  private async passThrough(method: string, params: unknown): Promise<unknown> {
    try {
      return await this.link!.request(method, params, { timeoutMs: this.options.slashTimeoutMs + AGENT_BUILD_WAIT_MS });
    } catch (e) {
      if (e instanceof RpcError && (e.code === RpcErrorCode.ConnectionClosed || e.code === RpcErrorCode.RequestTimeout)) throw this.mapError(e, method);
      throw e;
    }
  }

  clientGone(clientId: string): void {
    for (const s of this.sessions.values()) if (s.attachedTo === clientId && !s.closing) this.clientLeft(s);
    for (const p of this.pendingCreates) if (p.clientId === clientId) p.clientGone = true;
  }

  /** Its client is gone: a closeOnDisconnect session closes, any other waits for a re-attach. */
  private clientLeft(s: HermesSession): void {
    if (s.closeOnDisconnect) {
      void this.closeSession(s.sessionId, 'client-disconnected', HOST_CLIENT);
      return;
    }
    s.attachedTo = null;
    s.reattachTimer = setTimeout(() => void this.closeSession(s.sessionId, 'reattach-timeout', HOST_CLIENT), this.options.reattachGraceMs);
  }

  sessionOwner(sessionId: string): string | null | undefined {
    return this.sessions.get(sessionId)?.attachedTo;
  }

  // ---- status ------------------------------------------------------------------------------

  counts(): GatewayCounts {
    let busy = 0;
    for (const s of this.sessions.values()) if (s.busy > 0 && this.workers.workerOf(s.sessionId)) busy++;
    return {
      limits: { maxSessions: this.options.maxSessions, maxWorkers: this.options.maxWorkers },
      sessions: this.sessions.size,
      workers: this.workers.size,
      busyWorkers: busy,
    };
  }

  statusExtras(): Record<string, unknown> {
    return {
      backend: 'hermes',
      program: this.program?.info() ?? notStartedInfo(this.spec.command, this.spec.cwd),
      staleWorkers: this.staleSummary(),
      staleWorkerGraceMs: this.spec.staleWorkerGraceMs,
    };
  }

  knownProcesses(): KnownProcess[] {
    const out: KnownProcess[] = [];
    const p = this.program;
    if (p?.pid && p.fingerprint) out.push({ pid: p.pid, startTime: p.fingerprint.startTime, role: 'program' });
    for (const w of this.workers.workers()) {
      out.push(w.sessionId ? { pid: w.pid, startTime: w.startTime, role: 'worker', sessionId: w.sessionId } : { pid: w.pid, startTime: w.startTime, role: 'worker' });
    }
    return out;
  }

  processGroups(): number[] {
    return this.workers.groupTargets().flatMap((t) => (t.kind === 'group' ? [t.pgid] : []));
  }

  // ---- shutdown ----------------------------------------------------------------------------

  stopAccepting(): void {
    this.accepting = false;
    this.memoryCeiling.dispose();
    this.stopping = true;
    clearInterval(this.pollTimer);
  }

  async shutdown(reason: ShutdownReason, workerGraceMs: number): Promise<void> {
    this.stopAccepting();
    // The host gone with cgroups: hermes, its workers, theirs and we end with one cgroup.kill of
    // the tree (hermes' workers are all in it: born in its leaf, some moved to their sessions').
    // Ending at once skips the close path: the attach owners' session.closed is said before.
    if (reason === 'lifeline') endTreeWithHost(this.containment, workerGraceMs, () => this.announceClosed(reason), (m) => this.host.log(`hermes: ${m}`));
    const p = this.program;
    if (p?.alive && reason === 'shutdown') {
      // Workers started since the last look must be known before hermes goes: once it is gone
      // they are children of init. (With the host gone there is no time for this look: every
      // worker is still hermes' child, so the sweep below finds it by parentage and by tag.)
      // In hermes' cgroup leaf every worker is in the leaf's list: no look (a /proc scan) needed.
      if (!this.leaf()) this.workers.update(p.pid!, (key) => this.sessionOfKey(key), 'not-asked');
      if (this.linkUp()) {
        const closes = [...this.sessions.values()].map((s) => this.request('session.close', { session_id: s.sessionId }, POLITE_CLOSE_MS).catch(() => undefined));
        await Promise.race([Promise.all(closes), delay(POLITE_CLOSE_MS)]);
      }
      // Stdin EOF ends hermes' read loop; it may still wait for an in-flight slash.exec.
      p.child?.stdin?.end();
      await Promise.race([p.exited, delay(workerGraceMs)]);
    }
    const r = await takeDownProgram(this.workers.groupTargets(), workerGraceMs, this.roots(), this.leaves());
    this.host.log(`hermes: teardown (${reason}): ${r.processes} process(es), ${r.groups} worker group(s) in ${r.elapsedMs} ms${r.hardKilled ? `, ${r.hardKilled} needed SIGKILL` : ''}${r.survivors.length ? `; still alive: ${r.survivors.join(', ')}` : ''}`);
    this.workers.forgetAll('taken down with the gateway');
    for (const s of [...this.sessions.values()]) this.dropSession(s, reason);
    this.link?.peer.dispose('the gateway is shutting down');
  }

  finalSweep(): void {
    takeDownProgramSync(this.workers.groupTargets(), this.roots(), this.leaves());
  }

  // ---- helpers -----------------------------------------------------------------------------

  /** hermes' cgroup leaf as a teardown target, when it runs in one (its workers start in it). */
  private leaf(): Target | undefined {
    const dir = this.program?.cgroup;
    return dir && this.containment ? this.containment.leafTarget(dir) : undefined;
  }

  /** hermes' leaf and the session leaves its workers were moved into; none without containment. */
  private leaves(): Target[] {
    const leaf = this.leaf();
    return leaf ? [leaf, ...this.workers.leafTargets()] : [];
  }

  /** The hermes gateway and every worker known by fingerprint (checked again before any signal). */
  private roots(): Fingerprint[] {
    const p = this.program;
    return [...(p?.fingerprint && p.pid !== null ? [p.fingerprint] : []), ...this.workers.fingerprints()];
  }

  /** The backend must be up: waits for the start, then refuses with why it is not running. */
  private async ready(): Promise<void> {
    await this.start();
    if (this.program?.state !== 'running' || !this.linkUp()) throw this.unavailable();
  }

  private linkUp(): boolean {
    return this.link !== undefined && !this.link.peer.isClosed;
  }

  private unavailable(during?: string): RpcError {
    const info = this.program?.info();
    const why = info?.error ?? (info ? `its state is ${info.state}` : 'it has not started');
    return new RpcError(RpcErrorCode.BackendUnavailable, `the hermes gateway is not running${during ? ` (${during})` : ''}: ${why}`, {
      backend: 'hermes', state: info?.state ?? 'starting', pid: info?.pid ?? null, command: this.spec.command,
    });
  }

  private assertAccepting(): void {
    if (!this.accepting) throw shuttingDown();
  }

  /** The one ownership rule (sessionOwnership.ts), for hermes' sessions. */
  private assertMayAct(id: string, clientId: string, method: string): void {
    assertMayAct(this.sessions.get(id), id, clientId, method);
  }

  /** A request to hermes; its errors in the Warden protocol's terms. */
  private async request(method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    if (!this.linkUp()) throw this.unavailable();
    try {
      return await this.link!.request(method, params, { timeoutMs });
    } catch (e) {
      throw this.mapError(e, method);
    }
  }

  private mapError(e: unknown, method: string): RpcError {
    if (!(e instanceof RpcError)) return new RpcError(RpcErrorCode.InternalError, `${method}: ${String(e)}`);
    if (e.code === RpcErrorCode.ConnectionClosed) return this.unavailable(`it went away during ${method}`);
    if (e.code === RpcErrorCode.BackendUnavailable) return e; // HermesLink's: it is not reading its input
    if (e.code === RpcErrorCode.RequestTimeout) return new RpcError(RpcErrorCode.RequestTimeout, `hermes did not answer ${method}: ${e.message}`, { backend: 'hermes' });
    // Our link dropped hermes' answer (HermesLink): not an error of hermes'.
    if (e.code === RpcErrorCode.MessageTooLarge) return new RpcError(RpcErrorCode.MessageTooLarge, `hermes: ${e.message} (the gateway's --max-line-bytes)`, { backend: 'hermes' });
    const data = { backend: 'hermes', hermesCode: e.code, ...(e.data !== undefined ? { hermesData: e.data } : {}) };
    switch (e.code) {
      case HermesErrorCode.SessionNotFound:
        return RpcError.invalidParams(`unknown or closed session (hermes: ${e.message})`, data);
      case HermesErrorCode.EmptyCommand:
      case HermesErrorCode.UseCommandDispatch:
      case RpcErrorCode.InvalidParams:
        return RpcError.invalidParams(`hermes refused ${method}: ${e.message}`, data);
      default:
        return new RpcError(RpcErrorCode.ServerError, `hermes: ${method} failed: ${e.message}`, data);
    }
  }

  /**
   * The live session whose worker has this key; null when none has, or when more than one has
   * (session.resume twice of one stored session): a worker that may be either session's is
   * neither's — not placed in a leaf, not closed or killed as one's. The stale rule, by key,
   * spares it while its key is live.
   */
  private sessionOfKey(key: string): string | null {
    let found: string | null = null;
    for (const s of this.sessions.values()) {
      if (s.sessionKey !== key) continue;
      if (found !== null) return null;
      found = s.sessionId;
    }
    return found;
  }

  /**
   * One look: session.active_list (hermes' live sessions) and the process table (its workers).
   * Calls made while one runs share the next one, so a caller always sees a look taken after it asked.
   */
  private refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.look('always').finally(() => (this.refreshing = undefined));
      return this.refreshing;
    }
    this.queuedRefresh ??= this.refreshing.then(() => {
      this.queuedRefresh = undefined;
      return this.refresh();
    });
    return this.queuedRefresh;
  }

  /** The poll: a look at the process table, and active_list only when the schedule says so. */
  private poll(): void {
    if (this.refreshing) return; // a look is under way: it serves this period too
    this.refreshing = this.look('when-due').finally(() => (this.refreshing = undefined));
  }

  private async look(ask: 'always' | 'when-due'): Promise<void> {
    const p = this.program;
    if (!p?.alive || !this.linkUp() || this.stopping) return;
    // The poll looks at the table first, to know whether to ask; a request of ours asks first,
    // then looks (what it reads is then no older than the answer).
    let scan = ask === 'when-due' ? this.workers.scan(p.pid!) : undefined;
    if (scan && !this.activeListSchedule.due(scan.rows, this.workers.staleRuleWaiting, Date.now())) {
      this.workers.update(p.pid!, (key) => this.sessionOfKey(key), 'not-asked', Date.now(), scan);
      this.memoryCeiling.wake();
      return;
    }
    const askedAt = Date.now();
    let rows: HermesLiveSession[] | undefined;
    try {
      const m = fromHermesActiveList(await this.link!.request('session.active_list', {}, { timeoutMs: ACTIVE_LIST_TIMEOUT_MS }));
      if (m.ok) rows = m.value;
      else this.host.log(`hermes: ${m.message}`);
      this.activeListFailures = 0;
    } catch (e) {
      // Logged once per run of failures: the poll would repeat it every second.
      if (this.activeListFailures++ === 0) this.host.log(`hermes: session.active_list failed: ${(e as Error).message}`);
    }
    if (this.stopping || !p.alive) return;
    if (rows) this.reconcile(rows, askedAt);
    scan ??= this.workers.scan(p.pid!);
    if (rows) this.activeListSchedule.answered(scan.rows, Date.now());
    this.workers.update(p.pid!, (key) => this.sessionOfKey(key), rows ? new Set(rows.map((r) => r.sessionKey)) : 'failed', Date.now(), scan);
    this.memoryCeiling.wake(); // sleeps again by itself while no worker lives
  }

  /** Our sessions follow hermes' live ones: created or closed inside hermes (backend.call) too. */
  private reconcile(rows: HermesLiveSession[], askedAt: number): void {
    const ids = new Set<string>();
    for (const r of rows) {
      ids.add(r.sessionId);
      const s = this.sessions.get(r.sessionId);
      if (s) {
        s.sessionKey = r.sessionKey;
        s.status = r.status;
        s.model = r.model;
        continue;
      }
      const now = Date.now();
      const adopted: HermesSession = {
        sessionId: r.sessionId, label: r.title || `hermes session ${r.sessionId}`, closeOnDisconnect: false, createdAt: now,
        // Only the host can have made it (backend.call is the host's): the host's session.
        attachedTo: HOST_CLIENT, sessionKey: r.sessionKey, status: r.status, model: r.model, busy: 0, lastActivityAt: now,
      };
      this.sessions.set(r.sessionId, adopted);
      this.host.emit('session.created', { sessionId: adopted.sessionId, label: adopted.label, closeOnDisconnect: false, createdAt: now });
    }
    for (const s of [...this.sessions.values()]) {
      if (!ids.has(s.sessionId) && !s.closing && s.createdAt < askedAt) this.dropSession(s, 'closed-by-backend');
    }
  }

  private emitState(s: HermesSession): void {
    const w = this.workers.workerOf(s.sessionId);
    if (!w) return;
    this.host.emit('worker.state', { sessionId: s.sessionId, pid: w.pid, state: 'ready', busy: s.busy > 0, lastActivityAt: s.lastActivityAt });
  }

  private summary(s: HermesSession): Record<string, unknown> {
    const w = this.workers.workerOf(s.sessionId);
    return {
      sessionId: s.sessionId, label: s.label, closeOnDisconnect: s.closeOnDisconnect, createdAt: s.createdAt, attached: s.attachedTo !== null,
      worker: w ? { pid: w.pid, startTime: w.startTime, pgid: w.pgid, state: 'ready', lastActivityAt: s.lastActivityAt, command: w.command } : null,
      hermes: { sessionKey: s.sessionKey, status: s.status ?? null, model: s.model ?? null },
    };
  }

  private staleSummary(): Record<string, unknown>[] {
    return this.workers.staleWorkers().map((w) => ({
      pid: w.pid, startTime: w.startTime, pgid: w.pgid, sessionKey: w.sessionKey, command: w.command,
      staleSince: w.stale!.since, reapAt: w.stale!.reapAt, reason: 'stale worker — its session is gone',
    }));
  }

  /** A worker with its session's leaf, or its group (its own session's, with current hermes), or its tree (older hermes). */
  private async takeDownWorker(w: HermesWorker): Promise<WorkerTakeDown> {
    const r = await this.workers.takeDown(w, KILL_GRACE_MS, KILL_GRACE_MS + 4500);
    if (r.problems) this.host.log(`hermes worker ${w.pid}: ${r.problems}`);
    return r;
  }
}

function shuttingDown(): RpcError {
  return new RpcError(RpcErrorCode.ServerError, 'the gateway is shutting down');
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
