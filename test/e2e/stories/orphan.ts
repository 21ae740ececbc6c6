import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isAlive, waitFor } from '../../support/processes';
import { OWNER_ENV, PARENT_ENV } from '../../../src/core/ownerMarker';
import { readProcStat } from '../../../src/core/procfs';
import { describeProcess, ownedBy } from '../hostProcesses';
import { waitForHost, waitForRunningGateway } from '../hosts';
import { createSession, runSlash, workerPid } from '../sessions';
import type { Page } from '../page';
import type { Story } from '../story';
import { DEFAULT_TIMEOUT_MS, pidIn, quickInput, runFromPalette, waitForNotification, waitForTree } from '../workbench';
import { killHostAndMeasure } from './hostKill';

/** Unchecks every entry of the open multi-select quick pick not labelled `text`; returns their labels. */
async function keepOnly(page: Page, text: string): Promise<string[]> {
  const rows = quickInput(page).locator('.monaco-list-row');
  const others: string[] = [];
  for (let i = 0, n = await rows.count(); i < n; i++) {
    const row = rows.nth(i);
    const label = (await row.locator('.label-name').first().innerText()).trim();
    if (label === text) continue;
    others.push(label);
    await row.locator('.monaco-checkbox[aria-checked="true"]').first().click();
  }
  return others;
}

export const orphanStory: Story = {
  id: 'orphan',
  title: 'an escaped orphan: `/run env -u GATEWAY_WARDEN_PARENT setsid sh escape.sh &` (leaves the group, drops the worker\'s marker and moves itself out of our cgroup tree, so no teardown of ours can find it; only the owner marker remains), then SIGKILL the host: the new host reports the orphan; "Clear Orphans" from the palette removes it; an innocent `sleep 600` started by the test outside the extension survives',
  async run(ctx) {
    const host = await waitForHost(ctx);
    await waitForRunningGateway(ctx);
    await createSession(ctx, 'gamma');
    // A plain `setsid` escapee now goes down with its worker (the worker's own teardown follows
    // GATEWAY_WARDEN_PARENT) and with its session's cgroup; one that also drops that marker and
    // moves itself out of our cgroup tree (root may) escapes every teardown, and only the
    // inherited owner marker still names it — the orphan this story needs.
    const escape = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gw-e2e-escape-')), 'escape.sh');
    fs.writeFileSync(escape, [
      'm=$(awk \'$3=="cgroup2"{print $2; exit}\' /proc/mounts)',
      "c=$(sed -n 's/^0:://p' /proc/self/cgroup)",
      'case "$c" in */gateway-warden-*) echo $$ > "$m${c%/gateway-warden-*}/cgroup.procs" ;; esac',
      'exec sleep 600',
      '',
    ].join('\n'));
    await runSlash(ctx, 'gamma', `/run env -u ${PARENT_ENV} setsid sh ${escape} &`, 1);
    const worker = await workerPid(ctx, 'gamma');
    const workerPgid = readProcStat(worker)?.pgid;
    const escaped = await waitFor(
      () => ownedBy(host).find((p) => /\bsleep 600\b/.test(p.cmdline) && p.pgid !== workerPgid),
      'the setsid sleep (owned by the host, outside the worker\'s group)',
    );
    ctx.track(escaped.pid);
    ctx.log(`escaped: ${describeProcess(escaped)}`);

    const innocentEnv = { ...process.env };
    delete innocentEnv[OWNER_ENV];
    const innocent = spawn('sleep', ['600'], { stdio: 'ignore', env: innocentEnv });
    assert.ok(innocent.pid);
    ctx.track(innocent.pid);

    const rest = ownedBy(host).filter((p) => p.pid !== escaped.pid).map((p) => p.pid);
    await killHostAndMeasure(ctx, host, rest);
    assert.ok(isAlive(escaped.pid), 'the marker-less setsid sleep died with the host: nothing left to test orphan clearing with');

    await waitForHost(ctx, host.pid);
    await waitForRunningGateway(ctx);
    await waitForNotification(ctx.page, /Found \d+ orphaned process/, 60_000);
    await waitForTree(ctx.page, `an Orphans row listing pid ${escaped.pid}`, (rows) => rows.some((r) => pidIn(r) === escaped.pid && r.level === 2));

    await runFromPalette(ctx.page, 'Gateway Warden: Clear Orphaned Processes');
    const entry = quickInput(ctx.page).locator('.monaco-list-row', { hasText: `pid ${escaped.pid}` }).first();
    await entry.waitFor({ state: 'visible', timeout: DEFAULT_TIMEOUT_MS });
    const innocentListed = await quickInput(ctx.page).locator('.monaco-list-row', { hasText: `pid ${innocent.pid}` }).count();
    assert.equal(innocentListed, 0, `the innocent sleep ${innocent.pid} is offered as an orphan`);
    await ctx.screenshot('orphans');
    // Orphans this run did not make (another test's, on a shared machine) are not ours to clear:
    // unselect them, as the picker invites.
    const others = await keepOnly(ctx.page, `pid ${escaped.pid}`);
    if (others.length) ctx.log(`left alone (not this run's): ${others.join('; ')}`);
    await quickInput(ctx.page).locator('input.input').first().press('Enter');
    await waitForNotification(ctx.page, /Cleared 1 of 1 orphaned process/, 30_000);
    await waitFor(() => !isAlive(escaped.pid), `orphan ${escaped.pid} to be gone`, 10_000);
    assert.ok(isAlive(innocent.pid), `the innocent sleep ${innocent.pid} was killed`);
    if (others.length) await waitForTree(ctx.page, `no row for pid ${escaped.pid}`, (rows) => !rows.some((r) => pidIn(r) === escaped.pid));
    else await waitForTree(ctx.page, 'no Orphans row', (rows) => !rows.some((r) => r.label === 'Orphans'));
    process.kill(innocent.pid, 'SIGKILL');
  },
};
