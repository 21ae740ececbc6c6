// JSON-RPC 2.0 error codes and the error type requests reject with.

export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Implementation-defined (-32000..-32099): refused at once because a cap is reached; `data` names it. */
  LimitReached: -32010,
  /** Implementation-defined: the method exists, but this gateway's backend does not offer it (sessions on the command backend). */
  NotSupported: -32020,
  /** Implementation-defined: the backend's program is not running (it failed to start, or exited); the message says why. */
  BackendUnavailable: -32021,
  /** Implementation-defined (-32000..-32099): no reply within the request's timeout. */
  RequestTimeout: -32001,
  /** Implementation-defined: the connection closed before the reply arrived. */
  ConnectionClosed: -32002,
  /** Implementation-defined: the request failed in the server (worker died, session closed …). */
  ServerError: -32000,
  /** Implementation-defined: the message (a reply, usually) exceeds the connection's size limit. */
  MessageTooLarge: -32011,
  /** Implementation-defined: not this connection's to act on (another's session; the gateway). */
  NotOwner: -32012,
} as const;

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  static invalidParams(message: string, data?: unknown): RpcError {
    return new RpcError(RpcErrorCode.InvalidParams, message, data);
  }

  static methodNotFound(method: string): RpcError {
    return new RpcError(RpcErrorCode.MethodNotFound, `unknown method: ${JSON.stringify(method).slice(0, 200)}`);
  }

  toJSON(): { code: number; message: string; data?: unknown } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}
