// Waiting for the window's extension host and for the extension inside it to be up.
import { waitFor } from '../support/processes';
import { extensionHosts, hostRef, HostRef } from './hostProcesses';
import type { E2eContext } from './story';
import { childrenOf, formatTree, openWardenView, pidIn, TreeRow, waitForTree } from './workbench';

/** The single live extension host of the window, other than `not` (a host that was just killed). */
export async function waitForHost(ctx: E2eContext, not?: number, timeoutMs = 60_000): Promise<HostRef> {
  const host = await waitFor(
    () => {
      const hosts = extensionHosts(ctx.serverPgid).filter((p) => p.pid !== not);
      return hosts.length === 1 ? hostRef(hosts[0].pid) : undefined;
    },
    `one extension host${not ? ` other than ${not}` : ''} under code-server (group ${ctx.serverPgid})`,
    timeoutMs,
    50,
  ).catch((e: Error) => {
    // Which hosts there were (none, or an old one still exiting) says what went wrong.
    const hosts = extensionHosts(ctx.serverPgid);
    throw new Error(`${e.message}; hosts: ${hosts.map((h) => `${h.pid} (${h.state})`).join(', ') || 'none'}`);
  });
  ctx.noteHost(host.marker);
  return host;
}

export function isGatewayRow(r: TreeRow): boolean {
  return r.label === 'Gateway' && r.level === 1;
}

/** Opens the view and waits until the tree shows a running gateway; returns its row and pid. */
export async function waitForRunningGateway(ctx: E2eContext, timeoutMs = 60_000): Promise<{ row: TreeRow; pid: number }> {
  await openWardenView(ctx.page);
  return waitForTree(
    ctx.page,
    'a running gateway',
    (rows) => {
      const row = rows.find((r) => isGatewayRow(r) && /^running\b/.test(r.description));
      const pid = row && pidIn(row);
      return row && pid ? { row, pid } : undefined;
    },
    timeoutMs,
  );
}

/**
 * A clean tree after a new activation: the gateway and nothing under it. An Orphans row is
 * tolerated (and logged) only for processes the caller has already shown are not this host's:
 * on a shared machine another test's leftovers may be listed.
 */
export async function assertCleanTree(ctx: E2eContext): Promise<void> {
  // Expanded all the way down first: a collapsed row could hide a session.
  const rows = await waitForTree(ctx.page, 'every row expanded', (r) => r.every((x) => x.expanded !== false) && r);
  const gateway = rows.find(isGatewayRow);
  const orphans = rows.find((r) => r.level === 1 && r.label === 'Orphans');
  const unexpected = rows.filter((r) => r !== gateway && r !== orphans && (!orphans || r.parent !== orphans.index));
  if (unexpected.length || (gateway && childrenOf(rows, gateway).length)) {
    throw new Error(`the tree is not clean:\n${formatTree(rows)}`);
  }
  if (orphans) ctx.log(`note: the tree lists orphans not from this run:\n${formatTree(rows)}`);
}
