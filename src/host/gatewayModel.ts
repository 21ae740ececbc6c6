// What the tree shows about the gateway's sessions and workers, written only from gateway
// events (no polling) and `session.list` (after a (re)start or an explicit refresh); cleared
// when the gateway exits. Commands never write it.
import { Emitter } from './emitter';
import { GatewayEvent } from './gatewayProcess';

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
  label?: string;
  createdAt: number;
  closeOnDisconnect: boolean;
  /** The attached client, when the gateway reports one. */
  client?: string;
  worker?: WorkerView;
  /** Its last worker was stopped at the live-worker cap (worker.evicted); cleared by a new worker. */
  evicted?: EvictionView;
}

export interface EvictionView {
  pid: number;
  at: number;
  /** `worker-cap` from the embedded gateway; any other reason a gateway gives is shown as is. */
  reason: string;
  /** The cap that was reached, when the gateway says. */
  limit?: number;
}

export class GatewayModel {
  private sessions = new Map<string, SessionView>();
  private readonly changed = new Emitter<void>();
  readonly onDidChange = this.changed.event;

  list(): SessionView[] {
    return [...this.sessions.values()].sort((a, b) => a.createdAt - b.createdAt || a.sessionId.localeCompare(b.sessionId));
  }

  get(sessionId: string): SessionView | undefined {
    return this.sessions.get(sessionId);
  }

  workers(): (WorkerView & { sessionId: string })[] {
    return this.list().flatMap((s) => (s.worker ? [{ ...s.worker, sessionId: s.sessionId }] : []));
  }

  clear(): void {
    if (this.sessions.size === 0) return;
    this.sessions.clear();
    this.changed.fire();
  }

  /** Applies one gateway event; returns whether anything changed. */
  applyEvent(ev: GatewayEvent, now = Date.now()): boolean {
    const sessionId = str(ev.sessionId);
    switch (ev.type) {
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
        });
        break;
      }
      case 'session.closed':
        if (!sessionId || !this.sessions.delete(sessionId)) return false;
        break;
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
      case 'worker.exited': {
        const s = sessionId ? this.sessions.get(sessionId) : undefined;
        const pid = num(ev.pid);
        if (!s?.worker || (pid !== undefined && s.worker.pid !== pid)) return false;
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

  /** Replaces the model with a `session.list` result (unknown shapes are skipped). */
  applyList(result: unknown, now = Date.now()): void {
    const raw = (result as { sessions?: unknown })?.sessions;
    const next = new Map<string, SessionView>();
    if (Array.isArray(raw)) {
      for (const r of raw as Record<string, unknown>[]) {
        const sessionId = str(r?.sessionId) ?? str(r?.id);
        if (!sessionId) continue;
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
        });
      }
    }
    this.sessions = next;
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
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

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
