// The optional attach endpoint: a WebSocket server on 127.0.0.1 speaking the same JSON-RPC, for
// other clients (a dashboard, a TUI). A random token, written to a file only the user can read,
// must be presented (Authorization: Bearer, X-Gateway-Warden-Token, or ?token=). Half-open
// connections are found by ping and terminated, which counts as a disconnect.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { JsonRpcPeer } from '../core/rpc';
import type { AttachInfo, Gateway } from './gateway';

export interface AttachServer {
  info: AttachInfo;
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

function writeTokenFile(file: string, token: string): void {
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  fs.chmodSync(file, 0o600); // whatever the umask
}

export async function startAttachServer(gw: Gateway, port: number, tokenFile?: string): Promise<AttachServer> {
  const token = randomBytes(32).toString('hex');
  const file = tokenFile ?? path.join(os.tmpdir(), `gateway-warden-${process.pid}.token`);
  writeTokenFile(file, token);
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port,
    maxPayload: gw.options.maxLineBytes,
    verifyClient: (info: { req: IncomingMessage }, cb: (ok: boolean, code?: number, message?: string) => void) => {
      if (sameToken(presentedToken(info.req), token)) cb(true);
      else {
        gw.log(`attach: refused a connection without a valid token from ${info.req.socket.remoteAddress}`);
        cb(false, 401, 'Unauthorized');
      }
    },
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('error', (e) => gw.log(`attach server error: ${e.message}`));
  const address = wss.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;

  let n = 0;
  const alive = new WeakMap<WebSocket, boolean>();
  wss.on('connection', (ws) => {
    const id = `ws-${++n}`;
    alive.set(ws, true);
    const peer = new JsonRpcPeer((text) => ws.send(text), { log: (m) => gw.log(`attach ${id}: ${m}`), maxMessageBytes: gw.options.maxLineBytes });
    ws.on('pong', () => alive.set(ws, true));
    ws.on('message', (data) => {
      // One message per frame; a frame may also carry several newline-separated messages.
      for (const line of data.toString().split('\n')) if (line.trim()) peer.receive(line.replace(/\r$/, ''));
    });
    ws.on('close', () => peer.dispose('client disconnected'));
    ws.on('error', (e) => gw.log(`attach ${id}: ${e.message}`));
    gw.addClient(id, peer);
    gw.log(`attach: client ${id} connected`);
  });
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
    info: { url: `ws://127.0.0.1:${actualPort}/`, port: actualPort, tokenFile: file },
    close() {
      clearInterval(pinger);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      fs.rmSync(file, { force: true });
    },
  };
}
