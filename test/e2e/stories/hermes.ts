import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { isAlive, waitFor } from '../../support/processes';
import { assertProcess, hostPids, newestHost, reloadWith, waitForNewHost, withBackend } from '../backends';
import { describeProcess, ownedBy } from '../hostProcesses';
import { isGatewayRow, waitForRunningGateway } from '../hosts';
import { createSession, runSlash, sessionRow, workerPid, workerRow } from '../sessions';
import type { Story } from '../story';
import { answerInputBox, childrenOf, clearNotifications, contextMenu, formatTree, pidIn, readTree, runFromPalette, waitForTree } from '../workbench';
import { HOST_DEATH_BOUND_MS, killHostAndMeasure } from './hostKill';

const SLASH_WORKER = /(^|\/)python[\d.]* -m tui_gateway\.slash_worker --session-key \S+/;

export const hermesStory: Story = {
  id: 'hermes',
  title: 'the hermes backend (the fake hermes gateway, gateway.cwd = its folder): a session from the panel runs /help and its real slash_worker shows in the tree with its pid (checked against the OS); Close Session ends it; host SIGKILL with a busy worker → nothing left',
  async run(ctx) {
    const before = newestHost(ctx);
    assert.ok(before, 'no extension host');
    const host = await reloadWith(ctx, before, {
      'gatewayWarden.gateway.backend': 'hermes',
      // `python3 -m tui_gateway.entry` (the default) finds the fake in its working directory, as a
      // user's finds hermes-agent in their checkout.
      'gatewayWarden.gateway.cwd': path.join(ctx.repoRoot, 'test', 'fixtures', 'hermes'),
    });
    await withBackend(ctx, async () => {
      const gateway = await waitForRunningGateway(ctx);
      const hermesPid = await waitForTree(ctx.page, 'the hermes gateway row, running, with a pid', (rows) => {
        const r = rows.find((x) => x.label === 'hermes gateway' && /\brunning\b/.test(x.description));
        return r && pidIn(r);
      }, 30_000);
      assertProcess(hermesPid, { ppid: gateway.pid, owner: host.marker, argv: /-m tui_gateway\.entry$/ }, 'the hermes gateway');
      assert.match((await readTree(ctx.page)).find(isGatewayRow)!.description, /\bhermes\b/);

      await createSession(ctx, 'hermes-a');
      const worker = await workerPid(ctx, 'hermes-a');
      assertProcess(worker, { ppid: hermesPid, owner: host.marker, argv: SLASH_WORKER }, 'the session\'s worker');
      const help = await runSlash(ctx, 'hermes-a', '/help', 1);
      assert.match(help, /^\/help: .*\/help/s, `"/help" notification: ${help}`);
      ctx.log(`hermes ${hermesPid}: session hermes-a's slash_worker ${worker} ran /help`);

      const row = sessionRow(await readTree(ctx.page), 'hermes-a');
      assert.ok(row);
      await contextMenu(ctx.page, row, 'Close Session');
      await waitForTree(ctx.page, 'session "hermes-a" gone', (rows) => !sessionRow(rows, 'hermes-a'));
      await waitFor(() => !isAlive(worker), `the closed session's worker ${worker} gone from the process table`, 10_000);

      // A busy worker (hermes alone would keep it until its command ends), then the host dies.
      await createSession(ctx, 'hermes-b');
      const busy = await workerPid(ctx, 'hermes-b');
      await runFromPalette(ctx.page, 'Gateway Warden: Run Slash Command');
      await answerInputBox(ctx.page, 'Slash command for session hermes-b', '/fake-hold');
      await waitForTree(ctx.page, 'the worker of "hermes-b" busy', (rows) => /\bbusy\b/.test(workerRow(rows, 'hermes-b')?.description ?? ''));
      const owned = ownedBy(host);
      const hostsBefore = hostPids(ctx);
      for (const [role, pid] of [['gateway', gateway.pid], ['hermes', hermesPid], ['busy worker', busy]] as const) {
        assert.ok(owned.some((p) => p.pid === pid), `before the kill: no live ${role} (${pid}) owned by host ${host.pid}; owned: ${owned.map(describeProcess).join('; ')}`);
      }
      const ms = await killHostAndMeasure(ctx, host, owned.map((p) => p.pid));
      ctx.shared.hermesHostKillMs = Math.round(ms);
      assert.deepEqual(ownedBy(host).map(describeProcess), [], 'processes of the killed host are still running');
      assert.ok(ms <= HOST_DEATH_BOUND_MS, `the killed host's processes took ${ms.toFixed(0)} ms to go (bound ${HOST_DEATH_BOUND_MS} ms)`);

      // The new host runs hermes afresh: the gateway and a new hermes, no session, no worker.
      const next = await waitForNewHost(ctx, hostsBefore);
      await waitForRunningGateway(ctx);
      await clearNotifications(ctx.page).catch(() => undefined);
      const rows = await waitForTree(ctx.page, 'a fresh hermes', (r) => r.some((x) => x.label === 'hermes gateway' && /\brunning\b/.test(x.description)) && r, 30_000);
      const g = rows.find(isGatewayRow)!;
      assert.deepEqual(childrenOf(rows, g).map((r) => r.label), ['hermes gateway'], `the new host's tree:\n${formatTree(rows)}`);
      ctx.log(`new host ${next.pid} runs a fresh hermes`);
    });
  },
};
