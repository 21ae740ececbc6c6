// The /proc/net/tcp reading behind the attach endpoint's stranger check, on tables written here
// (the real table is read in test/process/gatewayAttachStranger.test.ts).
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loopbackPeerUid, loopbackPeerUids, procNetEndpoint } from '../../src/gateway/attachPeerUid';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-peeruid-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const linux = process.platform === 'linux';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const row = (sl: number, local: string, remote: string, uid: number, inode: number, st = '01') =>
  `  ${sl}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000  ${uid}        0 ${inode} 1 0000000000000000 20 4 30 10 -1\n`;

function table(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const ends = { localAddress: '127.0.0.1', localPort: 8080, remoteAddress: '127.0.0.1', remotePort: 40000 };
const theirs = procNetEndpoint('127.0.0.1', 40000)!;
const ours = procNetEndpoint('127.0.0.1', 8080)!;

test('addresses print as the kernel prints them: host byte order, big-endian port', () => {
  assert.equal(procNetEndpoint('127.0.0.1', 8080, 'LE'), '0100007F:1F90');
  assert.equal(procNetEndpoint('127.0.0.1', 8080, 'BE'), '7F000001:1F90');
  assert.equal(procNetEndpoint('::ffff:127.0.0.1', 1, 'LE'), '0100007F:0001');
  for (const [a, p] of [['::1', 80], ['127.0.0', 80], ['127.0.0.256', 80], ['127.0.0.1', 0], ['127.0.0.1', 70000]] as const) {
    assert.equal(procNetEndpoint(a, p), undefined, `${a}:${p}`);
  }
});

test('the client socket\'s row gives the uid; our own row, a TIME_WAIT row and garbage do not', { skip: !linux }, () => {
  const t = table('tcp', HEADER + 'garbage line\n' + row(0, ours, theirs, 0, 111) + row(1, theirs, ours, 1000, 222));
  assert.deepEqual(loopbackPeerUid(ends, t), { state: 'found', uid: 1000 });
  const timeWait = table('tcp-tw', HEADER + row(0, ours, theirs, 0, 111) + row(1, theirs, ours, 0, 0, '06'));
  assert.match((loopbackPeerUid(ends, timeWait) as { why: string }).why, /no such socket/);
  assert.equal(loopbackPeerUid({ ...ends, remotePort: undefined }, t).state, 'unknown');
  assert.match((loopbackPeerUid({ ...ends, remoteAddress: '::1' }, t) as { why: string }).why, /not an IPv4/);
  assert.match((loopbackPeerUid(ends, path.join(dir, 'missing')) as { why: string }).why, /cannot read/);
  // Several at once, from one read: found, gone and malformed side by side, in order.
  const other = { ...ends, remotePort: 40001 };
  assert.deepEqual(loopbackPeerUids([other, ends, { ...ends, remoteAddress: 'x' }], t).map((r) => r.state), ['unknown', 'found', 'unknown']);
});

test('a table larger than the bound is not read to its end: unknown, not a guess', { skip: !linux }, () => {
  const filler = row(0, procNetEndpoint('127.0.0.1', 1)!, procNetEndpoint('127.0.0.1', 2)!, 5, 9);
  const big = table('tcp-big', HEADER + filler.repeat(Math.ceil((5 * 1024 * 1024) / filler.length)) + row(1, theirs, ours, 1000, 222));
  assert.match((loopbackPeerUid(ends, big) as { why: string }).why, /larger than/);
});
