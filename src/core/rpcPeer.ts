// Transport-independent JSON-RPC 2.0 endpoint: one text message in, one text message out.
// JsonRpcConnection (rpc.ts) feeds it lines from a byte stream; a WebSocket feeds it frames.
import { RpcError, RpcErrorCode } from './rpcError';
import { readMessageHead } from './rpcHead';

export type RpcId = string | number | null;

/** Longest id text in a log line: a peer may send an id of any size at no cost to itself. */
const MAX_LOGGED_ID_CHARS = 80;

/** An id (anything a peer sent as one) as bounded log text. */
export function idForLog(id: unknown): string {
  const text = JSON.stringify(id) ?? String(id);
  return text.length > MAX_LOGGED_ID_CHARS ? `${text.slice(0, MAX_LOGGED_ID_CHARS)}…` : text;
}
/** `id` is the request's own id (for a handler that must answer on the wire itself, e.g. tests). */
export type RequestHandler = (method: string, params: unknown, id: RpcId) => unknown;
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
  /**
   * The largest message (UTF-8 bytes, without the newline) the other side accepts. Nothing larger
   * is sent: a reply becomes a MessageTooLarge error for its id, a request rejects at once, a
   * notification is dropped with a log line. Default: no limit.
   */
  maxMessageBytes?: number;
  /**
   * Requests from the other side that may run at once. One more is answered at once with
   * LimitReached (`data: {limit: "maxRequestsInFlight", value}`) and never run: a client cannot
   * start thousands of handlers with one write. Default: no limit (a peer whose other side is
   * our own code, e.g. a worker answering its gateway).
   */
  maxRequestsInFlight?: number;
}

/** The `data` of the error a request over RpcPeerOptions.maxRequestsInFlight gets. */
export interface RequestsInFlightLimitData {
  limit: 'maxRequestsInFlight';
  value: number;
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
  /** Requests of the other side whose handler has not finished (the maxRequestsInFlight count). */
  private running = 0;
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

  /** Requests of the other side being handled now. */
  get requestsInFlight(): number {
    return this.running;
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

  request<T = unknown>(method: string, params?: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
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
      const unsent = this.sendMessage(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
      if (unsent instanceof Error) {
        this.settle(id, entry);
        reject(RpcError.invalidParams(`${method} not sent: its params cannot be serialised (${unsent.message})`));
      } else if (unsent !== undefined) {
        this.settle(id, entry);
        reject(new RpcError(RpcErrorCode.MessageTooLarge, `${method} not sent: the request is ${unsent} bytes, over this connection's limit of ${this.options.maxMessageBytes} bytes`));
      }
    });
  }

  notify(method: string, params?: unknown): void {
    if (this.closedReason !== undefined) return;
    const unsent = this.sendMessage(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
    if (unsent instanceof Error) this.log(`dropped the notification ${method}: its params cannot be serialised (${unsent.message})`);
    else if (unsent !== undefined) this.log(`dropped the notification ${method}: ${unsent} bytes, over the limit of ${this.options.maxMessageBytes} bytes`);
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

  /**
   * The transport dropped an oversize message; `head` is its beginning. A reply fails its request
   * now (rather than at its timeout); a request gets its error under its own id. When the head does
   * not say whose message it was, every request in flight fails: one of them lost its reply for good.
   */
  receiveOversize(limitBytes: number, head = ''): void {
    if (this.closedReason !== undefined) return;
    const seen = readMessageHead(head);
    if (seen.kind === 'response' && seen.id !== undefined) {
      const p = seen.id === null ? undefined : this.pending.get(seen.id);
      if (p) {
        this.settle(seen.id!, p);
        p.reject(new RpcError(RpcErrorCode.MessageTooLarge, `the reply to ${p.method} was larger than ${limitBytes} bytes and was discarded`));
      } else if (this.options.onUnexpectedResponse) {
        this.options.onUnexpectedResponse({ id: seen.id });
      } else {
        this.log(`discarded a reply larger than ${limitBytes} bytes with unknown id ${idForLog(seen.id)}`);
      }
      return;
    }
    const id = seen.kind === 'request' && seen.id !== undefined ? seen.id : null;
    this.sendError(id, RpcErrorCode.InvalidRequest, `message too large: a line longer than ${limitBytes} bytes was discarded (up to its newline)`);
    if (seen.kind === 'request' || this.pending.size === 0) return;
    const methods = [...this.pending.values()].map((p) => p.method);
    this.log(`discarded a message larger than ${limitBytes} bytes that may be a reply; failing ${methods.length} request(s) in flight`);
    for (const [pendingId, p] of this.pending) {
      this.settle(pendingId, p);
      p.reject(new RpcError(RpcErrorCode.MessageTooLarge, `a message larger than ${limitBytes} bytes arrived in place of a reply and was discarded; ${p.method} failed with every request in flight (${methods.join(', ')})`));
    }
  }

  protected handleClose(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const [id, p] of this.pending) {
      this.settle(id, p);
      p.reject(new RpcError(RpcErrorCode.ConnectionClosed, `connection closed (${reason}) before the reply to ${p.method}`));
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
    const max = this.options.maxRequestsInFlight;
    if (max !== undefined && this.running >= max) {
      const data: RequestsInFlightLimitData = { limit: 'maxRequestsInFlight', value: max };
      const error = new RpcError(
        RpcErrorCode.LimitReached,
        `maxRequestsInFlight limit reached (${max}): ${max} requests of this connection are still running, so ${JSON.stringify(method.slice(0, 200))} was not run. Wait for their replies before sending more.`,
        data,
      );
      this.sendReply(id, method, { jsonrpc: '2.0', id, error: error.toJSON() });
      return;
    }
    let result: unknown;
    this.running++;
    try {
      result = await handler(method, params, id);
    } catch (e) {
      this.running--;
      if (e instanceof RpcError) this.sendReply(id, method, { jsonrpc: '2.0', id, error: e.toJSON() });
      else {
        this.log(`handler for ${method} threw: ${(e as Error)?.stack ?? String(e)}`);
        this.sendError(id, RpcErrorCode.InternalError, `internal error in ${method}: ${(e as Error)?.message ?? String(e)}`);
      }
      return;
    }
    // Counted down before the reply goes out: a client that has its reply may send the next one.
    this.running--;
    this.sendReply(id, method, { jsonrpc: '2.0', id, result: result === undefined ? null : result });
  }

  /** A reply the other side could not take is replaced by an error it can: never a silent drop. */
  private sendReply(id: RpcId, method: string, reply: unknown): void {
    const tooLarge = this.send(reply);
    if (tooLarge === undefined) return;
    this.log(`the reply to ${method} (${tooLarge} bytes) exceeds the limit of ${this.options.maxMessageBytes} bytes; sending an error instead`);
    this.sendError(id, RpcErrorCode.MessageTooLarge, `the reply to ${method} is ${tooLarge} bytes, over the connection's limit of ${this.options.maxMessageBytes} bytes; it was not sent`);
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
      else this.log(`ignoring a reply with unknown id ${idForLog(m.id)}`);
      return;
    }
    this.settle(id, p);
    if ('error' in m) {
      const err = m.error as { code?: unknown; message?: unknown; data?: unknown } | null;
      const code = typeof err?.code === 'number' ? err.code : RpcErrorCode.InternalError;
      const message = typeof err?.message === 'string' ? err.message : 'error reply without a message';
      p.reject(new RpcError(code, message, err?.data));
    } else {
      p.resolve(m.result);
    }
  }

  private settle(id: number | string, p: Pending): void {
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
  }

  private sendError(id: RpcId, code: number, message: string): void {
    const tooLarge = this.send({ jsonrpc: '2.0', id, error: { code, message } });
    // Only an enormous id can do this: nothing smaller can be said under that id.
    if (tooLarge !== undefined) this.log(`cannot send an error reply under id ${idForLog(id)}: ${tooLarge} bytes, over the limit`);
  }

  /**
   * Serialises and writes one reply. Returns its size when it is over the limit (not sent); one
   * that cannot be serialised (a cycle, nesting too deep) goes as an InternalError under its id.
   */
  private send(obj: unknown): number | undefined {
    let text: string;
    try {
      text = JSON.stringify(obj);
    } catch (e) {
      const id = (obj as { id?: RpcId }).id ?? null;
      text = JSON.stringify({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.InternalError, message: `cannot serialise reply: ${(e as Error).message}` } });
    }
    return this.write(text);
  }

  /**
   * A request or notification of ours: one that cannot be serialised is not sent at all (the
   * Error says why) — an error reply in its place would reach the other side under an id it never
   * issued. Else as send().
   */
  private sendMessage(obj: unknown): number | Error | undefined {
    let text: string;
    try {
      text = JSON.stringify(obj);
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
    return this.write(text);
  }

  /** Writes one serialised message. Returns its size when it is over the limit (not sent). */
  private write(text: string): number | undefined {
    if (this.closedReason !== undefined) return undefined;
    const limit = this.options.maxMessageBytes;
    // Three bytes per UTF-16 unit is UTF-8's worst case: most messages need no exact count.
    if (limit !== undefined && text.length * 3 > limit) {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > limit) return bytes;
    }
    try {
      this.sendText(text);
    } catch (e) {
      this.handleClose(`write failed: ${(e as Error).message}`);
    }
    return undefined;
  }
}
