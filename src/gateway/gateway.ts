// The gateway: its clients (stdio plus attached WebSocket connections), its backend (which owns
// the sessions and workers), events sent to every client (one about a session only to the host
// and the session's connection), and the bounded shutdown that ends the process — the same for
// every backend.
import { Fingerprint, formatFingerprint, selfFingerprint } from '../core/fingerprint';
import { describeProblems, ownProcesses, ownProcessGroup, teardownSync } from '../core/kill';
import { JsonRpcPeer, RpcError, RpcErrorCode } from '../core/rpc';
import { shutdownBoundMs } from '../core/timeouts';
import { Backend, GatewayCounts, ShutdownReason } from './backends/backend';
import { BackendSpec, DEFAULT_BACKEND_SPEC } from './backends/backendOptions';
import { createBackend } from './backends/createBackend';
import { Containment } from './cgroupContainment';
import { methodHandler } from './methods';
import { GatewayOptions } from './options';
import { ProcessTree } from './processTree';
import { eventReaches, eventSessionId } from './sessionOwnership';

/** How many started workers the final sweep remembers the markers of (oldest dropped first). */
const MAX_REMEMBERED_WORKERS = 4096;

export interface AttachInfo {
  url: string;
  port: number;
  tokenFile: string;
}

/** Why the attach endpoint asked for with --listen is not there (reported, not fatal). */
export interface AttachFailure {
  error: string;
}

export class Gateway {
  readonly backend: Backend;
  readonly tree: ProcessTree;
  private readonly clients = new Map<string, JsonRpcPeer>();
  private readonly startedAt = Date.now();
  /** Fingerprints of the workers started (see rememberWorker). */
  private readonly workersStarted: Fingerprint[] = [];
  private shuttingDown?: Promise<{ closedSessions: number }>;
  attach?: AttachInfo | AttachFailure;
  /** Live counters of the attach endpoint (connections, refusals) for gateway.status. */
  attachStats?: () => Record<string, unknown>;
  /** Extra cleanup at shutdown (the attach server). */
  onShutdown: (() => void)[] = [];
  /** Set by main: exit the process once the current reply is out. */
  requestExit: () => void = () => undefined;
  /** Set by main: requests wait for this (so gateway.ready is the first line out). */
  beforeRequest: () => Promise<void> = () => Promise.resolve();

  constructor(
    readonly options: GatewayOptions,
    readonly ownerMarker: string,
    readonly owner: Fingerprint | undefined,
    workerPath: string,
    readonly log: (m: string) => void,
    backendSpec: BackendSpec = DEFAULT_BACKEND_SPEC,
    readonly containment: Containment = Containment.none('not set up'),
  ) {
    this.backend = createBackend(backendSpec, {
      options,
      ownerMarker,
      owner,
      workerPath,
      containment,
      host: { emit: (type, payload) => this.emit(type, payload), log },
    });
    this.tree = new ProcessTree({
      ownerMarker,
      known: () => this.backend.knownProcesses(),
      groups: () => this.backend.processGroups?.() ?? [],
      cgroupTree: () => (this.containment.kind === 'cgroup' ? this.containment.info().cgroup ?? undefined : undefined),
    });
  }

  addClient(id: string, peer: JsonRpcPeer): void {
    this.clients.set(id, peer);
    const handle = methodHandler(this, id);
    peer.onRequest(async (method, params) => {
      await this.beforeRequest();
      // Its connection may have closed meanwhile, and clientGone has then run for it already: a
      // session made or attached for it now would never be cleaned up.
      if (peer.isClosed) throw new RpcError(RpcErrorCode.ConnectionClosed, `${method.slice(0, 200)} not run: the connection closed before it could start`);
      return handle(method, params);
    });
    peer.onClose(() => {
      this.clients.delete(id);
      this.backend.clientGone(id);
    });
  }

  /** Sends an event to every client; one about a session only to the host and the session's connection. */
  emit(type: string, payload: Record<string, unknown>): void {
    if (type === 'worker.started') this.rememberWorker(payload);
    const sessionId = eventSessionId(payload);
    const owner = sessionId === undefined ? undefined : this.backend.sessionOwner(sessionId);
    for (const [id, peer] of this.clients) {
      if (sessionId === undefined || eventReaches(owner, id)) peer.notify('event', { type, ...payload });
    }
  }

  /**
   * Every worker this gateway started (the newest MAX_REMEMBERED_WORKERS): without cgroups, the
   * final sweep also takes down what carries a worker's marker, so a worker SIGKILLed before its
   * own teardown found its setsid escapees (the lifeline grace is short) leaves none behind.
   */
  private rememberWorker(payload: Record<string, unknown>): void {
    const { pid, startTime } = payload;
    if (typeof pid !== 'number' || typeof startTime !== 'number') return;
    this.workersStarted.push({ pid, startTime, bootId: selfFingerprint().bootId });
    if (this.workersStarted.length > MAX_REMEMBERED_WORKERS) this.workersStarted.shift();
  }

  async status(): Promise<Record<string, unknown>> {
    const me = selfFingerprint();
    const status: Record<string, unknown> = {
      pid: process.pid,
      pgid: this.pgid(),
      startTime: me.startTime,
      owner: this.owner ? formatFingerprint(this.owner) : this.ownerMarker,
      ...this.counts(),
      uptimeMs: Date.now() - this.startedAt,
      options: this.options,
      attach: this.attach ? { ...this.attach, ...this.attachStats?.() } : null,
      shuttingDown: this.shuttingDown !== undefined,
      ...this.containment.info(),
      // The embedded backend adds nothing here: its gateway.status is what it always was.
      ...this.backend.statusExtras(),
    };
    if (this.backend.name !== 'embedded') {
      const t = await this.tree.snapshot();
      status.tree = { processes: t.processes, truncated: t.truncated };
    }
    return status;
  }

  /** The caps and how full they are (gateway.status and gateway.ready). */
  counts(): GatewayCounts {
    return this.backend.counts();
  }

  pgid(): number | null {
    return ownProcessGroup() ?? null;
  }

  /**
   * Closes every session through the one close path, bounded by the grace; then SIGKILLs any
   * worker group still there and whatever else this process started. Idempotent. `reason` picks
   * the end (ShutdownReason); `why` is for the log. The process exits right after (main.ts).
   */
  shutdown(reason: ShutdownReason, why: string, graceMs = this.options.shutdownGraceMs): Promise<{ closedSessions: number }> {
    this.shuttingDown ??= this.doShutdown(reason, why, graceMs);
    return this.shuttingDown;
  }

  private async doShutdown(reason: ShutdownReason, why: string, graceMs: number): Promise<{ closedSessions: number }> {
    const closedSessions = this.backend.counts().sessions;
    this.backend.stopAccepting();
    // `graceMs` is what workers get between SIGTERM and SIGKILL, the one meaning it has everywhere
    // (docs/protocol.md); with the host gone nobody waits for them, so the lifeline's own grace
    // (--lifeline-grace-ms, short) applies instead. The whole shutdown is bounded by the grace
    // used plus the shutdown slack (core/timeouts.ts).
    const workerGraceMs = reason === 'lifeline' ? this.options.lifelineGraceMs : graceMs;
    this.log(`shutting down (${why}; ${reason}); worker grace ${workerGraceMs} ms`);
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([
      this.backend.shutdown(reason, workerGraceMs).catch((e: Error) => this.log(`backend shutdown failed: ${e.message}`)),
      new Promise((r) => (bound = setTimeout(r, shutdownBoundMs(workerGraceMs)))),
    ]);
    clearTimeout(bound);
    this.finalSweep();
    return { closedSessions };
  }

  /** Synchronous: SIGKILL whatever is left of the backend's groups, then of our own. */
  finalSweep(): void {
    try {
      this.backend.finalSweep();
    } catch (e) {
      this.log(`backend final sweep failed: ${(e as Error).message}`);
    }
    for (const f of this.onShutdown.splice(0)) {
      try {
        f();
      } catch (e) {
        this.log(`shutdown hook failed: ${(e as Error).message}`);
      }
    }
    // In our cgroup tree, everything we ever started is in one of its leaves: the kernel's lists
    // name it (no /proc scan), then the tree goes. Otherwise our group, descendants and marker.
    const contained = this.containment.kind === 'cgroup';
    const r = teardownSync(contained ? this.containment.sweepTargets() : [ownProcesses(undefined, this.workersStarted)], { firstSignal: 'SIGKILL', timeoutMs: 1000 });
    const killed = r.processes.filter((p) => p.outcome === 'killed').length;
    if (killed) this.log(`final sweep: ${killed} process(es) of mine killed`);
    const problems = describeProblems(r);
    if (problems) this.log(`final sweep: ${problems}`);
    if (contained) this.containment.remove();
  }
}
