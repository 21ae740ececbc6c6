// Who may act on a session (docs/protocol.md, "Who may act on a session"): one rule for every
// backend's sessions, so the embedded and hermes backends cannot drift apart.
import { RpcError, RpcErrorCode } from '../core/rpc';

/** The client id of the host's stdio connection: it may act on every session. */
export const HOST_CLIENT = 'stdio';

/** What the rule needs of a session: the connection it is attached to, null while detached. */
export interface OwnedSession {
  attachedTo: string | null;
}

/**
 * The host may drive, close or re-attach every session; another connection only the sessions
 * attached to it, and — with session.attach — a detached one (its connection went away and it
 * waits for a re-attach). An unknown session (undefined) passes: the method itself answers it.
 * Throws -32012 otherwise.
 */
export function assertMayAct(session: OwnedSession | undefined, id: string, clientId: string, method: string): void {
  if (!session || clientId === HOST_CLIENT || session.attachedTo === clientId) return;
  if (session.attachedTo === null && method === 'session.attach') return;
  const whose = session.attachedTo === null ? 'no connection (detached): session.attach it first' : session.attachedTo === HOST_CLIENT ? 'the host' : 'another connection';
  throw new RpcError(RpcErrorCode.NotOwner, `${method}: session ${id} belongs to ${whose}`, { sessionId: id });
}

/**
 * Whether session.list shows a session attached to `attachedTo` to `clientId`: the host every
 * session; another connection its own and the detached ones — exactly those it may act on (a
 * detached one through session.attach), so a client that reconnects can find its sessions.
 */
export function listedFor(attachedTo: string | null, clientId: string): boolean {
  return clientId === HOST_CLIENT || attachedTo === clientId || attachedTo === null;
}

/**
 * The session an event is about: its `sessionId`, or — for hermes' own events forwarded as
 * `backend.event` — the `session_id` inside (hermes' session id is ours). Undefined when the
 * event is about no session (gateway.*, backend.state, a stale worker's `sessionId: null`).
 */
export function eventSessionId(payload: Record<string, unknown>): string | undefined {
  if (typeof payload.sessionId === 'string') return payload.sessionId;
  const inner = payload.event as { session_id?: unknown } | undefined;
  return typeof inner === 'object' && inner !== null && typeof inner.session_id === 'string' ? inner.session_id : undefined;
}

/**
 * Whether an event about a session reaches `clientId`, given the connection the session is
 * attached to (`owner`: null while detached, undefined when the session is unknown or gone).
 * The host sees every event; another connection only those about its own sessions — never
 * another connection's, a detached one's or an unknown one's.
 */
export function eventReaches(owner: string | null | undefined, clientId: string): boolean {
  return clientId === HOST_CLIENT || (owner !== undefined && owner !== null && owner === clientId);
}
