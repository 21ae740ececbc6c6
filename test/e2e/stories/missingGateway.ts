import * as assert from 'node:assert/strict';
import { waitFor } from '../../support/processes';
import { scanProcSync } from '../../../src/core/processTable';
import { describeProcess, ownedBy } from '../hostProcesses';
import { waitForHost, waitForRunningGateway } from '../hosts';
import type { Story } from '../story';
import { openWardenView, runFromPalette, sidebar, waitForNotification, waitForWorkbench } from '../workbench';

const MISSING = '/nonexistent/gateway-warden-e2e/no-such-gateway';

export const missingGatewayStory: Story = {
  id: 'missing-gateway',
  title: 'a custom gateway command that does not exist: a clear error, nothing running',
  async run(ctx) {
    const host = await waitForHost(ctx);
    await waitForRunningGateway(ctx);
    ctx.updateSettings({ 'gatewayWarden.gateway.command': MISSING });
    try {
      // A reload, not Restart Gateway: the window reads settings.json afresh, whereas a running
      // extension hears of the file change only when the file watcher gets to it.
      await runFromPalette(ctx.page, 'Developer: Reload Window');
      await waitForWorkbench(ctx.page);
      const next = await waitForHost(ctx, host.pid);
      await openWardenView(ctx.page);
      const text = await waitForNotification(ctx.page, MISSING, 30_000);
      ctx.log(`error shown: ${text}`);
      assert.match(text, /not found|does not exist|no such file|ENOENT/i, `the error does not say the command is missing: ${text}`);
      await sidebar(ctx.page).locator('.welcome-view-content', { hasText: 'The gateway is not running.' }).waitFor({ state: 'visible', timeout: 30_000 });
      await waitFor(() => ownedBy(next).length === 0, 'no process owned by the host', 10_000);
      const kids = scanProcSync({ readOwner: false }).filter((p) => p.ppid === next.pid && p.state !== 'Z');
      assert.deepEqual(kids.filter((p) => p.cmdline.includes(MISSING)).map(describeProcess), []);
    } finally {
      ctx.updateSettings({ 'gatewayWarden.gateway.command': undefined });
    }
  },
};
