import * as assert from 'node:assert/strict';
import { waitFor } from '../../support/processes';
import { describeProcess, ownedBy } from '../hostProcesses';
import { isGatewayRow, waitForHost, waitForRunningGateway } from '../hosts';
import { createSession, runSlash, workerPid } from '../sessions';
import type { Story } from '../story';
import { formatTree, readTree, runFromPalette, waitForWorkbench } from '../workbench';

export const reloadStory: Story = {
  id: 'reload',
  title: 'reload the window (clean deactivate): nothing left behind',
  async run(ctx) {
    const host = await waitForHost(ctx);
    await waitForRunningGateway(ctx);
    const sessions = (await readTree(ctx.page)).filter((r) => r.level === 2 && r.label !== 'Orphans').length;
    await createSession(ctx, 'delta');
    await runSlash(ctx, 'delta', '/run sleep 600 &', sessions + 1);
    await workerPid(ctx, 'delta');
    const before = ownedBy(host);
    assert.ok(before.length >= 3, `expected a gateway, a worker and its child before the reload; owned: ${before.map(describeProcess).join('; ')}`);

    await runFromPalette(ctx.page, 'Developer: Reload Window');
    await waitFor(() => ownedBy(host).length === 0, `no process owned by host ${host.pid} after the reload (deactivate)`, 15_000, 20)
      .catch((e: Error) => {
        throw new Error(`${e.message}; left: ${ownedBy(host).map(describeProcess).join('; ')}`);
      });
    await waitForWorkbench(ctx.page);
    const next = await waitForHost(ctx, host.pid);
    const gw = await waitForRunningGateway(ctx);
    const rows = await readTree(ctx.page);
    assert.deepEqual(rows.filter((r) => !isGatewayRow(r)).map((r) => r.label), [], `the reloaded window's tree is not clean:\n${formatTree(rows)}`);
    ctx.log(`reloaded: host ${host.pid} → ${next.pid}, gateway ${gw.pid}`);
  },
};
