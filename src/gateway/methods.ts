// The gateway's JSON-RPC methods, one handler per client connection (stdio or attached).
import { RpcError } from '../core/rpc';
import { objectParams, optionalBoolean, optionalNonNegativeInt, optionalString, requiredString } from './params';
import type { Gateway } from './gateway';

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
        return { closed: await gw.sessions.close(requiredString(method, p, 'sessionId'), 'requested') };
      }
      case 'session.attach': {
        const p = objectParams(method, params);
        const s = gw.sessions.attach(requiredString(method, p, 'sessionId'), clientId);
        return { sessionId: s.id, attached: true };
      }
      case 'session.list':
        objectParams(method, params);
        return { sessions: gw.sessions.list() };
      case 'slash.exec': {
        const p = objectParams(method, params);
        const sessionId = requiredString(method, p, 'sessionId');
        const command = requiredString(method, p, 'command', MAX_COMMAND);
        return { output: await gw.sessions.exec(sessionId, command) };
      }
      case 'gateway.status':
        objectParams(method, params);
        return gw.status();
      case 'gateway.shutdown': {
        const p = objectParams(method, params);
        const graceMs = optionalNonNegativeInt(method, p, 'graceMs', 600_000);
        const result = await gw.shutdown('requested', graceMs);
        gw.requestExit();
        return result;
      }
      default:
        throw RpcError.methodNotFound(method);
    }
  };
}
