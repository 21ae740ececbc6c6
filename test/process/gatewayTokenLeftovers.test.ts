// A SIGKILLed gateway never removes its attach token directory; the next gateway that opens an
// endpoint there removes it — once its gateway is provably dead, and only then. Before, every
// SIGKILL left one `gateway-warden-XXXXXX/token` behind for good.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { attachOf, removeTokenDirs } from '../support/attachClient';
import { startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { isAlive, killTracked, waitForExit } from '../support/processes';

after(killTracked);
after(removeTokenDirs);
const POSIX = process.platform !== 'win32';

test('a gateway SIGKILLed with --listen leaves its token directory; the next gateway there removes it and keeps a live one\'s', { skip: !POSIX }, async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-token-leftover-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  // A temp dir of its own (TMPDIR), no runtime dir: the gateways put their token directories there.
  const env = { TMPDIR: tmp, XDG_RUNTIME_DIR: '' };
  const live = await startHostedGateway({ args: ['--listen'], env });
  const doomed = await startHostedGateway({ args: ['--listen'], env });
  try {
    const liveDir = path.dirname(attachOf(live).tokenFile);
    const doomedDir = path.dirname(attachOf(doomed).tokenFile);
    assert.equal(path.dirname(doomedDir), tmp);
    process.kill(doomed.gatewayPid, 'SIGKILL');
    await waitForExit(doomed.gatewayPid);
    assert.ok(fs.existsSync(path.join(doomedDir, 'token')), 'a SIGKILLed gateway leaves its token directory');

    const next = await startHostedGateway({ args: ['--listen'], env });
    try {
      const nextDir = path.dirname(attachOf(next).tokenFile);
      t.diagnostic(next.stderr().split('\n').find((l) => l.includes('token director')) ?? '(no log line)');
      assert.equal(fs.existsSync(doomedDir), false, 'the dead gateway\'s directory is gone');
      assert.ok(isAlive(live.gatewayPid));
      assert.ok(fs.existsSync(path.join(liveDir, 'token')), 'the live gateway\'s directory is kept');
      assert.deepEqual(fs.readdirSync(tmp).sort(), [path.basename(liveDir), path.basename(nextDir)].sort());
      assert.match(next.stderr(), new RegExp(`removed 1 token directory of dead gateways \\(${doomed.gatewayPid}:`));
    } finally {
      await stopHostedGateway(next);
    }
  } finally {
    doomed.host.stdin!.end();
    await stopHostedGateway(live);
  }
});
