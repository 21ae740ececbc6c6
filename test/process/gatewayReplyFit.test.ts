// Replies always fit: whatever a /run command writes (NULs, control bytes, invalid UTF-8, ANSI
// escapes, a binary, one endless line), the real gateway answers at once, within its line limit,
// with the truncation marked, and the worker lives on. Before the fix, 300,000 NULs made a reply
// line of 1.8 MB that the gateway dropped: no answer until the 45 s slash timeout.
import { after, test, TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LineDecoder } from '../../src/core/lineDecoder';
import { RpcError, RpcErrorCode } from '../../src/core/rpc';
import { encodedSize, outputBudget } from '../../src/worker/outputFit';
import { createSession, exec, HostedGateway, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { killTracked } from '../support/processes';

after(killTracked);
const scratch = mkdtempSync(path.join(tmpdir(), 'gw-replyfit-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Generous: a loaded 2-core machine. The real numbers go to the test's diagnostics. */
const BOUND_MS = 5000;
const BINARY = existsSync('/bin/ls') ? '/bin/ls' : '/bin/sh';

interface Case {
  name: string;
  command: string;
  totalBytes: number;
}

const CASES: Case[] = [
  { name: '300,000 NUL bytes', command: 'head -c 300000 /dev/zero', totalBytes: 300_000 },
  { name: '180,000 \\x01 bytes', command: "head -c 180000 /dev/zero | tr '\\000' '\\001'", totalBytes: 180_000 },
  { name: 'invalid UTF-8 (0xff)', command: "head -c 300000 /dev/zero | tr '\\000' '\\377'", totalBytes: 300_000 },
  { name: 'random bytes', command: 'head -c 300000 /dev/urandom', totalBytes: 300_000 },
  { name: 'ANSI escapes', command: "yes \"$(printf '\\033[31mred\\033[0m')\" | head -c 300000", totalBytes: 300_000 },
  { name: `a binary file (${BINARY})`, command: `cat ${BINARY}`, totalBytes: statSync(BINARY).size },
  { name: 'a 2 MB line without a newline', command: "head -c 2000000 /dev/zero | tr '\\000' a", totalBytes: 2_000_000 },
];

/** Records the byte length of every line the gateway writes to the test host (beside the rpc reader). */
function lineSizes(g: HostedGateway): number[] {
  const sizes: number[] = [];
  const d = new LineDecoder(64 * 1024 * 1024, { line: (l) => sizes.push(Buffer.byteLength(l)), oversize: () => sizes.push(Infinity) });
  g.host.stdout!.on('data', (c: Buffer) => d.push(c));
  return sizes;
}

const MARKER = /\[output truncated: (\d+) of (\d+) bytes dropped\]$/;

async function runCases(t: TestContext, maxLineBytes: number, args: string[]): Promise<void> {
  // The test reads the gateway with the same limit: a longer line would fail the request (-32011).
  const g = await startHostedGateway({ args, rpcMaxLineBytes: maxLineBytes });
  try {
    const sizes = lineSizes(g);
    const s = await createSession(g);
    const pid = await exec(g, s, '/pid');
    for (const [i, c] of CASES.entries()) {
      const endFile = path.join(scratch, `end-${maxLineBytes}-${i}`);
      const started = Date.now();
      const linesBefore = sizes.length;
      const output = await exec(g, s, `/run ${c.command}; date +%s%3N > ${endFile}`, 20_000);
      const answered = Date.now();
      const ended = Number(readFileSync(endFile, 'utf8'));
      const replyLine = Math.max(...sizes.slice(linesBefore));
      t.diagnostic(`${c.name}: answered ${answered - ended} ms after the command ended (${answered - started} ms in all); reply line ${replyLine} bytes, output ${encodedSize(output)} encoded bytes`);
      assert.ok(replyLine <= maxLineBytes, `${c.name}: reply line ${replyLine} > ${maxLineBytes}`);
      assert.ok(encodedSize(output) <= outputBudget(maxLineBytes), `${c.name}: output ${encodedSize(output)} encoded bytes`);
      const m = MARKER.exec(output);
      assert.ok(m, `${c.name}: truncation marked (tail ${JSON.stringify(output.slice(-120))})`);
      assert.equal(Number(m[2]), c.totalBytes, `${c.name}: the total the command wrote`);
      assert.ok(Number(m[1]) > 0 && Number(m[1]) <= c.totalBytes);
      assert.ok(answered - ended < BOUND_MS, `${c.name}: answered ${answered - ended} ms after the command ended`);
      assert.equal(await exec(g, s, '/pid'), pid, `${c.name}: the same worker answers the next command`);
    }
    assert.equal(g.workerPids().length, 1, 'one worker for all of it');
    assert.ok(!g.stderr().includes('too large'), 'no line was dropped on the way');
  } finally {
    await stopHostedGateway(g);
  }
}

test('binary, NUL, control, invalid UTF-8, ANSI and endless-line output: every /run answers at once within the 1 MiB line limit', async (t) => {
  await runCases(t, 1024 * 1024, []);
});

test('the same with --max-line-bytes 4096: replies fit the smaller limit', async (t) => {
  await runCases(t, 4096, ['--max-line-bytes', '4096']);
});

test('the same with --max-line-bytes 1024, the smallest the gateway accepts', async (t) => {
  await runCases(t, 1024, ['--max-line-bytes', '1024']);
});

test('a worker reply over the gateway\'s line limit fails its command at once; the worker answers the next', async (t) => {
  const g = await startHostedGateway({ args: ['--max-line-bytes', '4096'], env: { GATEWAY_WARDEN_TEST_COMMANDS: '1' } });
  try {
    const s = await createSession(g);
    const pid = await exec(g, s, '/pid');
    for (const variant of ['', ' id-last']) {
      const started = Date.now();
      await assert.rejects(exec(g, s, `/bigreply 20000${variant}`, 20_000), (e: RpcError) => {
        assert.equal(e.code, RpcErrorCode.MessageTooLarge, e.message);
        assert.match(e.message, variant ? /larger than 4096 bytes arrived in place of a reply/ : /reply to exec was larger than 4096 bytes/);
        return true;
      });
      const ms = Date.now() - started;
      t.diagnostic(`/bigreply 20000${variant}: failed after ${ms} ms`);
      assert.ok(ms < BOUND_MS, `failed after ${ms} ms`);
      assert.equal(await exec(g, s, '/pid'), pid);
    }
  } finally {
    await stopHostedGateway(g);
  }
});

test('a host reading the gateway with a smaller line limit fails the request at once (core\'s JsonRpcConnection, as src/host uses)', async (t) => {
  const g = await startHostedGateway({ rpcMaxLineBytes: 4096 });
  try {
    const s = await createSession(g);
    const started = Date.now();
    await assert.rejects(exec(g, s, "/run head -c 10000 /dev/zero | tr '\\000' a", 20_000), (e: RpcError) => {
      assert.equal(e.code, RpcErrorCode.MessageTooLarge, e.message);
      assert.match(e.message, /reply to slash\.exec was larger than 4096 bytes/);
      return true;
    });
    const ms = Date.now() - started;
    t.diagnostic(`10,000-byte reply read with a 4096-byte limit: failed after ${ms} ms`);
    assert.ok(ms < BOUND_MS);
    assert.match(await exec(g, s, '/pid'), /^pid \d+/);
  } finally {
    await stopHostedGateway(g);
  }
});
