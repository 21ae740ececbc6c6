// A test client for the gateway's attach endpoint (--listen): connect with or without the token,
// speak JSON-RPC over the socket, and find the endpoint in gateway.ready.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import WebSocket from 'ws';
import { JsonRpcPeer } from '../../src/core/rpc';
import { procNetEndpoint } from '../../src/gateway/attachPeerUid';
import type { GatewayEvent, HostedGateway } from './gatewayHost';

export interface AttachEndpoint {
  url: string;
  port: number;
  tokenFile: string;
}

// Private token directories of the gateways seen here: a gateway SIGKILLed by a failing test's
// cleanup cannot remove its own.
const tokenDirs = new Set<string>();

/** The endpoint announced in gateway.ready (fails the test when it is absent or an error). */
export function attachOf(g: HostedGateway): AttachEndpoint {
  const ready = g.events.find((e) => e.type === 'gateway.ready') as GatewayEvent & { attach?: AttachEndpoint & { error?: string } };
  if (!ready.attach?.url) throw new Error(`no attach endpoint in gateway.ready: ${JSON.stringify(ready.attach)}`);
  const dir = path.dirname(ready.attach.tokenFile);
  if (path.basename(ready.attach.tokenFile) === 'token' && path.basename(dir).startsWith('gateway-warden-')) tokenDirs.add(dir);
  return ready.attach;
}

/** Removes the token directories left by gateways that could not shut down. Call from `after`. */
export function removeTokenDirs(): void {
  for (const dir of tokenDirs) fs.rmSync(dir, { recursive: true, force: true });
  tokenDirs.clear();
}

export function tokenOf(a: AttachEndpoint): string {
  return fs.readFileSync(a.tokenFile, 'utf8').trim();
}

/** Connects; resolves with the socket or rejects with the HTTP status of a refusal. */
export function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`refused with HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

export function connectWithToken(a: AttachEndpoint): Promise<WebSocket> {
  return connect(a.url, { Authorization: `Bearer ${tokenOf(a)}` });
}

export function peerOf(ws: WebSocket): JsonRpcPeer {
  const peer = new JsonRpcPeer((text) => ws.send(text), { log: () => undefined });
  ws.on('message', (d) => peer.receive(d.toString()));
  ws.on('close', () => peer.dispose('closed'));
  return peer;
}

/** A raw TCP connection to the endpoint, open (resolves once connected). */
export function rawSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with the ms from now until the socket closes (the peer closed or reset it). */
export function closedWithin(s: net.Socket): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    s.on('error', () => undefined);
    if (s.destroyed) resolve(0);
    else s.once('close', () => resolve(Date.now() - t0));
  });
}

/**
 * The server side of a listening port's connections, from /proc/net/tcp: each row whose local end
 * is 127.0.0.1:`port` (the listener itself excluded), keyed by the client's port. A connection the
 * client sees as open with no row here has no state in the kernel's server side at all: its final
 * handshake ACK was dropped (accept queue full, SYN cookies) and it will never reach the listener
 * unless the client sends something.
 */
export function serverSideRows(port: number, table = '/proc/net/tcp'): Map<number, { state: string; inode: string }> {
  const local = procNetEndpoint('127.0.0.1', port);
  const rows = new Map<number, { state: string; inode: string }>();
  for (const line of fs.readFileSync(table, 'latin1').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[1] !== local || f[3] === TCP_LISTEN) continue;
    rows.set(parseInt(f[2].split(':')[1], 16), { state: f[3], inode: f[9] });
  }
  return rows;
}
const TCP_LISTEN = '0A';
