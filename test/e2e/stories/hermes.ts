import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { readProcCgroupPath } from '../../../src/core/cgroup/cgroupMount';
import { isAlive, waitFor } from '../../support/processes';
import { assertProcess, hostPids, newestHost, reloadWith, waitForNewHost, withBackend } from '../backends';
import { describeProcess, ownedBy } from '../hostProcesses';
import { isGatewayRow, waitForRunningGateway } from '../hosts';
import { createSession, runSlash, sessionRow, startSlash, workerPid, workerRow } from '../sessions';
import type { Story } from '../story';
import { childrenOf, clearNotifications, contextMenuCommand, formatTree, pidIn, readTree, waitForTree } from '../workbench';
import { HOST_DEATH_BOUND_MS, killHostAndMeasure } from './hostKill';

const SLASH_WORKER = /(^|\/)python[\d.]* -m tui_gateway\.slash_worker --session-key \S+/;
/** Both the fake's and real hermes' /help say it (real: "(^_^)? Available Commands", fake: "Available Commands (fake hermes)"). */
const HELP_OUTPUT = /^\/help: .*Available Commands/s;

/**
 * The story runs the fake hermes gateway unless these point it at a real hermes-agent install
 * (test/fixtures/hermes/README.md, "Against the real hermes"): GW_E2E_HERMES_COMMAND (a command
 * that execs `python3 -m tui_gateway.entry` with hermes' environment), GW_E2E_HERMES_CWD (the
 * hermes-agent checkout), GW_E2E_HERMES_BUSY (a slash command that keeps the worker busy; real
 * hermes has none of its own: `/model other-model` with a provider that holds the request),
 * GW_E2E_HERMES_HOLD_URL (fetched first, `{pid}` replaced by the worker's pid: the loopback stub
 * provider of test/fixtures/hermes/realgateway.py then holds that worker's requests) and
 * GW_E2E_HERMES_HELD_URL (polled until it answers `{"held": true}`: the worker is blocked in its
 * command). realgateway.py prints all four.
 */
export function hermesTarget(repoRoot: string): { settings: Record<string, string>; busyCommand: string; holdUrl?: string; heldUrl?: string; real: boolean } {
  const command = process.env.GW_E2E_HERMES_COMMAND;
  if (!command) {
    return { settings: { 'gatewayWarden.gateway.cwd': path.join(repoRoot, 'test', 'fixtures', 'hermes') }, busyCommand: '/fake-hold', real: false };
  }
  return {
    settings: { 'gatewayWarden.gateway.command': command, ...(process.env.GW_E2E_HERMES_CWD ? { 'gatewayWarden.gateway.cwd': process.env.GW_E2E_HERMES_CWD } : {}) },
    busyCommand: process.env.GW_E2E_HERMES_BUSY ?? '/model other-model',
    holdUrl: process.env.GW_E2E_HERMES_HOLD_URL,
    heldUrl: process.env.GW_E2E_HERMES_HELD_URL,
    real: true,
  };
}

export const hermesStory: Story = {
  id: 'hermes',
  title: 'the hermes backend (the fake hermes gateway, gateway.cwd = its folder; a real hermes-agent with GW_E2E_HERMES_COMMAND): a session from the panel runs /help and its real slash_worker shows in the tree with its pid (checked against the OS); Close Session ends it; host SIGKILL with a busy and an idle worker → nothing left',
  async run(ctx) {
    const before = newestHost(ctx);
    assert.ok(before, 'no extension host');
    const target = hermesTarget(ctx.repoRoot);
    if (target.real) ctx.log(`against a real hermes: ${JSON.stringify(target.settings)}`);
    // With the fake, `python3 -m tui_gateway.entry` (the default) finds it in its working
    // directory, as a user's finds hermes-agent in their checkout.
    const host = await reloadWith(ctx, before, { 'gatewayWarden.gateway.backend': 'hermes', ...target.settings });
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
      // With cgroup containment (the gateway in its tree's `gateway` leaf) hermes starts the worker
      // in the program's leaf and the gateway moves it into its session's.
      const cgroupOf = (pid: number) => { const c = readProcCgroupPath(pid); return c.state === 'found' ? c.value : ''; };
      if (cgroupOf(gateway.pid).endsWith(`/gateway-warden-${gateway.pid}/gateway`)) {
        const sessionLeaf = new RegExp(`/gateway-warden-${gateway.pid}/(s-[A-Za-z0-9_-]{1,64}|h-[0-9a-f]{40})$`);
        await waitFor(() => sessionLeaf.test(cgroupOf(worker)), `the worker ${worker} in its session's cgroup leaf`, 10_000);
        ctx.log(`the worker ${worker} is in its session's cgroup leaf ${cgroupOf(worker)}`);
      }
      const help = await runSlash(ctx, 'hermes-a', '/help', 1);
      assert.match(help, HELP_OUTPUT, `"/help" notification: ${help}`);
      ctx.log(`hermes ${hermesPid}: session hermes-a's slash_worker ${worker} ran /help`);

      const closeAt = Date.now();
      let goneAt = 0;
      const gone = waitFor(() => !isAlive(worker) && (goneAt = Date.now()), `the closed session's worker ${worker} gone from the process table`, 30_000);
      gone.catch(() => undefined);
      await contextMenuCommand(ctx.page, async () => {
        const row = sessionRow(await readTree(ctx.page), 'hermes-a');
        assert.ok(row, 'the row of session hermes-a');
        return row;
      }, 'Close Session', (m) => ctx.log(m));
      await waitForTree(ctx.page, 'session "hermes-a" gone', (rows) => !sessionRow(rows, 'hermes-a'));
      await gone;
      ctx.log(`Close Session: the worker ${worker} gone from the process table ${goneAt - closeAt} ms after the right-click`);

      // A busy worker (hermes alone would keep it until its command ends), then the host dies.
      await createSession(ctx, 'hermes-b');
      const busy = await workerPid(ctx, 'hermes-b');
      if (target.holdUrl) await fetch(target.holdUrl.replace('{pid}', String(busy)));
      await startSlash(ctx, 'hermes-b', target.busyCommand, 1);
      await waitForTree(ctx.page, 'the worker of "hermes-b" busy', (rows) => /\bbusy\b/.test(workerRow(rows, 'hermes-b')?.description ?? ''));
      if (target.heldUrl) {
        const url = target.heldUrl.replace('{pid}', String(busy));
        const heldAt = Date.now();
        await waitFor(async () => ((await (await fetch(url)).json()) as { held?: boolean }).held === true, `the worker ${busy} blocked in its command (${url})`, 60_000, 200);
        ctx.log(`the worker ${busy} is blocked in "${target.busyCommand}" (its provider request held) ${Date.now() - heldAt} ms after the tree said busy`);
      }
      // And an idle one beside it: every worker goes, whatever it is doing.
      await createSession(ctx, 'hermes-c');
      const idle = await workerPid(ctx, 'hermes-c');
      const owned = ownedBy(host);
      const hostsBefore = hostPids(ctx);
      for (const [role, pid] of [['gateway', gateway.pid], ['hermes', hermesPid], ['busy worker', busy], ['idle worker', idle]] as const) {
        assert.ok(owned.some((p) => p.pid === pid), `before the kill: no live ${role} (${pid}) owned by host ${host.pid}; owned: ${owned.map(describeProcess).join('; ')}`);
      }
      ctx.log(`host ${host.pid} owns ${owned.length} processes before the kill: ${owned.map(describeProcess).join('; ')}`);
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
