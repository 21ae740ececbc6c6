// Sessions and slash commands, through the view's title button, the palette and input boxes.
import type { E2eContext } from './story';
import { extensionLogMark, extensionLogSince, LogMark } from './diagnostics';
import {
  answerInputBox, childrenOf, clearNotifications, DEFAULT_TIMEOUT_MS, notification, pickQuickItem, pidIn, quickInput,
  runFromPalette, sidebar, TreeRow, waitForTree,
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

/** How long "Run Slash Command" has to show its input box before it counts as not run. */
const INPUT_SHOWN_WITHIN_MS = 8_000;

/**
 * "Run Slash Command…" from the F1 palette: picks the session (when there are several) and types
 * the command into its input box. If no input box came and nothing is on screen, the palette did
 * not run the command (seen once on a loaded machine: its Enter left no trace in the extension's
 * log): it is run again, once, and that is logged.
 */
export async function startSlash(ctx: E2eContext, sessionLabel: string, command: string, sessionCount: number): Promise<void> {
  const prompt = `Slash command for session ${sessionLabel}`;
  for (let attempt = 1; ; attempt++) {
    await runFromPalette(ctx.page, 'Gateway Warden: Run Slash Command');
    if (sessionCount > 1) await pickQuickItem(ctx.page, sessionLabel);
    const within = attempt === 1 ? INPUT_SHOWN_WITHIN_MS : DEFAULT_TIMEOUT_MS;
    const shown = await quickInput(ctx.page).filter({ hasText: prompt }).waitFor({ state: 'visible', timeout: within }).then(() => true, () => false);
    if (shown) break;
    if (attempt > 1 || (await quickInput(ctx.page).isVisible())) {
      throw new Error(`"Run Slash Command" showed no input box "${prompt}" within ${within} ms (attempt ${attempt})`);
    }
    ctx.log(`"Run Slash Command": no input box within ${within} ms and nothing on screen (the palette did not run it); running it again`);
  }
  await answerInputBox(ctx.page, prompt, command);
}

/**
 * "Run Slash Command…" from the F1 palette: picks the session, types the command, and returns the
 * text of the notification that shows its output. An error notification from the command fails at
 * once with its text. If the extension never received the command (its log has no line for it:
 * the input box went away without an accept), the steps are repeated once, and that is logged.
 */
export async function runSlash(ctx: E2eContext, sessionLabel: string, command: string, sessionCount: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const logMark = extensionLogMark(ctx.userDataDir);
    await startSlash(ctx, sessionLabel, command, sessionCount);
    const outcome = await slashOutcome(ctx, command, logMark);
    if (outcome.kind === 'output') {
      await clearNotifications(ctx.page);
      return outcome.text;
    }
    if (outcome.kind === 'not-received' && attempt === 1) {
      ctx.log(`"${command}" in "${sessionLabel}": the extension did not receive it (nothing in its log); running it again`);
      continue;
    }
    throw new Error(`"${command}" in session "${sessionLabel}": ${outcome.text}`);
  }
}

type SlashOutcome = { kind: 'output' | 'failed' | 'not-received' | 'timeout'; text: string };

const SLASH_TIMEOUT_MS = 60_000;
/** How long after the input box closed the extension has to log the command it received. */
const RECEIVED_WITHIN_MS = 10_000;
/** How long to wait for a toast before looking in the notification centre. */
const CENTER_AFTER_MS = 5_000;

async function slashOutcome(ctx: E2eContext, command: string, logMark: LogMark): Promise<SlashOutcome> {
  const result = notification(ctx.page, `${command}:`);
  const failure = notification(ctx.page, /Slash command failed/);
  const started = Date.now();
  let centerOpened = false;
  for (;;) {
    if (await result.isVisible().catch(() => false)) {
      return { kind: 'output', text: (await result.locator('.notification-list-item-message').innerText()).trim() };
    }
    if (await failure.isVisible().catch(() => false)) {
      return { kind: 'failed', text: (await failure.innerText().catch(() => '?')).replace(/\s+/g, ' ').trim() };
    }
    const waited = Date.now() - started;
    if (waited > CENTER_AFTER_MS && !centerOpened && extensionLogSince(ctx.userDataDir, logMark).includes(`] ${command}`)) {
      // VS Code shows at most three new toasts per 800 ms; past that a notification goes straight
      // to the notification centre (the bell gets a dot). Look there, as a person would.
      ctx.log(`no toast for "${command}" after ${CENTER_AFTER_MS} ms: looking in the notification centre`);
      await runFromPalette(ctx.page, 'Notifications: Show Notifications');
      centerOpened = true;
    }
    if (waited > RECEIVED_WITHIN_MS && !extensionLogSince(ctx.userDataDir, logMark).includes(`] ${command}`)) {
      return { kind: 'not-received', text: `the extension did not log receiving it within ${RECEIVED_WITHIN_MS} ms` };
    }
    if (waited > SLASH_TIMEOUT_MS) return { kind: 'timeout', text: `no output notification within ${SLASH_TIMEOUT_MS} ms` };
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits for the session's Worker row and returns its pid. */
export async function workerPid(ctx: E2eContext, sessionLabel: string): Promise<number> {
  return waitForTree(ctx.page, `a worker with a pid under session "${sessionLabel}"`, (rows) => {
    const w = workerRow(rows, sessionLabel);
    return w && pidIn(w);
  });
}
