import * as assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { isAlive, waitFor } from '../../support/processes';
import { describeProcess, HostRef, ownedBy } from '../hostProcesses';
import { assertCleanTree, waitForHost, waitForRunningGateway } from '../hosts';
import type { E2eContext, Story } from '../story';

/** The bound: nothing of a SIGKILLed host's is left in the process table after 1 s. */
export const HOST_DEATH_BOUND_MS = 1000;

/**
 * SIGKILLs the host and measures how long until none of `pids` is alive; then checks with a full
 * scan that nothing else carrying the host's marker is left. Returns the measured milliseconds.
 */
export async function killHostAndMeasure(ctx: E2eContext, host: HostRef, pids: number[]): Promise<number> {
  const t0 = performance.now();
  process.kill(host.pid, 'SIGKILL');
  await waitFor(() => pids.every((p) => !isAlive(p)), `the processes of host ${host.pid} (${pids.join(' ')}) to exit`, 10_000, 2);
  const ms = performance.now() - t0;
  ctx.log(`host ${host.pid} SIGKILLed: its ${pids.length} processes gone after ${ms.toFixed(0)} ms`);
  return ms;
}

export const hostKillStory: Story = {
  id: 'host-kill',
  title: 'SIGKILL the extension host: within 1 s no gateway, worker or grandchild from that host remains in the process table; the new host activates and shows a clean tree',
  async run(ctx) {
    const host = await waitForHost(ctx);
    const gateway = await waitForRunningGateway(ctx);
    const owned = ownedBy(host);
    const roles = { gateway: gateway.pid, worker: ctx.shared.betaWorker, grandchild: ctx.shared.betaChild };
    for (const [role, pid] of Object.entries(roles)) {
      assert.ok(typeof pid === 'number' && owned.some((p) => p.pid === pid), `before the kill: no live ${role} (${pid}) owned by host ${host.pid}; owned: ${owned.map(describeProcess).join('; ')}`);
    }
    const ms = await killHostAndMeasure(ctx, host, owned.map((p) => p.pid));
    ctx.shared.hostKillMs = Math.round(ms);
    const left = ownedBy(host);
    assert.deepEqual(left.map(describeProcess), [], 'processes of the killed host are still running');
    assert.ok(ms <= HOST_DEATH_BOUND_MS, `the killed host's processes took ${ms.toFixed(0)} ms to go (bound ${HOST_DEATH_BOUND_MS} ms)`);

    const next = await waitForHost(ctx, host.pid);
    const gw = await waitForRunningGateway(ctx);
    assert.notEqual(gw.pid, gateway.pid);
    await assertCleanTree(ctx);
    ctx.log(`new host ${next.pid}, gateway ${gw.pid}`);
  },
};
