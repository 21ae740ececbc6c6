import * as assert from 'node:assert/strict';
import { waitFor } from '../../support/processes';
import { describeProcess, ownedBy, processInfo } from '../hostProcesses';
import { waitForHost, waitForRunningGateway } from '../hosts';
import { createSession, runSlash, workerPid, workerRow } from '../sessions';
import type { Story } from '../story';
import { childrenOf, pidIn, waitForTree } from '../workbench';

export const sessionsStory: Story = {
  id: 'sessions',
  title: 'create two sessions, run `/echo hi` in one, `/run sleep 600 &` in the other: the tree shows both workers with their pids (checked against the OS process table) and the child under the second',
  async run(ctx) {
    const host = await waitForHost(ctx);
    const gateway = await waitForRunningGateway(ctx);
    await createSession(ctx, 'alpha');
    await createSession(ctx, 'beta');

    const echo = await runSlash(ctx, 'alpha', '/echo hi', 2);
    assert.match(echo, /\bhi\b/, `"/echo hi" notification: ${echo}`);
    await runSlash(ctx, 'beta', '/run sleep 600 &', 2);

    const alpha = await workerPid(ctx, 'alpha');
    const beta = await workerPid(ctx, 'beta');
    assert.notEqual(alpha, beta);
    for (const [label, pid] of [['alpha', alpha], ['beta', beta]] as const) {
      const p = processInfo(pid);
      assert.ok(p, `worker of ${label}: the tree shows pid ${pid}, which is not in the process table`);
      assert.equal(p.ppid, gateway.pid, `worker ${describeProcess(p)} is not a child of the gateway ${gateway.pid}`);
      assert.equal(p.owner, host.marker, `worker ${pid} does not carry the host's owner marker`);
    }

    // The OS first: the backgrounded sleep stays in the worker's group (its shell has exited).
    const w = processInfo(beta);
    const sleeper = await waitFor(
      () => ownedBy(host).find((p) => /\bsleep 600\b/.test(p.cmdline) && p.pgid === w?.pgid),
      `"sleep 600" in the process group ${w?.pgid} of the worker of "beta"`,
    );
    const shown = await waitForTree(ctx.page, 'a "sleep" child under the worker of "beta"', (rows) => {
      const wr = workerRow(rows, 'beta');
      const c = wr && childrenOf(rows, wr).find((r) => r.label === 'sleep');
      return c && pidIn(c);
    });
    assert.equal(shown, sleeper.pid, `the child row shows pid ${shown}; the worker's sleep is ${describeProcess(sleeper)}`);
    const child = sleeper.pid;
    const alphaKids = await waitForTree(ctx.page, 'the worker of "alpha" expanded', (rows) => {
      const wr = workerRow(rows, 'alpha');
      return wr && wr.expanded !== false ? childrenOf(rows, wr) : undefined;
    });
    assert.deepEqual(alphaKids.map((r) => `${r.label} ${r.description}`), [], 'the worker of "alpha" (/echo only) shows children');

    ctx.log(`workers: alpha ${alpha}, beta ${beta}; its child ${describeProcess(sleeper)}`);
    await ctx.screenshot('panel');
    Object.assign(ctx.shared, { alphaWorker: alpha, betaWorker: beta, betaChild: child, gatewayPid: gateway.pid });
  },
};
