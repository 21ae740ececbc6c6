import * as assert from 'node:assert/strict';
import { describe as describeProc, processInfo } from '../hostProcesses';
import { waitForHost, waitForRunningGateway } from '../hosts';
import { createSession, runSlash, workerPid, workerRow } from '../sessions';
import type { Story } from '../story';
import { childrenOf, expand, pidIn, readTree, waitForTree } from '../workbench';

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
      assert.equal(p.ppid, gateway.pid, `worker ${describeProc(p)} is not a child of the gateway ${gateway.pid}`);
      assert.equal(p.owner, host.marker, `worker ${pid} does not carry the host's owner marker`);
    }

    await waitForTree(ctx.page, 'the worker of "beta" with a child row', (rows) => workerRow(rows, 'beta')?.expanded !== undefined);
    await expand(ctx.page, workerRow(await readTree(ctx.page), 'beta')!);
    const child = await waitForTree(ctx.page, 'a "sleep" child under the worker of "beta"', (rows) => {
      const w = workerRow(rows, 'beta');
      const c = w && childrenOf(rows, w).find((r) => r.label === 'sleep');
      return c && pidIn(c);
    });
    const c = processInfo(child);
    const w = processInfo(beta);
    assert.ok(c && /\bsleep 600\b/.test(c.cmdline), `child row pid ${child} is not a live "sleep 600"`);
    assert.equal(c.pgid, w?.pgid, `child ${describeProc(c)} is not in the worker's process group ${w?.pgid}`);
    assert.equal(c.owner, host.marker, 'the child does not carry the host\'s owner marker');
    // A tree item without children is not collapsible: no twistie state at all.
    assert.equal(workerRow(await readTree(ctx.page), 'alpha')?.expanded, undefined, 'the worker of "alpha" (/echo) shows children');

    ctx.log(`workers: alpha ${alpha}, beta ${beta} with child sleep ${child}`);
    await ctx.screenshot('panel');
    Object.assign(ctx.shared, { alphaWorker: alpha, betaWorker: beta, betaChild: child, gatewayPid: gateway.pid });
  },
};
