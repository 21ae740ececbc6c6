// What the backend stories share: switching the window to a backend (settings, then a reload, as
// a user would) and back, and checking a row's pid against the OS.
import * as assert from 'node:assert/strict';
import { waitFor } from '../support/processes';
import { describeProcess, HostRef, ownedBy, processInfo } from './hostProcesses';
import { assertCleanTree, waitForHost, waitForRunningGateway } from './hosts';
import type { E2eContext } from './story';
import { clearNotifications, runFromPalette, waitForWorkbench } from './workbench';

export const BACKEND_SETTINGS = ['gatewayWarden.gateway.backend', 'gatewayWarden.gateway.command', 'gatewayWarden.gateway.args', 'gatewayWarden.gateway.cwd'];

/**
 * Writes `patch` into settings.json and reloads the window (the window reads the file afresh; a
 * running extension would hear of it only when the file watcher gets to it). Waits until the old
 * host's processes are gone (a clean deactivate) and returns the new host.
 */
export async function reloadWith(ctx: E2eContext, host: HostRef, patch: Record<string, unknown>): Promise<HostRef> {
  ctx.updateSettings(patch);
  await runFromPalette(ctx.page, 'Developer: Reload Window');
  await waitFor(() => ownedBy(host).length === 0, `no process of host ${host.pid} after the reload`, 15_000, 20).catch((e: Error) => {
    throw new Error(`${e.message}; left: ${ownedBy(host).map(describeProcess).join('; ')}`);
  });
  await waitForWorkbench(ctx.page);
  return waitForHost(ctx, host.pid);
}

/** Back to the embedded gateway: settings cleared, reloaded, a clean tree. */
export async function backToEmbedded(ctx: E2eContext): Promise<void> {
  const host = await waitForHost(ctx);
  await clearNotifications(ctx.page).catch(() => undefined);
  await reloadWith(ctx, host, Object.fromEntries(BACKEND_SETTINGS.map((k) => [k, undefined])));
  const gw = await waitForRunningGateway(ctx);
  assert.doesNotMatch(gw.row.description, /\b(hermes|command)\b/, `still a backend after the reset: ${gw.row.description}`);
  await assertCleanTree(ctx);
}

/** The live process `pid` (a row showed it): its parent and owner as the caller expects. */
export function assertProcess(pid: number, expect: { ppid?: number; owner: string; argv: RegExp }, what: string): void {
  const p = processInfo(pid);
  assert.ok(p, `${what}: the tree shows pid ${pid}, which is not in the process table`);
  assert.match(p.cmdline, expect.argv, `${what}: ${describeProcess(p)}`);
  if (expect.ppid !== undefined) assert.equal(p.ppid, expect.ppid, `${what}: ${describeProcess(p)} is not a child of ${expect.ppid}`);
  assert.equal(p.owner, expect.owner, `${what}: ${pid} does not carry the host's owner marker`);
}
