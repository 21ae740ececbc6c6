// What the backend stories share: switching the window to a backend (settings, then a reload, as
// a user would) and back, and checking a row's pid against the OS.
import * as assert from 'node:assert/strict';
import { waitFor } from '../support/processes';
import { screenState } from './diagnostics';
import { describeProcess, extensionHosts, hostRef, HostRef, ownedBy, processInfo } from './hostProcesses';
import { assertCleanTree, waitForRunningGateway } from './hosts';
import type { E2eContext } from './story';
import { clearNotifications, runFromPalette, waitForWorkbench } from './workbench';

export const BACKEND_SETTINGS = ['gatewayWarden.gateway.backend', 'gatewayWarden.gateway.command', 'gatewayWarden.gateway.args', 'gatewayWarden.gateway.cwd'];

/**
 * The pids of the extension hosts there are now. code-server keeps a reloaded window's old host
 * alive for its reconnection grace (minutes; its processes are gone, deactivate has run), so
 * "the one host" is the one that was not there before.
 */
export function hostPids(ctx: E2eContext): Set<number> {
  return new Set(extensionHosts(ctx.serverPgid).map((p) => p.pid));
}

/** The one extension host not among `before`. */
export async function waitForNewHost(ctx: E2eContext, before: Set<number>, timeoutMs = 60_000): Promise<HostRef> {
  const host = await waitFor(() => {
    const fresh = extensionHosts(ctx.serverPgid).filter((p) => !before.has(p.pid));
    return fresh.length === 1 ? hostRef(fresh[0].pid) : undefined;
  }, `one new extension host (not ${[...before].join(', ')})`, timeoutMs, 50).catch((e: Error) => {
    throw new Error(`${e.message}; hosts: ${extensionHosts(ctx.serverPgid).map((h) => h.pid).join(', ') || 'none'}`);
  });
  ctx.noteHost(host.marker);
  return host;
}

/**
 * Writes `patch` into settings.json and reloads the window (the window reads the file afresh; a
 * running extension would hear of it only when the file watcher gets to it). Waits until the old
 * host's processes are gone (a clean deactivate) and returns the new host.
 */
export async function reloadWith(ctx: E2eContext, host: HostRef, patch: Record<string, unknown>): Promise<HostRef> {
  const before = hostPids(ctx);
  ctx.updateSettings(patch);
  await runFromPalette(ctx.page, 'Developer: Reload Window');
  await waitFor(() => ownedBy(host).length === 0, `no process of host ${host.pid} after the reload`, 15_000, 20).catch((e: Error) => {
    throw new Error(`${e.message}; left: ${ownedBy(host).map(describeProcess).join('; ')}`);
  });
  await waitForWorkbench(ctx.page);
  return waitForNewHost(ctx, before);
}

/** The newest extension host (the window's, whatever older ones are still exiting). */
export function newestHost(ctx: E2eContext): HostRef | undefined {
  const hosts = extensionHosts(ctx.serverPgid).map((p) => hostRef(p.pid)).filter((h): h is HostRef => h !== undefined);
  return hosts.sort((a, b) => b.fingerprint.startTime - a.fingerprint.startTime)[0];
}

/**
 * Runs a backend story's body, then goes back to the embedded gateway whatever happened; a failure
 * of the body is the story's error (one of the way back is logged, not put in its place).
 */
export async function withBackend(ctx: E2eContext, body: () => Promise<void>): Promise<void> {
  let failed = false;
  try {
    await body();
  } catch (e) {
    failed = true;
    // The runner looks at the screen only after the way back below has reloaded the window: what
    // the failure left on screen (an open input box, a notification) is seen here or never.
    const shot = await ctx.screenshot('failed-before-cleanup').catch(() => undefined);
    ctx.log(`before going back to the embedded gateway: ${await screenState(ctx.page).catch((x: Error) => `(screen unreadable: ${x.message})`)}${shot ? `; screenshot ${shot}` : ''}`);
    throw e;
  } finally {
    const host = newestHost(ctx);
    const back = host ? backToEmbedded(ctx, host) : Promise.reject(new Error('no extension host'));
    await back.catch((e: Error) => {
      if (!failed) throw e;
      ctx.log(`(after the failure) back to the embedded gateway failed too: ${e.message}`);
    });
  }
}

/** Back to the embedded gateway: settings cleared, reloaded, a clean tree. */
export async function backToEmbedded(ctx: E2eContext, host: HostRef): Promise<void> {
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
