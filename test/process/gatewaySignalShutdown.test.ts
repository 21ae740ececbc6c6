// SIGTERM, SIGINT and SIGHUP to the gateway are a shutdown, not the host's death (docs/protocol.md,
// Lifetime and Containment): the workers get the shutdown grace, session.closed says `shutdown`,
// the gateway exits 0 and, with cgroups, removes its tree. The host-gone end (the short lifeline
// grace, one cgroup.kill of the whole tree, the gateway included) is for stdin EOF and a dead
// owner or parent only.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { catchesSignal, readProcStat } from '../../src/core/procfs';
import { cgroupsUnavailable, cleanupCgroupTrees } from '../support/cgroups';
import { createSession, exec, startHostedGateway, waitNoMarked } from '../support/gatewayHost';
import { killTracked, track, waitFor } from '../support/processes';

const noCgroups = cgroupsUnavailable();
const linux = process.platform === 'linux';

afterEach(cleanupCgroupTrees);
after(() => {
  cleanupCgroupTrees();
  killTracked();
});

/**
 * Far above the lifeline grace (100 ms) and a worker's own exit grace (300 ms), so a handler's
 * 0.8 s can only finish within this one.
 */
const SHUTDOWN_GRACE_MS = 2000;
const HANDLER_S = 0.8;

type Mode = 'cgroup' | 'off';
const cases: { signal: NodeJS.Signals; mode: Mode }[] = [
  { signal: 'SIGTERM', mode: 'cgroup' },
  { signal: 'SIGINT', mode: 'cgroup' },
  { signal: 'SIGHUP', mode: 'cgroup' },
  { signal: 'SIGTERM', mode: 'off' },
];

for (const { signal, mode } of cases) {
  const skip = !linux ? 'Linux only (/proc, signal masks)' : mode === 'cgroup' ? noCgroups : undefined;
  const what = mode === 'cgroup' ? 'cgroups on' : 'GATEWAY_WARDEN_CGROUPS=off';
  test(`${what}: ${signal} to the gateway is a shutdown: session.closed says "shutdown", exit 0, a SIGTERM handler in the session gets the shutdown grace${mode === 'cgroup' ? ', the tree removed' : ' (not the worker\'s own 300 ms)'}`, { skip }, async (t) => {
    const dir = fs.mkdtempSync('/tmp/gw-sigshutdown-');
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const mark = path.join(dir, 'done');
    const g = await startHostedGateway({ env: { GATEWAY_WARDEN_CGROUPS: mode === 'off' ? 'off' : '' }, args: ['--shutdown-grace-ms', String(SHUTDOWN_GRACE_MS)] });
    const ready = g.events.find((e) => e.type === 'gateway.ready')!;
    assert.equal(ready.containment, mode === 'cgroup' ? 'cgroup' : 'process-group', JSON.stringify(ready));
    const tree = ready.cgroup as string | null;
    if (mode === 'cgroup') assert.equal(path.basename(tree!), `gateway-warden-${g.gatewayPid}`);
    const s = await createSession(g);
    // A child that needs 0.8 s after SIGTERM to finish its work (the marker file).
    const out = await exec(g, s, `/run sh -c 'trap "sleep ${HANDLER_S}; echo done > ${mark}; exit 0" TERM; while :; do sleep 0.05; done' >/dev/null 2>&1 & echo pid=$!`);
    const handler = Number(/pid=(\d+)/.exec(out)?.[1]);
    assert.ok(handler > 0, out);
    track(handler);
    await waitFor(() => { const st = readProcStat(handler); return st !== undefined && catchesSignal(st, 15) === true; }, 'the shell to set its trap');

    process.kill(g.gatewayPid, signal);
    // The test host relays how its gateway ended.
    const exit = await waitFor(() => /HOST gateway exited (\S+) (\S+)/.exec(g.stderr()) ?? undefined, 'the gateway to exit', 15_000);
    assert.deepEqual({ code: exit[1], signal: exit[2] }, { code: '0', signal: 'null' }, `the gateway exited by itself, with 0; its log:\n${g.stderr()}`);
    const closed = await g.waitEvent((e) => e.type === 'session.closed' && e.sessionId === s, 'session.closed');
    assert.equal(closed.reason, 'shutdown');
    // In its leaf the worker leaves SIGTERM to the kernel (it ends at once) and the gateway gives the
    // leaf the shutdown grace. Without cgroups the worker's own exit teardown gives its children
    // the shutdown grace too (--exit-grace-ms; it gave them 300 ms, and the handler was SIGKILLed).
    assert.equal(fs.existsSync(mark) ? fs.readFileSync(mark, 'utf8').trim() : '(no marker file)', 'done', 'the handler had its grace to finish');
    await waitNoMarked(g.hostFp);
    if (tree) assert.equal(fs.existsSync(tree), false, `the gateway removed its tree ${tree}`);
    g.host.kill('SIGKILL');
  });
}
