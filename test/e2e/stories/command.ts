import * as assert from 'node:assert/strict';
import { isAlive, waitFor } from '../../support/processes';
import { assertProcess, hostPids, newestHost, reloadWith, waitForNewHost, withBackend } from '../backends';
import { describeProcess, ownedBy } from '../hostProcesses';
import { isGatewayRow, waitForRunningGateway } from '../hosts';
import type { Story } from '../story';
import { childrenOf, contextMenuCommand, formatTree, pidIn, readTree, TreeRow, waitForTree } from '../workbench';
import { HOST_DEATH_BOUND_MS, killHostAndMeasure } from './hostKill';

// Two children, and an escapee: the subshell exits, so `setsid sleep 603` is nobody's child of
// ours and in no group of ours — found only by the gateway's tag in its environment.
const SCRIPT = 'sleep 601 & sleep 602 & (setsid sleep 603 &); wait';

export const commandStory: Story = {
  id: 'command',
  title: 'the command backend (`sh -c` with two children and a setsid escapee): the tree shows Gateway → the command → its children with pids (and the escapee, marked); Kill Process on one ends it alone; host SIGKILL → nothing left',
  async run(ctx) {
    const before = newestHost(ctx);
    assert.ok(before, 'no extension host');
    const host = await reloadWith(ctx, before, {
      'gatewayWarden.gateway.backend': 'command',
      'gatewayWarden.gateway.command': '/bin/sh',
      'gatewayWarden.gateway.args': ['-c', SCRIPT],
    });
    await withBackend(ctx, async () => {
      const gateway = await waitForRunningGateway(ctx);
      assert.match(gateway.row.description, /\bcommand\b/);
      const { sh, kids, escapee } = await waitForTree(ctx.page, 'the command with its two sleeps, and the escapee', (rows) => {
        const g = rows.find(isGatewayRow);
        const top = g ? childrenOf(rows, g) : [];
        const shRow = top.find((r) => r.label === 'sh');
        const below = shRow ? childrenOf(rows, shRow).filter((r) => r.label === 'sleep') : [];
        const esc = top.find((r) => r.label === 'sleep' && /\bescaped\b/.test(r.description));
        return shRow && below.length === 2 && esc ? { sh: shRow, kids: below, escapee: esc } : undefined;
      }, 30_000);
      const shPid = pidIn(sh)!;
      assertProcess(shPid, { ppid: gateway.pid, owner: host.marker, argv: /^\/bin\/sh -c / }, 'the command');
      for (const k of kids) assertProcess(pidIn(k)!, { ppid: shPid, owner: host.marker, argv: /^sleep 60[12]$/ }, 'a child of the command');
      const escPid = pidIn(escapee)!;
      assertProcess(escPid, { owner: host.marker, argv: /^sleep 603$/ }, 'the escapee');
      ctx.log(`command tree:\n${formatTree(await readTree(ctx.page))}`);

      const victim = kids[0];
      const victimPid = pidIn(victim)!;
      await contextMenuCommand(ctx.page, async () => (await readTree(ctx.page)).find((r) => pidIn(r) === victimPid) ?? victim, 'Kill Process', ctx.log);
      await waitFor(() => !isAlive(victimPid), `process ${victimPid} killed`, 10_000);
      await waitForTree(ctx.page, `no row for ${victimPid}`, (rows) => !rows.some((r: TreeRow) => pidIn(r) === victimPid));
      for (const pid of [shPid, pidIn(kids[1])!, escPid]) assert.ok(isAlive(pid), `${pid} died with ${victimPid}`);

      const owned = ownedBy(host);
      const hostsBefore = hostPids(ctx);
      assert.ok(owned.some((p) => p.pid === escPid), `the escapee ${escPid} is not owned by host ${host.pid}: ${owned.map(describeProcess).join('; ')}`);
      const ms = await killHostAndMeasure(ctx, host, owned.map((p) => p.pid));
      ctx.shared.commandHostKillMs = Math.round(ms);
      assert.deepEqual(ownedBy(host).map(describeProcess), [], 'processes of the killed host are still running');
      assert.ok(ms <= HOST_DEATH_BOUND_MS, `the killed host's processes took ${ms.toFixed(0)} ms to go (bound ${HOST_DEATH_BOUND_MS} ms)`);
      await waitForNewHost(ctx, hostsBefore);
      await waitForRunningGateway(ctx);
    });
  },
};
