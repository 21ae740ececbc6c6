// Sessions and slash commands, through the view's title button, the palette and input boxes.
import type { E2eContext } from './story';
import {
  answerInputBox, childrenOf, clearNotifications, DEFAULT_TIMEOUT_MS, pickQuickItem, pidIn, runFromPalette,
  sidebar, TreeRow, waitForNotification, waitForTree,
} from './workbench';

export function sessionRow(rows: TreeRow[], label: string): TreeRow | undefined {
  return rows.find((r) => r.level === 2 && r.label === label);
}

export function workerRow(rows: TreeRow[], sessionLabel: string): TreeRow | undefined {
  const s = sessionRow(rows, sessionLabel);
  return s && childrenOf(rows, s).find((r) => r.label === 'Worker');
}

/** "New Session" from the view's title bar, labelled `label`; resolves when the tree shows it. */
export async function createSession(ctx: E2eContext, label: string): Promise<void> {
  const button = sidebar(ctx.page).locator('.title-actions .action-label[aria-label^="New Session"]').first();
  await button.click({ timeout: DEFAULT_TIMEOUT_MS });
  await answerInputBox(ctx.page, 'Label for the new session', label);
  await waitForTree(ctx.page, `session "${label}"`, (rows) => sessionRow(rows, label));
}

/**
 * "Run Slash Command…" from the F1 palette: picks the session, types the command, and returns the
 * text of the notification that shows its output.
 */
export async function runSlash(ctx: E2eContext, sessionLabel: string, command: string, sessionCount: number): Promise<string> {
  await runFromPalette(ctx.page, 'Gateway Warden: Run Slash Command');
  if (sessionCount > 1) await pickQuickItem(ctx.page, sessionLabel);
  await answerInputBox(ctx.page, `Slash command for session ${sessionLabel}`, command);
  const text = await waitForNotification(ctx.page, `${command}:`, 60_000);
  await clearNotifications(ctx.page);
  return text;
}

/** Waits for the session's Worker row and returns its pid. */
export async function workerPid(ctx: E2eContext, sessionLabel: string): Promise<number> {
  return waitForTree(ctx.page, `a worker with a pid under session "${sessionLabel}"`, (rows) => {
    const w = workerRow(rows, sessionLabel);
    return w && pidIn(w);
  });
}
