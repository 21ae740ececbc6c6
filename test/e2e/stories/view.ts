import * as assert from 'node:assert/strict';
import { isAlive, waitFor } from '../../support/processes';
import { describeProcess, ownedBy, processInfo } from '../hostProcesses';
import { waitForHost, waitForRunningGateway } from '../hosts';
import type { Story } from '../story';
import { runFromPalette, sidebar, waitForTree } from '../workbench';

export const viewStory: Story = {
  id: 'view',
  title: 'open the Gateway Warden view: gateway running, welcome content when stopped, start it from the link',
  async run(ctx) {
    const host = await waitForHost(ctx);
    const first = await waitForRunningGateway(ctx);
    const gw = processInfo(first.pid);
    assert.ok(gw, `the tree shows gateway pid ${first.pid}, which is not in the process table`);
    assert.equal(gw.ppid, host.pid, `gateway ${describeProcess(gw)} is not a child of the extension host ${host.pid}`);
    assert.equal(gw.owner, host.marker, 'the gateway does not carry the host\'s owner marker');
    ctx.log(`gateway pid ${gw.pid} (group ${gw.pgid}) under host ${host.pid}`);

    await runFromPalette(ctx.page, 'Gateway Warden: Stop Gateway');
    const welcome = sidebar(ctx.page).locator('.welcome-view-content', { hasText: 'The gateway is not running.' });
    await welcome.waitFor({ state: 'visible', timeout: 20_000 });
    await waitFor(() => !isAlive(first.pid), `gateway ${first.pid} to exit after Stop Gateway`, 10_000);
    await waitFor(() => ownedBy(host).length === 0, 'no process owned by the host after Stop Gateway', 10_000);

    await welcome.locator('a, .monaco-button', { hasText: 'Start Gateway' }).first().click();
    const second = await waitForTree(ctx.page, 'a running gateway with a new pid', (rows) => {
      const row = rows.find((r) => r.label === 'Gateway' && /^running\b/.test(r.description));
      const m = row && /\bpid (\d+)/.exec(row.description);
      return m && Number(m[1]) !== first.pid ? Number(m[1]) : undefined;
    });
    const gw2 = processInfo(second);
    assert.ok(gw2 && gw2.ppid === host.pid, `restarted gateway ${second} is not a live child of host ${host.pid}`);
    ctx.shared.gatewayPid = second;
  },
};
