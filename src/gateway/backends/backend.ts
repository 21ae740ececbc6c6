// The one interface every gateway backend implements. The gateway process (main.ts, gateway.ts)
// keeps what guards the whole tree for every backend — lifeline, fingerprint watchdog, owner
// marker, attach endpoint, the final teardown of its group — and methods.ts keeps parameter
// validation; a backend does what a method means for it: its sessions, its workers, its program.
import { RpcError, RpcErrorCode } from '../../core/rpc';
import type { BackendName } from './backendOptions';
import type { NamedWorker } from '../workerKillTarget';

export type { BackendName } from './backendOptions';

/**
 * How the whole gateway ends, and the reason its session.closed events give. `shutdown`: asked to
 * (gateway.shutdown, SIGTERM/SIGINT/SIGHUP) — the workers get the shutdown grace and the cgroup
 * tree is removed. `lifeline`: the host is gone (stdin EOF, owner or parent dead) — nobody waits,
 * so the short lifeline grace and, with cgroups, one end of the whole tree, the gateway included.
 */
export type ShutdownReason = 'shutdown' | 'lifeline';

/** Why a session closed (the `reason` of session.closed). */
export type SessionCloseReason =
  | 'requested' | 'client-disconnected' | 'reattach-timeout' | 'idle-timeout' | 'shutdown' | 'lifeline'
  /** hermes: the session was closed inside hermes (backend.call, hermes itself). */
  | 'closed-by-backend'
  /** hermes: the hermes gateway exited. */
  | 'backend-exited';

export interface GatewayCounts {
  limits: { maxSessions: number; maxWorkers: number };
  sessions: number;
  workers: number;
  busyWorkers: number;
}

/** A process a backend knows by name (shown with its role in process.tree). */
export interface KnownProcess {
  pid: number;
  startTime: number;
  role: 'program' | 'worker';
  sessionId?: string;
}

export interface BackendHost {
  /** Send an event to every client (one about a session: to the host and its connection). */
  emit(type: string, payload: Record<string, unknown>): void;
  log(message: string): void;
}

export interface Backend {
  readonly name: BackendName;
  /**
   * Starts the backend's program, if it has one. Resolves once it is up or has failed; never
   * rejects: a failure is kept, reported by gateway.status and by every request that needs it.
   */
  start(): Promise<void>;

  createSession(params: { label?: string; closeOnDisconnect: boolean }, clientId: string): Promise<{ sessionId: string }>;
  /** The one close path; false when already closed or unknown. */
  closeSession(sessionId: string, reason: SessionCloseReason, clientId: string): Promise<boolean>;
  attachSession(sessionId: string, clientId: string): Promise<{ sessionId: string; attached: true }>;
  /** session.list's result: `{sessions: [...]}` (hermes adds `staleWorkers`). */
  listSessions(clientId: string): Promise<Record<string, unknown>>;
  /** slash.exec's result: `{output}` (hermes adds `warning` when it gives one). */
  exec(sessionId: string, command: string, clientId: string): Promise<Record<string, unknown>>;
  /**
   * worker.kill: ends the session's worker and its group; the session stays. With `named`, only
   * when the current worker has that fingerprint (else notCurrentWorker's answer, nothing signalled).
   */
  killWorker(sessionId: string, clientId: string, named?: NamedWorker): Promise<Record<string, unknown>>;
  /** backend.call: any method of the program behind the backend, passed through. */
  call(method: string, params: unknown): Promise<unknown>;
  /** A client connection went away. */
  clientGone(clientId: string): void;
  /**
   * The connection a session is attached to (null while detached), while the backend knows the
   * session — until its session.closed is out; undefined for an unknown one. Who gets its events.
   */
  sessionOwner(sessionId: string): string | null | undefined;

  counts(): GatewayCounts;
  /**
   * Fields added to gateway.status and gateway.ready. The embedded backend adds none, so its
   * protocol stays what it was; the others add `backend` and `program` (and their own).
   */
  statusExtras(): Record<string, unknown>;
  /** Processes to name in process.tree (the program, workers). */
  knownProcesses(): KnownProcess[];
  /** Process groups the backend tracks outside the gateway's own (hermes' worker groups). */
  processGroups?(): number[];

  /** Refuse new work from now on (shutdown has begun). */
  stopAccepting(): void;
  /**
   * Closes everything the backend started. `workerGraceMs` is the SIGTERM grace of its process
   * groups; the caller bounds the whole call and runs finalSweep() after it, whatever happened.
   * On 'lifeline' the host is gone: no politeness, straight to the sweep.
   */
  shutdown(reason: ShutdownReason, workerGraceMs: number): Promise<void>;
  /** Synchronous SIGKILL of whatever the backend knows outside the gateway's own group. */
  finalSweep(): void;
}

/** -32020: the method exists in the protocol but not for this backend. */
export function notSupported(backend: BackendName, method: string, why: string): RpcError {
  return new RpcError(RpcErrorCode.NotSupported, `${method} is not available with the ${backend} backend: ${why}`, { backend, method });
}
