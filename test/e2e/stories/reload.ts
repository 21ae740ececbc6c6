import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkpointFileName } from '../../../src/core/checkpoint';
import { waitFor } from '../../support/processes';
import { describeProcess, ownedBy } from '../hostProcesses';
import { assertCleanTree, isGatewayRow, waitForHost, waitForRunningGateway } from '../hosts';
import { createSession, runSlash, workerPid } from '../sessions';
import type { Story } from '../story';
import { childrenOf, readTree, runFromPalette, waitForWorkbench } from '../workbench';

export const reloadStory: Story = {
  id: 'reload',
  title: 'reload the window (clean deactivate): nothing left behind',
  async run(ctx) {
    const host = await waitForHost(ctx);
    await waitForRunningGateway(ctx);
    const rows = await readTree(ctx.page);
    const gatewayRow = rows.find(isGatewayRow);
    const sessions = gatewayRow ? childrenOf(rows, gatewayRow).length : 0;
    await createSession(ctx, 'delta');
    await runSlash(ctx, 'delta', '/run sleep 600 &', sessions + 1);
    await workerPid(ctx, 'delta');
    const before = ownedBy(host);
    assert.ok(before.length >= 3, `expected a gateway, a worker and its child before the reload; owned: ${before.map(describeProcess).join('; ')}`);
    // The host's registry checkpoint: written while it runs, deleted by a clean deactivate (which
    // VS Code runs with the extension's subscriptions, its output channel among them, already
    // disposed: a log call that throws there cut the teardown short and left this file behind).
    const checkpoint = path.join(ctx.userDataDir, 'User', 'globalStorage', 'gateway-warden.gateway-warden', 'registry', checkpointFileName(host.fingerprint));
    await waitFor(() => fs.existsSync(checkpoint), `host ${host.pid}'s checkpoint ${checkpoint} while it runs`, 10_000, 20);

    await runFromPalette(ctx.page, 'Developer: Reload Window');
    await waitFor(() => ownedBy(host).length === 0, `no process owned by host ${host.pid} after the reload (deactivate)`, 15_000, 20)
      .catch((e: Error) => {
        throw new Error(`${e.message}; left: ${ownedBy(host).map(describeProcess).join('; ')}`);
      });
    await waitFor(() => !fs.existsSync(checkpoint), `host ${host.pid}'s checkpoint deleted by its deactivate`, 10_000, 20);
    await waitForWorkbench(ctx.page);
    const next = await waitForHost(ctx, host.pid);
    const gw = await waitForRunningGateway(ctx);
    await assertCleanTree(ctx);
    ctx.log(`reloaded: host ${host.pid} → ${next.pid}, gateway ${gw.pid}`);
  },
};
