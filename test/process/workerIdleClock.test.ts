// The worker's own idle timeout counts from the end of its last command, as the gateway's does:
// a command that runs longer than the timeout is not ended by it, and the worker exits idle only
// once nothing runs.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { once } from 'node:events';
import * as path from 'node:path';
import { JsonRpcConnection } from '../../src/core/rpc';
import { DIST } from '../support/gatewayHost';
import { isAlive, killTracked, spawnTracked } from '../support/processes';

after(killTracked);
const WORKER_JS = path.join(DIST, 'worker.js');

test('a /run longer than the worker\'s idle timeout completes; the worker exits idle after it, not during it', { skip: process.platform === 'win32' ? 'POSIX shell' : undefined }, async () => {
  const worker = spawnTracked(process.execPath, [WORKER_JS, '--session', 's', '--idle-timeout-ms', '300'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = once(worker, 'exit');
  const rpc = new JsonRpcConnection(worker.stdout!, worker.stdin!, { log: () => undefined });
  // Two at once: the short one ending must not restart the idle clock while the long one runs.
  const long = rpc.request<{ output: string }>('exec', { command: '/run sleep 1.2; echo long done' }, { timeoutMs: 20_000 });
  const short = await rpc.request<{ output: string }>('exec', { command: '/run echo short' }, { timeoutMs: 20_000 });
  assert.match(short.output, /short/);
  const r = await long;
  assert.match(r.output, /long done/);
  assert.ok(isAlive(worker.pid!), 'alive when its command answered');
  const [code] = await exited;
  assert.equal(code, 0, 'then it exited idle');
  rpc.dispose();
});
