// Who is on the other end of an accepted loopback TCP connection (Linux): the client's own socket
// is a row of /proc/net/tcp whose local address is the connection's remote end and whose remote
// address is our listening end; that row's uid column is the user who opened it. The token file
// (0600) already keeps other users from authenticating; knowing their uid at accept lets the
// endpoint close their sockets before they take a pending slot, so a stranger's sustained
// reconnect flood cannot crowd out our own user's clients (identd has read the same table for
// decades). Unknown (not Linux, not IPv4 loopback, row not found: the client already closed, or
// the table is larger than we read) is said as unknown; admission then falls back to its caps.
import * as fs from 'node:fs';
import * as os from 'node:os';

export type PeerUid = { state: 'found'; uid: number } | { state: 'unknown'; why: string };

export interface TcpEnds {
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
}

/** At most this much of /proc/net/tcp is read per connection (~27,000 sockets). */
const MAX_TABLE_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

/** An IPv4 address and port as /proc/net/tcp prints them (the address in host byte order). */
export function procNetEndpoint(address: string, port: number, endianness: 'LE' | 'BE' = os.endianness()): string | undefined {
  const parts = address.replace(/^::ffff:/i, '').split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  const bytes = endianness === 'LE' ? [...parts].reverse() : parts;
  const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
  return `${bytes.map((b) => hex(b, 2)).join('')}:${hex(port, 4)}`;
}

/**
 * The uid of the socket at the far end of each of `conns` (accepted connections), in one read of
 * /proc/net/tcp that stops once every one is found.
 */
export function loopbackPeerUids(conns: readonly TcpEnds[], table = '/proc/net/tcp'): PeerUid[] {
  const out: PeerUid[] = conns.map(() => ({ state: 'unknown', why: 'no such socket (the client closed)' }));
  if (process.platform !== 'linux') return out.fill({ state: 'unknown', why: `not Linux (${process.platform})` });
  // "their end ours end" as the client's row prints them → the indexes that ask for it.
  const wanted = new Map<string, number[]>();
  conns.forEach(({ localAddress, localPort, remoteAddress, remotePort }, i) => {
    if (!localAddress || !remoteAddress || localPort === undefined || remotePort === undefined) {
      out[i] = { state: 'unknown', why: 'the connection has no addresses (closed)' };
      return;
    }
    const theirs = procNetEndpoint(remoteAddress, remotePort);
    const ours = procNetEndpoint(localAddress, localPort);
    if (!theirs || !ours) {
      out[i] = { state: 'unknown', why: `not an IPv4 connection (${remoteAddress})` };
      return;
    }
    const key = `${theirs} ${ours}`;
    wanted.set(key, [...(wanted.get(key) ?? []), i]);
  });
  if (wanted.size === 0) return out;
  const unreadable = (why: string) => {
    for (const is of wanted.values()) for (const i of is) out[i] = { state: 'unknown', why };
    return out;
  };
  let fd: number;
  try {
    fd = fs.openSync(table, 'r');
  } catch (e) {
    return unreadable(`cannot read ${table}: ${(e as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(CHUNK_BYTES);
    let carry = '';
    let read = 0;
    const take = (line: string) => {
      const row = clientRow(line, wanted);
      const is = row && wanted.get(row.key);
      if (!row || !is) return;
      for (const i of is) out[i] = { state: 'found', uid: row.uid };
      wanted.delete(row.key);
    };
    while (wanted.size > 0) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) {
        take(carry);
        break;
      }
      read += n;
      const lines = (carry + buf.toString('latin1', 0, n)).split('\n');
      carry = lines.pop()!;
      for (const line of lines) take(line);
      if (wanted.size > 0 && read >= MAX_TABLE_BYTES) return unreadable(`the socket table is larger than ${MAX_TABLE_BYTES} bytes`);
    }
    return out;
  } catch (e) {
    return unreadable(`cannot read ${table}: ${(e as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** One connection's peer uid (loopbackPeerUids for one). */
export function loopbackPeerUid(ends: TcpEnds, table?: string): PeerUid {
  return loopbackPeerUids([ends], table)[0];
}

// "  sl  local_address rem_address   st tx_queue:rx_queue tr:tm->when retrnsmt   uid  timeout inode"
// Most rows are not asked about: their two address columns (fixed width after "sl:") are looked
// up first, and only a wanted row is split. A row with inode 0 belongs to no open socket any
// more (TIME_WAIT: its uid column reads 0).
const ADDRESS_WIDTH = 13; // 0100007F:1F90
function clientRow(line: string, wanted: ReadonlyMap<string, unknown>): { key: string; uid: number } | undefined {
  const colon = line.indexOf(': ');
  if (colon < 0) return undefined;
  const key = line.slice(colon + 2, colon + 3 + 2 * ADDRESS_WIDTH);
  if (!wanted.has(key)) return undefined;
  const f = line.slice(colon + 2).trim().split(/\s+/);
  if (f.length < 9 || f[8] === '0') return undefined;
  const uid = Number(f[6]);
  return Number.isSafeInteger(uid) && uid >= 0 ? { key, uid } : undefined;
}
