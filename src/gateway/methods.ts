// The gateway's JSON-RPC methods, one handler per client connection (stdio or attached).
import { RpcError, RpcErrorCode } from '../core/rpc';
import { objectParams, optionalBoolean, optionalNonNegativeInt, optionalString, requiredString } from './params';
import type { Gateway } from './gateway';
import { HOST_CLIENT } from './sessions';

const MAX_COMMAND = 64 * 1024;

export function methodHandler(gw: Gateway, clientId: string) {
  return async (method: string, params: unknown): Promise<unknown> => {
    switch (method) {
      case 'session.create': {
        const p = objectParams(method, params);
        const label = optionalString(method, p, 'label', 200);
        const closeOnDisconnect = optionalBoolean(method, p, 'closeOnDisconnect') ?? false;
        return { sessionId: gw.sessions.create(label, closeOnDisconnect, clientId).id };
      }
      case 'session.close': {
        const p = objectParams(method, params);
        const sessionId = requiredString(method, p, 'sessionId');
        gw.sessions.assertMayAct(sessionId, clientId, method);
        return { closed: await gw.sessions.close(sessionId, 'requested') };
      }
      case 'session.attach': {
        const p = objectParams(method, params);
        const sessionId = requiredString(method, p, 'sessionId');
        gw.sessions.assertMayAct(sessionId, clientId, method);
        const s = gw.sessions.attach(sessionId, clientId);
        return { sessionId: s.id, attached: true };
      }
      case 'session.list':
        objectParams(method, params);
        return { sessions: gw.sessions.list() };
      case 'worker.kill': {
        const p = objectParams(method, params);
        const sessionId = requiredString(method, p, 'sessionId');
        gw.sessions.assertMayAct(sessionId, clientId, method);
        return gw.sessions.killWorker(sessionId);
      }
      case 'slash.exec': {
        const p = objectParams(method, params);
        const sessionId = requiredString(method, p, 'sessionId');
        const command = requiredString(method, p, 'command', MAX_COMMAND);
        gw.sessions.assertMayAct(sessionId, clientId, method);
        return { output: await gw.sessions.exec(sessionId, command) };
      }
      case 'gateway.status':
        objectParams(method, params);
        return gw.status();
      case 'gateway.shutdown': {
        const p = objectParams(method, params);
        const graceMs = optionalNonNegativeInt(method, p, 'graceMs', 600_000);
        // It would close every session, the host's too: only the host may.
        if (clientId !== HOST_CLIENT) throw new RpcError(RpcErrorCode.NotOwner, `${method}: only the host (stdio) may shut the gateway down`);
        const result = await gw.shutdown('requested', graceMs);
        gw.requestExit();
        return result;
      }
      default:
        throw RpcError.methodNotFound(method);
    }
  };
}
