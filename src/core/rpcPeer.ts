// Transport-independent JSON-RPC 2.0 endpoint: one text message in, one text message out.
// JsonRpcConnection (rpc.ts) feeds it lines from a byte stream; a WebSocket feeds it frames.
import { RpcError, RpcErrorCode } from './rpcError';

export type RpcId = string | number | null;
export type RequestHandler = (method: string, params: unknown) => unknown;
export type NotificationHandler = (method: string, params: unknown) => void;

export interface RpcPeerOptions {
  /** Default timeout for request() (ms); 0 or undefined: none. */
  requestTimeoutMs?: number;
  /** Where protocol problems are reported (unknown reply ids, handler crashes). Default: stderr. */
  log?: (message: string) => void;
  /**
   * A reply whose id matches no pending request. Default: logged and ignored. A caller that
   * treats it as a broken peer (the gateway does, for workers) can close the connection here.
   */
  onUnexpectedResponse?: (message: { id: unknown; result?: unknown; error?: unknown }) => void;
}

export interface RequestOptions {
  timeoutMs?: number;
}

interface Pending {
  method: string;
  resolve(v: unknown): void;
  reject(e: RpcError): void;
  timer?: NodeJS.Timeout;
}

export class JsonRpcPeer {
  private nextId = 1;
  private readonly pending = new Map<number | string, Pending>();
  private requestHandler?: RequestHandler;
  private readonly notificationHandlers: NotificationHandler[] = [];
  private readonly closeHandlers: ((reason: string) => void)[] = [];
  private closedReason?: string;
  protected readonly log: (message: string) => void;

  constructor(
    private readonly sendText: (text: string) => void,
    protected readonly options: RpcPeerOptions = {},
  ) {
    this.log = options.log ?? ((m) => process.stderr.write(`rpc: ${m}\n`));
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  onRequest(handler: RequestHandler): void {
    this.requestHandler = handler;
  }

  onNotification(handler: NotificationHandler): void {
    this.notificationHandlers.push(handler);
  }

  /** Called once when the connection closes (immediately if it already has). */
  onClose(handler: (reason: string) => void): void {
    if (this.closedReason !== undefined) handler(this.closedReason);
    else this.closeHandlers.push(handler);
  }

  request<T = unknown>(method: string, params?: unknown, opts: RequestOptions = {}): Promise<T> {
    if (this.closedReason !== undefined) {
      return Promise.reject(new RpcError(RpcErrorCode.ConnectionClosed, `connection closed (${this.closedReason}); cannot send ${method}`));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { method, resolve: resolve as (v: unknown) => void, reject };
      const timeoutMs = opts.timeoutMs ?? this.options.requestTimeoutMs;
      if (timeoutMs && timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new RpcError(RpcErrorCode.RequestTimeout, `${method} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.pending.set(id, entry);
      this.send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
    });
  }

  notify(method: string, params?: unknown): void {
    if (this.closedReason !== undefined) return;
    this.send(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
  }

  /** Stops the connection: pending requests reject, close handlers run. */
  dispose(reason = 'disposed'): void {
    this.handleClose(reason);
  }

  /** Feeds one complete message (a line without its newline, or a WebSocket frame). */
  receive(text: string): void {
    if (this.closedReason !== undefined) return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      this.sendError(null, RpcErrorCode.ParseError, `parse error: ${(e as Error).message}`);
      return;
    }
    this.dispatch(msg);
  }

  /** The transport dropped an oversize message. */
  receiveOversize(limitBytes: number): void {
    this.sendError(
      null,
      RpcErrorCode.InvalidRequest,
      `message too large: a line longer than ${limitBytes} bytes was discarded (up to its newline)`,
    );
  }

  protected handleClose(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new RpcError(RpcErrorCode.ConnectionClosed, `connection closed (${reason}) before the reply to ${p.method}`));
      this.pending.delete(id);
    }
    for (const h of this.closeHandlers.splice(0)) {
      try {
        h(reason);
      } catch (e) {
        this.log(`close handler threw: ${(e as Error).message}`);
      }
    }
  }

  private dispatch(msg: unknown): void {
    if (Array.isArray(msg)) {
      this.sendError(null, RpcErrorCode.InvalidRequest, 'invalid request: batch requests are not supported');
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      this.sendError(null, RpcErrorCode.InvalidRequest, 'invalid request: expected a JSON object');
      return;
    }
    const m = msg as Record<string, unknown>;
    const hasId = 'id' in m;
    const idOk = !hasId || m.id === null || typeof m.id === 'string' || (typeof m.id === 'number' && Number.isFinite(m.id));
    const replyId: RpcId = hasId && idOk ? (m.id as RpcId) : null;
    if (m.jsonrpc !== '2.0') {
      this.sendError(replyId, RpcErrorCode.InvalidRequest, 'invalid request: "jsonrpc" must be "2.0"');
      return;
    }
    if (!idOk) {
      this.sendError(null, RpcErrorCode.InvalidRequest, 'invalid request: "id" must be a string, a number or null');
      return;
    }
    if ('method' in m) {
      if (typeof m.method !== 'string') {
        this.sendError(replyId, RpcErrorCode.InvalidRequest, 'invalid request: "method" must be a string');
        return;
      }
      if (m.params !== undefined && (typeof m.params !== 'object' || m.params === null)) {
        this.sendError(replyId, RpcErrorCode.InvalidRequest, 'invalid request: "params" must be an object or an array');
        return;
      }
      if (hasId) void this.handleRequest(replyId, m.method, m.params);
      else this.handleNotification(m.method, m.params);
      return;
    }
    if (hasId && ('result' in m || 'error' in m)) {
      this.handleResponse(m);
      return;
    }
    this.sendError(replyId, RpcErrorCode.InvalidRequest, 'invalid request: neither a request, a notification nor a response');
  }

  private async handleRequest(id: RpcId, method: string, params: unknown): Promise<void> {
    const handler = this.requestHandler;
    if (!handler) {
      this.sendError(id, RpcErrorCode.MethodNotFound, `unknown method: ${method.slice(0, 200)}`);
      return;
    }
    let result: unknown;
    try {
      result = await handler(method, params);
    } catch (e) {
      if (e instanceof RpcError) this.send({ jsonrpc: '2.0', id, error: e.toJSON() });
      else {
        this.log(`handler for ${method} threw: ${(e as Error)?.stack ?? String(e)}`);
        this.sendError(id, RpcErrorCode.InternalError, `internal error in ${method}: ${(e as Error)?.message ?? String(e)}`);
      }
      return;
    }
    this.send({ jsonrpc: '2.0', id, result: result === undefined ? null : result });
  }

  private handleNotification(method: string, params: unknown): void {
    for (const h of this.notificationHandlers) {
      try {
        h(method, params);
      } catch (e) {
        this.log(`notification handler for ${method} threw: ${(e as Error).message}`);
      }
    }
  }

  private handleResponse(m: Record<string, unknown>): void {
    const id = m.id as number | string;
    const p = id === null ? undefined : this.pending.get(id);
    if (!p) {
      if (this.options.onUnexpectedResponse) this.options.onUnexpectedResponse(m as { id: unknown });
      else this.log(`ignoring a reply with unknown id ${JSON.stringify(m.id)}`);
      return;
    }
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if ('error' in m) {
      const err = m.error as { code?: unknown; message?: unknown; data?: unknown } | null;
      const code = typeof err?.code === 'number' ? err.code : RpcErrorCode.InternalError;
      const message = typeof err?.message === 'string' ? err.message : 'error reply without a message';
      p.reject(new RpcError(code, message, err?.data));
    } else {
      p.resolve(m.result);
    }
  }

  private sendError(id: RpcId, code: number, message: string): void {
    this.send({ jsonrpc: '2.0', id, error: { code, message } });
  }

  private send(obj: unknown): void {
    if (this.closedReason !== undefined) return;
    let text: string;
    try {
      text = JSON.stringify(obj);
    } catch (e) {
      const id = (obj as { id?: RpcId }).id ?? null;
      text = JSON.stringify({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.InternalError, message: `cannot serialise reply: ${(e as Error).message}` } });
    }
    try {
      this.sendText(text);
    } catch (e) {
      this.handleClose(`write failed: ${(e as Error).message}`);
    }
  }
}
