import * as assert from 'node:assert/strict';
import { isAlive } from '../../support/processes';
import { waitForHost, waitForRunningGateway } from '../hosts';
import type { Page } from '../page';
import { createSession, runSlash, sessionRow, workerPid } from '../sessions';
import type { Story } from '../story';
import { DEFAULT_TIMEOUT_MS, readTree, runFromPalette, waitForNotification } from '../workbench';

/**
 * Whether the active editor's document contains `text`, asked of the editor's own Find widget
 * (the editor renders only the lines in view, so the DOM does not hold the whole document).
 */
async function editorContains(page: Page, text: string): Promise<boolean> {
  await page.keyboard.press('Control+f');
  const widget = page.locator('.editor-group-container.active .find-widget.visible').first();
  await widget.waitFor({ state: 'visible', timeout: DEFAULT_TIMEOUT_MS });
  await widget.locator('.monaco-findInput .input').first().fill(text);
  const count = widget.locator('.matchesCount').first();
  const deadline = Date.now() + DEFAULT_TIMEOUT_MS;
  let noneSince: number | undefined;
  for (;;) {
    const shown = ((await count.textContent({ timeout: 1000 }).catch(() => '')) ?? '').trim();
    // "1 of 3" once searched; "No results" when there is none — believed once it has held for a second.
    if (/^\d+ of \d+/.test(shown)) return true;
    if (/^No results/i.test(shown)) {
      noneSince ??= Date.now();
      if (Date.now() - noneSince >= 1000) return false;
    } else {
      noneSince = undefined;
    }
    if (Date.now() > deadline) throw new Error(`the Find widget never counted matches of ${JSON.stringify(text)} (shows ${JSON.stringify(shown)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const reportStory: Story = {
  id: 'report',
  title: 'Copy Diagnostics Report from the palette: an untitled Markdown document with the gateway pid, a session\'s worker pid, the Orphans section and the log',
  async run(ctx) {
    await waitForHost(ctx);
    const gateway = await waitForRunningGateway(ctx);
    const sessions = (await readTree(ctx.page)).filter((r) => r.level === 2).length;
    if (!sessionRow(await readTree(ctx.page), 'report')) await createSession(ctx, 'report');
    await runSlash(ctx, 'report', '/pid', sessions + 1);
    const worker = await workerPid(ctx, 'report');
    assert.ok(isAlive(worker), `worker ${worker} of session "report" is not a live process`);

    await runFromPalette(ctx.page, 'Gateway Warden: Copy Diagnostics Report');
    await waitForNotification(ctx.page, /Diagnostics report copied to the clipboard/, 60_000);
    await ctx.page.locator('.editor-group-container.active .view-lines', { hasText: 'Gateway Warden diagnostics report' }).first()
      .waitFor({ state: 'visible', timeout: DEFAULT_TIMEOUT_MS });
    await ctx.screenshot('report');

    const needles: [string, string][] = [
      [`running**, pid ${gateway.pid}`, `the gateway pid ${gateway.pid} (this window's state line)`],
      [`${worker}  `, `the worker pid ${worker} (a table row)`],
      ['## Orphans', 'the Orphans section'],
      ['output channel (', 'the log channel\'s file (the Log section found it)'],
      ['(this window)', 'this window\'s host'],
    ];
    const missing: string[] = [];
    for (const [text, what] of needles) if (!(await editorContains(ctx.page, text))) missing.push(what);
    await ctx.page.keyboard.press('Escape');
    assert.deepEqual(missing, [], 'the report document lacks these');
    ctx.log(`report: gateway ${gateway.pid}, worker ${worker} found in the document`);

    // Untitled and dirty: closed without a save prompt.
    await runFromPalette(ctx.page, 'View: Revert and Close Editor');
  },
};
