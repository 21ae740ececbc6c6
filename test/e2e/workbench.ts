// Driving the VS Code workbench as a person would: activity bar, tree, context menus, the F1
// palette, input boxes, quick picks and notifications. Selectors are VS Code 1.100's DOM.
import type { Locator, Page } from './page';

export const DEFAULT_TIMEOUT_MS = 20_000;

export interface TreeRow {
  /** data-index of the row in the list (stable while the tree does not change shape). */
  index: number;
  level: number;
  label: string;
  description: string;
  expanded?: boolean;
  /** index of the parent row, if any. */
  parent?: number;
}

/** Waits until the workbench is interactive (activity bar and status bar rendered). */
export async function waitForWorkbench(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.locator('.monaco-workbench .part.activitybar').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
}

/**
 * Shows the Gateway Warden view from the activity bar. Clicking the icon of the container that is
 * already open closes the side bar, so it clicks only while the icon is not checked (a reload
 * may be restoring the view at the same moment) and retries until the view's title shows.
 */
export async function openWardenView(page: Page, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const item = page.locator('.activitybar .action-item', { has: page.locator('[aria-label^="Gateway Warden"]') }).first();
  await item.waitFor({ state: 'visible', timeout: timeoutMs });
  const title = page.locator('.sidebar .composite.title', { hasText: /Gateway Warden/i });
  const deadline = Date.now() + timeoutMs;
  while (!(await title.isVisible())) {
    if (Date.now() > deadline) throw new Error(`the Gateway Warden view did not open within ${timeoutMs} ms`);
    if (!/\bchecked\b/.test((await item.getAttribute('class')) ?? '')) await item.click();
    await title.waitFor({ state: 'visible', timeout: 2000 }).catch(() => undefined);
  }
  await widenSidebar(page, 640);
}

/** Drags the sash on the side bar's right edge so tree descriptions (pids) are not cut off. */
export async function widenSidebar(page: Page, width: number): Promise<void> {
  const box = await sidebar(page).boundingBox();
  if (!box || box.width >= width) return;
  const x = box.x + box.width;
  const y = box.y + box.height / 2;
  await page.mouse.move(x - 1, y);
  await page.mouse.down();
  await page.mouse.move(box.x + width, y, { steps: 5 });
  await page.mouse.up();
}

export function sidebar(page: Page): Locator {
  return page.locator('.part.sidebar');
}

/** The rows of the Gateway Warden tree, top to bottom, with parent links from aria-level. */
export async function readTree(page: Page): Promise<TreeRow[]> {
  const raw = await sidebar(page)
    .locator('.monaco-list-row')
    .evaluateAll((els) =>
      els.map((el) => ({
        index: Number(el.getAttribute('data-index')),
        level: Number(el.getAttribute('aria-level') ?? '1'),
        expanded: el.hasAttribute('aria-expanded') ? el.getAttribute('aria-expanded') === 'true' : undefined,
        label: el.querySelector('.label-name')?.textContent?.trim() ?? '',
        description: el.querySelector('.label-description')?.textContent?.trim() ?? '',
      })),
    );
  raw.sort((a, b) => a.index - b.index);
  const stack: TreeRow[] = [];
  const rows: TreeRow[] = [];
  for (const r of raw) {
    while (stack.length && stack[stack.length - 1].level >= r.level) stack.pop();
    const row: TreeRow = { ...r, parent: stack.length ? stack[stack.length - 1].index : undefined };
    rows.push(row);
    stack.push(row);
  }
  return rows;
}

export function formatTree(rows: TreeRow[]): string {
  return rows.map((r) => `${'  '.repeat(r.level - 1)}${r.expanded === undefined ? ' ' : r.expanded ? 'v' : '>'} ${r.label}  ${r.description}`).join('\n');
}

export function rowLocator(page: Page, row: TreeRow): Locator {
  return sidebar(page).locator(`.monaco-list-row[data-index="${row.index}"]`);
}

/** Children rows of `parent` in a tree snapshot. */
export function childrenOf(rows: TreeRow[], parent: TreeRow): TreeRow[] {
  return rows.filter((r) => r.parent === parent.index);
}

/** The pid shown in a row's description ("… pid 1234 …"). */
export function pidIn(row: TreeRow): number | undefined {
  const m = /\bpid (\d+)/.exec(row.description) ?? /^pid (\d+)$/.exec(row.label);
  return m ? Number(m[1]) : undefined;
}

/**
 * Polls the tree until `probe` returns a value; the timeout message shows the last tree. Like a
 * person looking for a row, it expands collapsed rows on the way (one per poll: the DOM re-renders).
 */
export async function waitForTree<T>(page: Page, what: string, probe: (rows: TreeRow[]) => T | undefined | false, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let rows: TreeRow[] = [];
  for (;;) {
    rows = await readTree(page).catch(() => []);
    const v = probe(rows);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the tree to show ${what}; it shows:\n${formatTree(rows) || '(no rows)'}`);
    const collapsed = rows.find((r) => r.expanded === false);
    if (collapsed) await expand(page, collapsed).catch(() => undefined);
    else await new Promise((r) => setTimeout(r, 200));
  }
}

export async function expand(page: Page, row: TreeRow): Promise<void> {
  if (row.expanded === false) await rowLocator(page, row).locator('.monaco-tl-twistie').click({ timeout: 5000 });
}

/** Right-clicks a row and picks `item` from its context menu. */
export async function contextMenu(page: Page, row: TreeRow, item: string): Promise<void> {
  await rowLocator(page, row).click({ button: 'right' });
  const entry = page.locator('.monaco-menu .action-item', { has: page.locator('.action-label', { hasText: item }) }).first();
  await entry.waitFor({ state: 'visible', timeout: DEFAULT_TIMEOUT_MS });
  // Hover focuses the entry; Enter runs the focused one. (A synthetic click right after the menu
  // opens is swallowed by the menu's mouse-up handling.) Enter goes only once this entry is the
  // focused one: a hover that lands while the menu is still being laid out focuses nothing or its
  // neighbour, and Enter would run that instead (a session's first entry is Run Slash Command,
  // whose input box then waits unseen).
  const deadline = Date.now() + DEFAULT_TIMEOUT_MS;
  for (;;) {
    await entry.hover();
    if (/\bfocused\b/.test((await entry.getAttribute('class')) ?? '')) break;
    if (Date.now() > deadline) throw new Error(`the context-menu entry "${item}" did not take the focus within ${DEFAULT_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.keyboard.press('Enter');
  await entry.waitFor({ state: 'hidden', timeout: DEFAULT_TIMEOUT_MS });
}

/**
 * contextMenu for an entry whose command acts on the row and opens no input of its own. VS Code
 * forgets the item handles of a refreshed row's subtree (a row whose CPU or memory changed, at the
 * view's 2 s sample) until it has fetched them again; a menu command run in that window gets no
 * tree item, and the extension then asks with a quick pick which session, worker or process is meant.
 * Such a pick is cancelled and the menu used once more, and `log` says so.
 */
export async function contextMenuCommand(page: Page, row: () => Promise<TreeRow>, item: string, log: (m: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await contextMenu(page, await row(), item);
    const pick = quickInput(page);
    if (!(await pick.waitFor({ state: 'visible', timeout: 1500 }).then(() => true, () => false))) return;
    const text = (await pick.innerText({ timeout: 1000 }).catch(() => '?')).replace(/\s+/g, ' ').trim().slice(0, 200);
    await page.keyboard.press('Escape');
    await pick.waitFor({ state: 'hidden', timeout: DEFAULT_TIMEOUT_MS });
    if (attempt >= 2) throw new Error(`"${item}" from the context menu asked which item was meant, twice (quick input: ${text})`);
    log(`"${item}" from the context menu reached the extension without its tree item (VS Code was re-fetching the view's rows after a refresh) and it asked: ${text}; cancelled, using the menu once more`);
  }
}

/** The quick input widget (palette, quick picks and input boxes share it). */
export function quickInput(page: Page): Locator {
  return page.locator('.quick-input-widget');
}

/**
 * F1, type the command's title, and run it once it is the focused entry. The list filters
 * asynchronously and reuses its row elements, so clicking a row found a moment earlier can run
 * whatever command that element shows by then; Enter runs exactly the entry checked here.
 */
export async function runFromPalette(page: Page, title: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  await page.keyboard.press('F1');
  const widget = quickInput(page);
  const input = widget.locator('input.input').first();
  await input.waitFor({ state: 'visible', timeout: timeoutMs });
  await input.fill(`>${title}`);
  await untilFocused(widget, title, timeoutMs);
  await input.press('Enter');
}

/** Palette labels may use a non-breaking space or a trailing ellipsis character. */
function normalize(s: string): string {
  return s.replace(/\s+/g, ' ').replace(/…$/, '').trim();
}

/** Waits for an input box whose prompt contains `prompt`, types `value` (replacing it) and presses Enter. */
export async function answerInputBox(page: Page, prompt: string | RegExp, value: string): Promise<void> {
  const widget = quickInput(page);
  await widget.filter({ hasText: prompt }).waitFor({ state: 'visible', timeout: DEFAULT_TIMEOUT_MS });
  const input = widget.locator('input.input').first();
  await input.fill(value);
  await input.press('Enter');
  await widget.waitFor({ state: 'hidden', timeout: DEFAULT_TIMEOUT_MS });
}

/**
 * Picks the quick-pick entry labelled `label`: types it into the filter and presses Enter once
 * that entry is the focused one (the same reasoning as runFromPalette).
 */
export async function pickQuickItem(page: Page, label: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const widget = quickInput(page);
  const input = widget.locator('input.input').first();
  await widget.locator('.monaco-list-row', { hasText: label }).first().waitFor({ state: 'visible', timeout: timeoutMs });
  await input.fill(label);
  await untilFocused(widget, label, timeoutMs);
  await input.press('Enter');
}

/** Waits until the quick input's focused entry is labelled `label`. */
async function untilFocused(widget: Locator, label: string, timeoutMs: number): Promise<void> {
  const focused = widget.locator('.monaco-list-row.focused .label-name').first();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = await focused.textContent({ timeout: 1000 }).catch(() => null);
    if (normalize(shown ?? '') === normalize(label)) return;
    if (Date.now() > deadline) throw new Error(`"${label}" was not the focused entry within ${timeoutMs} ms (focused: ${JSON.stringify(shown)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A visible notification whose message matches `text`: a toast, or in the open notification centre. */
export function notification(page: Page, text: string | RegExp): Locator {
  return page.locator('.notifications-toasts .notification-list-item, .notifications-center .notification-list-item', { hasText: text }).first();
}

export async function waitForNotification(page: Page, text: string | RegExp, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
  const n = notification(page, text);
  await n.waitFor({ state: 'visible', timeout: timeoutMs });
  return (await n.locator('.notification-list-item-message').innerText()).trim();
}

/** Clicks a button (e.g. "Show Log") on the notification matching `text`. */
export async function clickNotificationButton(page: Page, text: string | RegExp, button: string): Promise<void> {
  await notification(page, text).locator('.monaco-button', { hasText: button }).first().click();
}

/** Clears every notification; closes the notification centre if it was open. */
export async function clearNotifications(page: Page): Promise<void> {
  await runFromPalette(page, 'Notifications: Clear All Notifications');
  const center = page.locator('.notifications-center');
  if (await center.isVisible().catch(() => false)) await page.keyboard.press('Escape');
}
