// The optional attach endpoint: a WebSocket server on 127.0.0.1 speaking the same JSON-RPC, for
// other clients (a dashboard, a TUI). A random token, written to a file only the user can read
// (tokenFile.ts), must be presented (Authorization: Bearer, X-Gateway-Warden-Token, or ?token=);
// a request from a browser (any Origin header) is refused. We own the listening socket: every
// accepted connection goes through admission (attachAdmission.ts: caps, and a deadline to
// authenticate that also covers sockets that never send a byte) before HTTP sees it.
// Half-open connections are found by ping and terminated, which counts as a disconnect. A client
// has at most MAX_ATTACH_REQUESTS_IN_FLIGHT requests running, and one that does not read its
// output is closed once MAX_UNSENT_LINES lines' worth waits for it.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, IncomingMessage, STATUS_CODES } from 'node:http';
import { createServer as createTcpServer, Server as TcpServer, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { JsonRpcPeer } from '../core/rpc';
import { AttachAdmission } from './attachAdmission';
import { loopbackPeerUids } from './attachPeerUid';
import type { AttachInfo, Gateway } from './gateway';
import { createTokenFile } from './tokenFile';

/** Connections waiting to authenticate at once; more are destroyed as they arrive. */
export const MAX_PENDING_CONNECTIONS = 8;
/** Open connections in all (pending and authenticated). */
export const MAX_ATTACH_CONNECTIONS = 64;
/** Requests one attached client may have running at once; more are refused with -32010. */
export const MAX_ATTACH_REQUESTS_IN_FLIGHT = 64;
/** Output a client has not taken yet, in lines of --max-line-bytes; past it the client is closed. */
export const MAX_UNSENT_LINES = 4;

export interface AttachServer {
  info: AttachInfo;
  /** Connections now (pending authentication, held for a triage, open in all) and refusals since start. */
  stats(): { pending: number; waiting: number; open: number; refused: Record<string, number>; acceptErrors: number };
  close(): void;
}

export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  const header = req.headers['x-gateway-warden-token'];
  if (typeof header === 'string') return header.trim();
  try {
    return new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('token') ?? undefined;
  } catch {
    return undefined;
  }
}

function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A complete HTTP answer that refuses an upgrade and closes the connection. */
function httpRefusal(status: number, text: string): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

function listen(server: TcpServer, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Creates the token file and listens. Throws with the reason when either cannot be done
 * safely (nothing is left behind then); the caller keeps the gateway running without it.
 */
export async function startAttachServer(gw: Gateway, port: number, tokenFilePath?: string): Promise<AttachServer> {
  const token = randomBytes(32).toString('hex');
  const tokenFile = createTokenFile(token, tokenFilePath, process.env, gw.log);
  const admission = new AttachAdmission(
    { handshakeTimeoutMs: gw.options.attachHandshakeTimeoutMs, maxPending: MAX_PENDING_CONNECTIONS, maxConnections: MAX_ATTACH_CONNECTIONS },
    gw.log,
    undefined,
    (sockets) => loopbackPeerUids(sockets),
  );
  const wss = new WebSocketServer({ noServer: true, maxPayload: gw.options.maxLineBytes });
  // HTTP parsing only for admitted sockets; it never listens itself.
  const http = createHttpServer((_req, res) => {
    res.writeHead(426, { Connection: 'close', 'Content-Type': 'text/plain' });
    res.end('WebSocket upgrade required\n');
  });
  http.on('clientError', (_e, socket) => socket.destroy());
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (req.headers.origin !== undefined) {
      admission.refuse(socket, 'with a browser Origin', httpRefusal(403, 'browser origins are refused\n'));
      return;
    }
    if (!sameToken(presentedToken(req), token)) {
      admission.refuse(socket, 'without a valid token', httpRefusal(401, 'a valid token is required\n'));
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (admission.authenticated(socket)) onClient(ws);
      else ws.terminate(); // the deadline passed during the handshake
    });
  });
  const tcp = createTcpServer((socket) => admission.admit(socket, () => http.emit('connection', socket)));
  try {
    await listen(tcp, port);
  } catch (e) {
    tokenFile.remove();
    throw e;
  }
  // After listening, errors are accept failures. libuv absorbs EMFILE/ENFILE itself (it accepts
  // and closes the waiting connections on a spare descriptor); what still arrives here is logged
  // at most once per window, and the server keeps listening.
  let lastAcceptError = 0;
  let acceptErrors = 0;
  tcp.on('error', (e) => {
    acceptErrors++;
    if (Date.now() - lastAcceptError < 10_000) return;
    lastAcceptError = Date.now();
    gw.log(`attach: accept failed (${e.message}); ${acceptErrors} failure(s) so far; still listening`);
  });
  const address = tcp.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;

  let n = 0;
  const alive = new WeakMap<WebSocket, boolean>();
  const onClient = (ws: WebSocket) => {
    const id = `ws-${++n}`;
    alive.set(ws, true);
    // A client that does not read would have its replies and events queue here without end.
    const maxUnsentBytes = MAX_UNSENT_LINES * gw.options.maxLineBytes;
    const send = (text: string) => {
      ws.send(text);
      if (ws.bufferedAmount <= maxUnsentBytes) return;
      gw.log(`attach: closing client ${id}: ${ws.bufferedAmount} bytes sent to it are still unread, over the bound of ${maxUnsentBytes} (${MAX_UNSENT_LINES} × --max-line-bytes); it does not read what it is sent`);
      ws.terminate();
      peer.dispose('client not reading');
    };
    const peer = new JsonRpcPeer(send, {
      log: (m) => gw.log(`attach ${id}: ${m}`),
      maxMessageBytes: gw.options.maxLineBytes,
      maxRequestsInFlight: MAX_ATTACH_REQUESTS_IN_FLIGHT,
    });
    ws.on('pong', () => alive.set(ws, true));
    ws.on('message', (data) => {
      // One message per frame; a frame may also carry several newline-separated messages.
      for (const line of data.toString().split('\n')) {
        if (peer.isClosed) break;
        if (line.trim()) peer.receive(line.replace(/\r$/, ''));
      }
    });
    ws.on('close', () => peer.dispose('client disconnected'));
    ws.on('error', (e) => gw.log(`attach ${id}: ${e.message}`));
    gw.addClient(id, peer);
    gw.log(`attach: client ${id} connected`);
  };
  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.get(ws)) {
        gw.log('attach: a client did not answer ping; dropping it');
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, gw.options.pingMs);
  pinger.unref();

  return {
    info: { url: `ws://127.0.0.1:${actualPort}/`, port: actualPort, tokenFile: tokenFile.path },
    stats: () => ({ pending: admission.pendingCount, waiting: admission.waitingCount, open: admission.openCount, refused: admission.refusals(), peerLookups: admission.peerLookups(), acceptErrors }),
    close() {
      clearInterval(pinger);
      for (const ws of wss.clients) ws.terminate();
      admission.closeAll();
      wss.close();
      tcp.close();
      tokenFile.remove();
    },
  };
}
