// The gateway's JSON-RPC methods, one handler per client connection (stdio or attached): each
// method's parameters (and who may call it) are checked here, then the backend does what it
// means for it.
import { RpcError, RpcErrorCode } from '../core/rpc';
import { objectParams, optionalBoolean, optionalFingerprint, optionalNonNegativeInt, optionalString, requiredFingerprint, requiredString } from './params';
import type { Gateway } from './gateway';
import { HOST_CLIENT } from './sessions';

const MAX_COMMAND = 64 * 1024;

/** Methods that reach beyond one client's own sessions: only the host (stdio) may call them. */
function assertHost(clientId: string, method: string, what: string): void {
  if (clientId !== HOST_CLIENT) throw new RpcError(RpcErrorCode.NotOwner, `${method}: only the host (stdio) may ${what}`);
}

export function methodHandler(gw: Gateway, clientId: string) {
  return async (method: string, params: unknown): Promise<unknown> => {
    switch (method) {
      case 'session.create': {
        const p = objectParams(method, params);
        const label = optionalString(method, p, 'label', 200);
        const closeOnDisconnect = optionalBoolean(method, p, 'closeOnDisconnect') ?? false;
        return gw.backend.createSession({ label, closeOnDisconnect }, clientId);
      }
      case 'session.close': {
        const p = objectParams(method, params);
        return { closed: await gw.backend.closeSession(requiredString(method, p, 'sessionId'), 'requested', clientId) };
      }
      case 'session.attach': {
        const p = objectParams(method, params);
        return gw.backend.attachSession(requiredString(method, p, 'sessionId'), clientId);
      }
      case 'session.list':
        objectParams(method, params);
        return gw.backend.listSessions(clientId);
      case 'slash.exec': {
        const p = objectParams(method, params);
        const sessionId = requiredString(method, p, 'sessionId');
        const command = requiredString(method, p, 'command', MAX_COMMAND);
        return gw.backend.exec(sessionId, command, clientId);
      }
      case 'worker.kill': {
        const p = objectParams(method, params);
        const sessionId = requiredString(method, p, 'sessionId');
        return gw.backend.killWorker(sessionId, clientId, optionalFingerprint(method, p));
      }
      case 'process.tree': {
        objectParams(method, params);
        const t = await gw.tree.snapshot();
        return { backend: gw.backend.name, ...t };
      }
      case 'process.kill': {
        const p = objectParams(method, params);
        const { pid, startTime } = requiredFingerprint(method, p);
        const graceMs = optionalNonNegativeInt(method, p, 'graceMs', 60_000);
        // Any process of the tree, other clients' workers included.
        assertHost(clientId, method, 'kill processes of the tree');
        return gw.tree.kill(pid, startTime, graceMs);
      }
      case 'backend.call': {
        const p = objectParams(method, params);
        const name = requiredString(method, p, 'method', 200);
        const inner = p.params;
        if (inner !== undefined && (typeof inner !== 'object' || inner === null)) {
          throw RpcError.invalidParams(`${method}: "params" must be an object or an array`);
        }
        // A pass-through reaches every session of the program, not only this client's.
        assertHost(clientId, method, 'call the backend\'s program directly');
        return gw.backend.call(name, inner);
      }
      case 'gateway.status':
        objectParams(method, params);
        return gw.status();
      case 'gateway.shutdown': {
        const p = objectParams(method, params);
        const graceMs = optionalNonNegativeInt(method, p, 'graceMs', 600_000);
        // It would close every session, the host's too: only the host may.
        assertHost(clientId, method, 'shut the gateway down');
        const result = await gw.shutdown('shutdown', 'gateway.shutdown requested', graceMs);
        gw.requestExit();
        return result;
      }
      default:
        throw RpcError.methodNotFound(method);
    }
  };
}
