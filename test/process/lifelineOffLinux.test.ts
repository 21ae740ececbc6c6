// The lifeline's fingerprint poll on the macOS and Windows paths, run on Linux: a child process
// believes it is on darwin (or win32) and finds a slow `ps` (800 ms, then the real procps ps,
// which prints the macOS format) or a slow `powershell.exe` (test/support/fakePowershell.ts,
// answering the CIM query from /proc) first on its PATH. The poll must never block the event
// loop, run one tool per poll and never two at once — and still notice a real death.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { killTracked, readLineMatching, spawnNode, spawnTracked, waitForExit } from '../support/processes';

after(killTracked);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-offlinux-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const linux = process.platform === 'linux';
const SLOW_MS = 800;
const WINDOW_MS = 2500;
const POLL_MS = 100;
const OUT = path.resolve(__dirname, '../..');

function fakeBin(log: string): string {
  const bin = path.join(tmp, `bin-${path.basename(log)}`);
  fs.mkdirSync(bin);
  const realPs = execFileSync('sh', ['-c', 'command -v ps'], { encoding: 'utf8' }).trim();
  const write = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  write('ps', `echo "start $(date +%s%3N)" >> ${log}\nsleep ${SLOW_MS / 1000}\n${realPs} "$@"\nrc=$?\necho "end $(date +%s%3N)" >> ${log}\nexit $rc`);
  write('sysctl', 'echo "{ sec = 1699949523, usec = 0 } Tue Nov 14 09:12:03 2023"');
  write('powershell.exe', `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(OUT, 'test/support/fakePowershell.js'))} "$@"`);
  return bin;
}

const CHILD = `
const platform = process.env.FORCE_PLATFORM;
Object.defineProperty(process, 'platform', { value: platform });
const fs = require('fs');
const { monitorEventLoopDelay } = require('perf_hooks');
const { fingerprintOf } = require(${JSON.stringify(path.join(OUT, 'src/core/fingerprint.js'))});
const { armLifeline } = require(${JSON.stringify(path.join(OUT, 'src/core/lifeline.js'))});
const owner = fingerprintOf(Number(process.env.OWNER_PID));
const parent = fingerprintOf(process.ppid);
if (!owner || !parent) { console.log('no fingerprint ' + JSON.stringify({ owner, parent })); process.exit(1); }
fs.appendFileSync(process.env.FAKE_TOOL_LOG, 'armed ' + Date.now() + '\\n');
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
armLifeline({ parent, owner, pollMs: ${POLL_MS}, onDeath(reason) { console.log('died ' + reason); process.exit(0); } });
setTimeout(() => console.log('lag ' + JSON.stringify({ maxMs: lag.max / 1e6, p99Ms: lag.percentile(99) / 1e6 })), ${WINDOW_MS});
setInterval(() => {}, 1000);
`;

for (const platform of ['darwin', 'win32'] as const) {
  test(`${platform} path: polls never block the loop, run one ${platform === 'darwin' ? 'ps' : 'CIM query'} at a time, and see the owner die`, { skip: !linux && 'runs the tools against /proc' }, async (t) => {
    const log = path.join(tmp, `${platform}.log`);
    fs.writeFileSync(log, '');
    const owner = spawnTracked('sleep', ['1000'], { stdio: 'ignore' });
    const child = spawnNode(CHILD, {
      env: { ...process.env, FORCE_PLATFORM: platform, OWNER_PID: String(owner.pid), FAKE_TOOL_LOG: log, FAKE_TOOL_DELAY_MS: String(SLOW_MS), PATH: `${fakeBin(log)}:${process.env.PATH}` },
    });
    const first = await readLineMatching(child.stdout!, (l) => (l.startsWith('lag ') || l.startsWith('no fingerprint') ? l : undefined), 20_000);
    assert.match(first, /^lag /);
    const lag = JSON.parse(first.slice(4)) as { maxMs: number; p99Ms: number };
    const events = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([what, at]) => ({ what, at: Number(at) }));
    const polls = events.slice(events.findIndex((e) => e.what === 'armed') + 1);
    const starts = polls.filter((e) => e.what === 'start').length;
    t.diagnostic(`${platform}: event-loop delay max ${lag.maxMs.toFixed(1)} ms (p99 ${lag.p99Ms.toFixed(1)}), ${starts} tool runs in the first ${WINDOW_MS} ms at a ${POLL_MS} ms poll and a ${SLOW_MS} ms tool`);
    // A blocking poll would hold the loop for the whole tool run (>= SLOW_MS) every time; a
    // loaded machine can delay a timer too, but not by half of that.
    assert.ok(lag.maxMs < SLOW_MS / 2, `event loop blocked for ${lag.maxMs} ms`);
    assert.ok(starts >= 1, 'the poll ran the tool');
    assert.ok(starts <= Math.ceil(WINDOW_MS / SLOW_MS) + 1, `one run at a time, not one per ${POLL_MS} ms tick (${starts} runs)`);
    let running = 0;
    for (const e of polls) {
      running += e.what === 'start' ? 1 : e.what === 'end' ? -1 : 0;
      assert.ok(running <= 1, 'never two tool runs at once');
    }
    const killedAt = Date.now();
    owner.kill('SIGKILL');
    const died = await readLineMatching(child.stdout!, (l) => (l.startsWith('died ') ? l : undefined), 10_000);
    t.diagnostic(`${platform}: owner SIGKILLed → lifeline fired after ${Date.now() - killedAt} ms: ${died}`);
    assert.match(died, new RegExp(`owner ${owner.pid} is gone`));
    await waitForExit(child.pid!, 5000);
  });
}
