import * as assert from 'node:assert/strict';
import { waitForHost } from './hosts';
import type { Story } from './story';

/** Runs whatever the extension does: the workbench loads with the VSIX installed and a host up. */
export const smokeStory: Story = {
  id: 'smoke',
  title: 'the workbench loads with the VSIX installed and one extension host running',
  async run(ctx) {
    const host = await waitForHost(ctx);
    assert.ok(host.pid > 0);
    ctx.log(`extension host ${host.pid} (${host.marker})`);
  },
};
