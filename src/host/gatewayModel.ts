// What the tree shows about the gateway's sessions and workers, written only from gateway
// events (no polling) and `session.list` (after a (re)start or an explicit refresh); cleared
// when the gateway exits. Commands never write it.
import { Emitter } from '../core/emitter';
import { GatewayEvent } from './gatewayProcess';
import { ExitedView, RecentlyExited } from './recentlyExited';

export interface WorkerView {
  pid: number;
  startTime: number;
  pgid?: number;
  state: string;
  /** A slash command is running in it (from the gateway's worker.state events). */
  busy?: boolean;
  startedAt: number;
  /** Last slash command, from any client the gateway reports, or this window's (for "idle for"). */
  lastUsedAt?: number;
  command?: string;
}

export interface SessionView {
  sessionId: string;
  /** What the backend says of the session beyond ours (hermes: its model, status, last error). */
  agent?: AgentView;
  label?: string;
  createdAt: number;
  closeOnDisconnect: boolean;
  /** The attached client, when the gateway reports one. */
  client?: string;
  worker?: WorkerView;
  /** Its last worker was stopped at the live-worker cap (worker.evicted) or restarted at its memory ceiling (worker.restarted); cleared by a new worker. */
  evicted?: EvictionView;
}

export interface AgentView {
  model?: string;
  status?: string;
  /** The backend's last error event for this session (hermes: "agent init failed: …"). */
  error?: string;
}

/** The program behind a hermes or command backend, from gateway.ready and backend.state. */
export interface BackendView {
  /** `hermes` | `command` (as the gateway says). */
  name: string;
  /** `starting` | `running` | `failed` | `exited`. */
  state: string;
  pid?: number;
  startTime?: number;
  /** When it started (the gateway's `startedAt`, else when it was first seen running). */
  startedAt?: number;
  /** argv as one line, for display. */
  display?: string;
  cwd?: string;
  /** Why it failed or exited: what was expected, what was run, what happened. */
  error?: string;
  exit?: { code: number | null; signal: string | null };
  /** The backend's latest error event (hermes' `error`), with the session it names. */
  lastError?: { message: string; sessionId?: string; at: number };
}

/** hermes: a worker whose session is gone (worker.stale), until it is reaped or exits. */
export interface StaleWorkerView {
  pid: number;
  startTime: number;
  pgid?: number;
  sessionKey?: string;
  command?: string;
  staleSince: number;
  /** When the gateway takes it down; undefined: only reported (--stale-worker-grace-ms 0). */
  reapAt?: number;
}

export interface EvictionView {
  pid: number;
  at: number;
  /** `worker-cap` from the embedded gateway; any other reason a gateway gives is shown as is. */
  reason: string;
  /** The cap that was reached, when the gateway says. */
  limit?: number;
  /** worker.restarted (reason `memory-limit`): what the session's processes used, the ceiling, and the setting that sets it. */
  memoryBytes?: number;
  limitBytes?: number;
  setting?: string;
}

/** Bounds on what a gateway's events can make the model hold. */
const MAX_STALE_WORKERS = 256;
const MAX_CLOSING_WORKERS = 256;
const MAX_MESSAGE_CHARS = 4000;

export class GatewayModel {
  private sessions = new Map<string, SessionView>();
  private backendView: BackendView | undefined;
  private stale = new Map<string, StaleWorkerView>();
  /** Workers of sessions closed before their worker.exited arrived (hermes may say so in that order). */
  private closing = new Map<number, { worker: WorkerView; session: SessionView }>();
  /** Kept across gateway restarts: a crash stays visible after the fact. */
  private readonly exits = new RecentlyExited();
  private readonly changed = new Emitter<void>();
  readonly onDidChange = this.changed.event;
  /** Counts applied session events: a `session.list` answer is as old as the count when it was asked. */
  private eventSeq = 0;
  /** The count at each session's latest event, and at the close of recently closed ones (bounded). */
  private touchedAt = new Map<string, number>();
  private closedAt = new Map<string, number>();

  list(): SessionView[] {
    return [...this.sessions.values()].sort((a, b) => a.createdAt - b.createdAt || a.sessionId.localeCompare(b.sessionId));
  }

  get(sessionId: string): SessionView | undefined {
    return this.sessions.get(sessionId);
  }

  workers(): (WorkerView & { sessionId: string })[] {
    return this.list().flatMap((s) => (s.worker ? [{ ...s.worker, sessionId: s.sessionId }] : []));
  }

  /** The backend's program (hermes, command); undefined for the embedded gateway or a custom one. */
  backend(): BackendView | undefined {
    return this.backendView && { ...this.backendView };
  }

  /** The last exited workers and backend programs, newest first (see RecentlyExited for the bounds). */
  recentlyExited(now = Date.now()): ExitedView[] {
    return this.exits.list(now);
  }

  /** When the oldest of them expires (for a refresh then). */
  nextExitExpiry(now = Date.now()): number | undefined {
    return this.exits.nextExpiry(now);
  }

  staleWorkers(): StaleWorkerView[] {
    return [...this.stale.values()].sort((a, b) => a.staleSince - b.staleSince || a.pid - b.pid);
  }

  clear(): void {
    this.closing.clear();
    this.touchedAt.clear();
    this.closedAt.clear();
    if (this.sessions.size === 0 && !this.backendView && this.stale.size === 0) return;
    this.sessions.clear();
    this.backendView = undefined;
    this.stale.clear();
    this.changed.fire();
  }

  /**
   * Where the model stands before a `session.list` is sent: pass it to applyList with the answer.
   * Events that arrive while the request is in flight (or in the same chunk as its answer, applied
   * before the answer's promise settles) are newer than the list and must not be undone by it.
   */
  mark(): number {
    return this.eventSeq;
  }

  /** Applies one gateway event; returns whether anything changed. */
  applyEvent(ev: GatewayEvent, now = Date.now()): boolean {
    const changed = this.applyEventOnly(ev, now);
    const sessionId = str(ev.sessionId);
    if (changed && sessionId) {
      this.eventSeq++;
      if (ev.type === 'session.closed') {
        this.touchedAt.delete(sessionId);
        this.closedAt.set(sessionId, this.eventSeq);
        if (this.closedAt.size > MAX_CLOSING_WORKERS) this.closedAt.delete(this.closedAt.keys().next().value!);
      } else if (this.sessions.has(sessionId)) {
        this.touchedAt.set(sessionId, this.eventSeq);
      }
    }
    return changed;
  }

  private applyEventOnly(ev: GatewayEvent, now: number): boolean {
    const sessionId = str(ev.sessionId);
    switch (ev.type) {
      case 'gateway.ready':
        this.applyBackendFields(ev, now);
        break;
      case 'backend.state': {
        const name = str(ev.backend);
        const state = str(ev.state);
        if (!name || !state) return false;
        const prev = this.backendView?.name === name ? this.backendView : undefined;
        const wasRunning = prev?.state === 'running' || prev?.state === 'starting';
        this.backendView = {
          ...prev,
          name,
          state,
          pid: num(ev.pid) ?? prev?.pid,
          startTime: num(ev.startTime) ?? prev?.startTime,
          startedAt: state === 'running' && prev?.state !== 'running' ? prev?.startedAt ?? now : prev?.startedAt,
          error: text(ev.error),
          exit: exitOf(ev.exit),
        };
        const b = this.backendView;
        if ((state === 'exited' || state === 'failed') && (wasRunning || !prev) && b.pid !== undefined) {
          this.exits.add({
            kind: 'program', pid: b.pid, startTime: b.startTime, label: name, command: b.display,
            startedAt: b.startedAt, exitedAt: now, code: b.exit?.code ?? null, signal: b.exit?.signal ?? null,
            reason: state === 'failed' ? 'failed at start' : undefined,
          });
        }
        break;
      }
      case 'backend.event':
        if (!this.applyBackendEvent(ev, now)) return false;
        break;
      case 'worker.stale': {
        const w = staleOf(ev, now);
        if (!w) return false;
        if (this.stale.size >= MAX_STALE_WORKERS && !this.stale.has(staleKey(w))) return false;
        this.stale.set(staleKey(w), w);
        break;
      }
      case 'worker.reaped': {
        const pid = num(ev.pid);
        const w = pid === undefined ? undefined : this.dropStale(pid, num(ev.startTime));
        if (!w) return false;
        this.exits.add(staleExit(w, now, null, null, 'taken down: its session was gone'));
        break;
      }
      case 'session.created': {
        if (!sessionId) return false;
        const prev = this.sessions.get(sessionId);
        this.sessions.set(sessionId, {
          sessionId,
          label: str(ev.label) ?? prev?.label,
          createdAt: num(ev.createdAt) ?? prev?.createdAt ?? now,
          closeOnDisconnect: ev.closeOnDisconnect === true,
          // A new session belongs to the client that created it (the gateway attaches it there);
          // `session.list` later says whether it still is.
          client: str(ev.client) ?? prev?.client ?? 'attached',
          worker: prev?.worker,
          evicted: prev?.evicted,
          agent: prev?.agent,
        });
        break;
      }
      case 'session.closed': {
        const s = sessionId ? this.sessions.get(sessionId) : undefined;
        if (!s) return false;
        this.sessions.delete(s.sessionId);
        // Its worker.exited may still come (hermes): remembered until then, bounded.
        if (s.worker && this.closing.size < MAX_CLOSING_WORKERS) this.closing.set(s.worker.pid, { worker: s.worker, session: s });
        break;
      }
      case 'worker.started': {
        const pid = num(ev.pid);
        const startTime = num(ev.startTime);
        if (!sessionId || pid === undefined || startTime === undefined) return false;
        const s = this.ensure(sessionId, now);
        // Announced at spawn; the gateway's worker.state says when it is ready.
        s.worker = { pid, startTime, pgid: num(ev.pgid), state: str(ev.state) ?? 'starting', startedAt: now, command: str(ev.command) };
        s.evicted = undefined;
        break;
      }
      case 'worker.evicted': {
        // Stopped to make room; worker.exited follows once it is gone. The session stays.
        const s = sessionId ? this.sessions.get(sessionId) : undefined;
        const pid = num(ev.pid);
        if (!s || pid === undefined) return false;
        if (s.worker?.pid === pid) s.worker.state = 'stopping';
        s.evicted = { pid, at: now, reason: str(ev.reason) ?? 'worker-cap', limit: num(ev.limit) };
        break;
      }
      case 'worker.restarted': {
        // Its processes went above the memory ceiling: taken down, worker.exited follows. The session stays.
        const s = sessionId ? this.sessions.get(sessionId) : undefined;
        const pid = num(ev.pid);
        if (!s || pid === undefined) return false;
        if (s.worker?.pid === pid) s.worker.state = 'stopping';
        s.evicted = {
          pid, at: now, reason: str(ev.reason) ?? 'memory-limit',
          memoryBytes: num(ev.memoryBytes), limitBytes: num(ev.limitBytes), setting: text(ev.setting),
        };
        break;
      }
      case 'worker.exited': {
        const s = sessionId ? this.sessions.get(sessionId) : undefined;
        const pid = num(ev.pid);
        const code = num(ev.code) ?? null;
        const signal = str(ev.signal) ?? null;
        // A stale worker (hermes) has no session any more: its exit ends its row.
        const stale = pid === undefined ? undefined : this.dropStale(pid, num(ev.startTime));
        if (stale) this.exits.add(staleExit(stale, now, code, signal));
        const closed = pid === undefined ? undefined : this.closing.get(pid);
        if (closed) {
          this.closing.delete(pid!);
          this.exits.add(workerExit(closed.worker, closed.session, now, code, signal, 'its session was closed'));
        }
        if (!s?.worker || (pid !== undefined && s.worker.pid !== pid)) {
          if (!stale && !closed) return false;
          break;
        }
        const stoppedBy = s.evicted?.pid === s.worker.pid ? s.evicted.reason : undefined;
        this.exits.add(workerExit(s.worker, s, now, code, signal, stoppedBy === 'memory-limit' ? 'restarted: above the memory limit' : stoppedBy ? 'stopped at the worker limit' : undefined));
        s.worker = undefined;
        break;
      }
      case 'worker.state': {
        const s = sessionId ? this.sessions.get(sessionId) : undefined;
        const pid = num(ev.pid);
        if (!s?.worker || !str(ev.state) || (pid !== undefined && s.worker.pid !== pid)) return false;
        s.worker.state = str(ev.state)!;
        if (typeof ev.busy === 'boolean') s.worker.busy = ev.busy;
        s.worker.lastUsedAt = num(ev.lastActivityAt) ?? s.worker.lastUsedAt;
        break;
      }
      default:
        return false;
    }
    this.changed.fire();
    return true;
  }

  /**
   * Replaces the model with a `session.list` result (unknown shapes are skipped), except what
   * events changed after `asOf` (mark() before the request): a session created, changed or closed
   * since is kept as the events left it. Without `asOf` the list is taken as the newest word.
   */
  applyList(result: unknown, now = Date.now(), asOf = Infinity): void {
    const raw = (result as { sessions?: unknown })?.sessions;
    const next = new Map<string, SessionView>();
    const newer = (sessionId: string, at: Map<string, number>) => (at.get(sessionId) ?? -Infinity) > asOf;
    if (Array.isArray(raw)) {
      for (const r of raw as Record<string, unknown>[]) {
        const sessionId = str(r?.sessionId) ?? str(r?.id);
        if (!sessionId || newer(sessionId, this.closedAt)) continue;
        const current = this.sessions.get(sessionId);
        if (current && newer(sessionId, this.touchedAt)) {
          next.set(sessionId, current);
          continue;
        }
        const prev = this.sessions.get(sessionId);
        const w = r.worker as Record<string, unknown> | null | undefined;
        let worker: WorkerView | undefined;
        const pid = num(w?.pid);
        const startTime = num(w?.startTime);
        if (w && pid !== undefined && startTime !== undefined) {
          const same = prev?.worker && prev.worker.pid === pid && prev.worker.startTime === startTime ? prev.worker : undefined;
          worker = {
            pid,
            startTime,
            pgid: num(w.pgid) ?? same?.pgid,
            state: str(w.state) ?? same?.state ?? 'running',
            startedAt: num(w.startedAt) ?? same?.startedAt ?? now,
            lastUsedAt: num(w.lastUsedAt) ?? num(w.lastActivityAt) ?? same?.lastUsedAt,
            command: str(w.command) ?? same?.command,
          };
        }
        next.set(sessionId, {
          sessionId,
          label: str(r.label) ?? prev?.label,
          createdAt: num(r.createdAt) ?? prev?.createdAt ?? now,
          closeOnDisconnect: r.closeOnDisconnect === true || (r.closeOnDisconnect === undefined && prev?.closeOnDisconnect === true),
          client: str(r.client) ?? (r.attached === true ? 'attached' : r.attached === false ? undefined : prev?.client),
          worker,
          evicted: worker ? undefined : prev?.evicted,
          agent: agentOf(r.hermes, prev?.agent),
        });
      }
    }
    for (const [sessionId, current] of this.sessions) {
      if (!next.has(sessionId) && newer(sessionId, this.touchedAt)) next.set(sessionId, current);
    }
    this.sessions = next;
    for (const id of this.touchedAt.keys()) if (!next.has(id)) this.touchedAt.delete(id);
    // hermes lists the workers whose session is gone beside the sessions; other backends none.
    const stale = (result as { staleWorkers?: unknown })?.staleWorkers;
    this.stale = new Map();
    if (Array.isArray(stale)) {
      for (const r of stale.slice(0, MAX_STALE_WORKERS)) {
        const w = staleOf(r, now);
        if (w) this.stale.set(staleKey(w), w);
      }
    }
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }

  /** gateway.ready (and gateway.status) of a hermes or command backend: `backend`, `program`, `staleWorkers`. */
  private applyBackendFields(ev: Record<string, unknown>, now = Date.now()): void {
    const name = str(ev.backend);
    const p = ev.program as Record<string, unknown> | undefined;
    if (!name || typeof p !== 'object' || p === null) {
      this.backendView = undefined;
      return;
    }
    this.backendView = {
      name,
      state: str(p.state) ?? 'starting',
      pid: num(p.pid),
      startTime: num(p.startTime),
      ...(num(p.startedAt) !== undefined ? { startedAt: num(p.startedAt) } : {}),
      display: text(p.display),
      cwd: text(p.cwd),
      error: text(p.error),
      exit: exitOf(p.exit),
    };
    if (Array.isArray(ev.staleWorkers)) {
      this.stale = new Map();
      for (const r of ev.staleWorkers.slice(0, MAX_STALE_WORKERS)) {
        const w = staleOf(r, now);
        if (w) this.stale.set(staleKey(w), w);
      }
    }
  }

  /** hermes' own events: its model per session (session.info) and its errors. */
  private applyBackendEvent(ev: GatewayEvent, now: number): boolean {
    const inner = ev.event as Record<string, unknown> | undefined;
    if (typeof inner !== 'object' || inner === null) return false;
    const sessionId = str(inner.session_id);
    const s = sessionId ? this.sessions.get(sessionId) : undefined;
    const payload = (typeof inner.payload === 'object' && inner.payload !== null ? inner.payload : {}) as Record<string, unknown>;
    if (inner.type === 'error') {
      const message = text(payload.message) ?? text(inner.message) ?? 'an error without a message';
      if (this.backendView) this.backendView.lastError = { message, sessionId, at: now };
      if (s) s.agent = { ...s.agent, error: message };
      return true;
    }
    if (inner.type === 'session.info' && s) {
      const model = text(payload.model);
      if (!model || s.agent?.model === model) return false;
      s.agent = { ...s.agent, model };
      return true;
    }
    return false;
  }

  /** Removes a stale worker; returns it, or undefined when there was none. */
  private dropStale(pid: number, startTime: number | undefined): StaleWorkerView | undefined {
    for (const [k, w] of this.stale) {
      if (w.pid === pid && (startTime === undefined || w.startTime === startTime)) {
        this.stale.delete(k);
        return w;
      }
    }
    return undefined;
  }

  private ensure(sessionId: string, now: number): SessionView {
    let s = this.sessions.get(sessionId);
    if (!s) {
      s = { sessionId, createdAt: now, closeOnDisconnect: false };
      this.sessions.set(sessionId, s);
    }
    return s;
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A message from the gateway, bounded. */
function text(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v.length > MAX_MESSAGE_CHARS ? `${v.slice(0, MAX_MESSAGE_CHARS)}…` : v;
}

function exitOf(v: unknown): BackendView['exit'] {
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as Record<string, unknown>;
  return { code: num(e.code) ?? null, signal: str(e.signal) ?? null };
}

function staleOf(v: unknown, now: number): StaleWorkerView | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const pid = num(r.pid);
  const startTime = num(r.startTime);
  if (pid === undefined || startTime === undefined) return undefined;
  return {
    pid, startTime, pgid: num(r.pgid), sessionKey: text(r.sessionKey), command: text(r.command),
    staleSince: num(r.staleSince) ?? now, reapAt: num(r.reapAt),
  };
}

function workerExit(w: WorkerView, s: SessionView, now: number, code: number | null, signal: string | null, reason?: string): ExitedView {
  return {
    kind: 'worker', pid: w.pid, startTime: w.startTime, sessionId: s.sessionId, label: s.label, command: w.command,
    startedAt: w.startedAt, exitedAt: now, code, signal, reason,
  };
}

function staleExit(w: StaleWorkerView, now: number, code: number | null, signal: string | null, reason?: string): ExitedView {
  return { kind: 'staleWorker', pid: w.pid, startTime: w.startTime, label: w.sessionKey, command: w.command, exitedAt: now, code, signal, reason };
}

function staleKey(w: { pid: number; startTime: number }): string {
  return `${w.pid}:${w.startTime}`;
}

/** session.list's `hermes: {sessionKey, status, model}`; the last error stays until a new one. */
function agentOf(v: unknown, prev: AgentView | undefined): AgentView | undefined {
  if (typeof v !== 'object' || v === null) return prev;
  const h = v as Record<string, unknown>;
  return { model: text(h.model) ?? prev?.model, status: text(h.status), error: prev?.error };
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
