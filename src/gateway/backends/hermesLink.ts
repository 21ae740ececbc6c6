// The JSON-RPC link to the hermes gateway over its stdio: newline-delimited JSON-RPC 2.0, replies
// matched to requests by id (hermes answers pool handlers out of order), its notifications —
// method "event", params {type, session_id?, payload?} — handed on, and its first gateway.ready
// awaited. A line that is not JSON is not answered (hermes' stdout is protocol only; anything
// else means the program is not a hermes gateway): the first few are kept for the error message.
// A reply over the line limit fails its request at once; hermes is never sent an error for it.
import { LineDecoder } from '../../core/lineDecoder';
import type { Writable } from 'node:stream';
import { idForLog, JsonRpcPeer, RpcError, RpcErrorCode } from '../../core/rpc';
import { readMessageHead } from '../../core/rpcHead';

/** Non-JSON lines kept for the error message (the rest are only counted). */
const MAX_NOISE_LINES = 5;
const MAX_NOISE_CHARS = 300;
/**
 * Requests hermes has not read yet, in lines of --max-line-bytes, above which new ones are refused:
 * a hermes that stops reading its stdin would otherwise have them pile up here without bound.
 */
const MAX_UNREAD_LINES = 4;

export interface HermesNotification {
  type: string;
  sessionId?: string;
  /** params as hermes sent them ({type, session_id?, payload?}). */
  raw: Record<string, unknown>;
}

export class HermesLink {
  readonly peer: JsonRpcPeer;
  /** Resolves on hermes' gateway.ready event. */
  readonly ready: Promise<void>;
  readonly noise: string[] = [];
  noiseCount = 0;
  private readonly listeners: ((n: HermesNotification) => void)[] = [];
  private readonly maxUnreadBytes: number;

  constructor(stdout: NodeJS.ReadableStream, private readonly stdin: Writable, maxLineBytes: number, log: (m: string) => void) {
    this.maxUnreadBytes = MAX_UNREAD_LINES * maxLineBytes;
    this.peer = new JsonRpcPeer((text) => {
      stdin.write(text + '\n');
    }, {
      log,
      // A late reply (its request timed out here) is expected with a slow hermes: note it only.
      onUnexpectedResponse: (m) => log(`hermes: a reply with id ${idForLog(m.id)} came after its request was given up`),
    });
    let markReady!: () => void;
    this.ready = new Promise((r) => (markReady = r));
    this.peer.onNotification((method, params) => {
      if (method !== 'event' || typeof params !== 'object' || params === null || Array.isArray(params)) return;
      const raw = params as Record<string, unknown>;
      if (typeof raw.type !== 'string' || raw.type === '') return;
      if (raw.type === 'gateway.ready') markReady();
      const n: HermesNotification = { type: raw.type, raw };
      if (typeof raw.session_id === 'string' && raw.session_id) n.sessionId = raw.session_id;
      for (const l of this.listeners) l(n);
    });
    const decoder = new LineDecoder(maxLineBytes, {
      line: (text) => {
        try {
          JSON.parse(text);
        } catch {
          this.addNoise(text);
          return;
        }
        this.peer.receive(text);
      },
      oversize: (limit, head) => {
        const seen = readMessageHead(head);
        if (seen.kind === 'response' && seen.id !== undefined) {
          // hermes answered, too large to keep: its request fails now (not at its timeout, 75 s
          // for slash.exec), as on any of our connections. An answer, not noise.
          log(`hermes: a reply (id ${idForLog(seen.id)}) longer than ${limit} bytes was discarded`);
          this.peer.receiveOversize(limit, head);
          return;
        }
        log(`hermes: a stdout line longer than ${limit} bytes was discarded`);
        this.addNoise(`(a line longer than ${limit} bytes)`);
      },
    });
    stdout.on('data', (c: Buffer) => decoder.push(c));
    stdout.on('end', () => {
      decoder.end();
      this.peer.dispose('the hermes gateway closed its stdout');
    });
    stdout.on('close', () => this.peer.dispose('the hermes gateway closed its stdout'));
    stdout.on('error', (e: Error) => this.peer.dispose(`hermes stdout error: ${e.message}`));
  }

  /** A request to hermes; refused at once while what was sent to it before still lies unread. */
  request<T = unknown>(method: string, params: unknown, opts: { timeoutMs?: number }): Promise<T> {
    const unread = this.stdin.writableLength;
    if (unread > this.maxUnreadBytes) {
      return Promise.reject(new RpcError(
        RpcErrorCode.BackendUnavailable,
        `the hermes gateway is not reading its input: ${unread} bytes sent to it are still unread, over the bound of ${this.maxUnreadBytes} (${MAX_UNREAD_LINES} × --max-line-bytes); ${method.slice(0, 200)} was not sent`,
        { backend: 'hermes', unreadBytes: unread },
      ));
    }
    return this.peer.request<T>(method, params, opts);
  }

  onNotification(listener: (n: HermesNotification) => void): void {
    this.listeners.push(listener);
  }

  /** "; its stdout said: `…`" when it wrote something that is not JSON-RPC. */
  noiseNote(): string {
    if (this.noiseCount === 0) return '';
    const more = this.noiseCount > this.noise.length ? ` (and ${this.noiseCount - this.noise.length} more line(s))` : '';
    return `; instead of JSON-RPC its stdout said: ${this.noise.map((l) => JSON.stringify(l)).join(' / ')}${more}`;
  }

  private addNoise(line: string): void {
    this.noiseCount++;
    if (this.noise.length < MAX_NOISE_LINES) this.noise.push(line.length > MAX_NOISE_CHARS ? line.slice(0, MAX_NOISE_CHARS) + '…' : line);
  }
}
