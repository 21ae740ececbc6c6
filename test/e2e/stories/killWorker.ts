import * as assert from 'node:assert/strict';
import { isAlive, waitFor } from '../../support/processes';
import { waitForRunningGateway } from '../hosts';
import { sessionRow, workerRow } from '../sessions';
import type { Story } from '../story';
import { contextMenuCommand, pidIn, readTree, waitForTree } from '../workbench';

export const killWorkerStory: Story = {
  id: 'kill-worker',
  title: 'kill a worker from its context menu: gone from the tree and from the OS',
  async run(ctx) {
    await waitForRunningGateway(ctx);
    const row = workerRow(await readTree(ctx.page), 'alpha');
    assert.ok(row, 'no worker row under session "alpha" (story "sessions" sets it up)');
    const pid = pidIn(row);
    assert.ok(pid && isAlive(pid), `worker row pid ${pid} is not a live process`);
    await contextMenuCommand(ctx.page, async () => workerRow(await readTree(ctx.page), 'alpha') ?? row, 'Kill Worker', ctx.log);
    await waitForTree(ctx.page, 'session "alpha" without a worker', (rows) => sessionRow(rows, 'alpha') && !workerRow(rows, 'alpha'));
    await waitFor(() => !isAlive(pid), `worker ${pid} to be gone from the process table`, 10_000);
    const beta = ctx.shared.betaWorker;
    assert.ok(typeof beta === 'number' && isAlive(beta), 'killing the worker of "alpha" took the worker of "beta" with it');
  },
};
