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
