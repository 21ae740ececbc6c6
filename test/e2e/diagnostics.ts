// What a failed story leaves for the person reading CI output: the notifications on screen, the
// quick input if one is open, and the tail of the extension's own log (its output channel, which
// code-server writes under the user-data-dir). CI shows only the end of the output, so this is
// short and goes into the failure message itself.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from './page';

const LOG_NAME = 'Gateway Warden.log';

/** The newest "Gateway Warden.log" under <userDataDir>/logs (one per extension host start). */
export function extensionLogPath(userDataDir: string): string | undefined {
  let best: { path: string; mtime: number } | undefined;
  const walk = (dir: string, depth: number): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const p = join(dir, name);
      if (name === LOG_NAME) {
        const mtime = statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? 0;
        if (!best || mtime > best.mtime) best = { path: p, mtime };
      } else if (depth < 4) {
        walk(p, depth + 1);
      }
    }
  };
  walk(join(userDataDir, 'logs'), 0);
  return best?.path;
}

/** Where the extension log ends now: a mark for extensionLogSince. */
export interface LogMark { path?: string; size: number }

export function extensionLogMark(userDataDir: string): LogMark {
  const path = extensionLogPath(userDataDir);
  return { path, size: path ? (statSync(path, { throwIfNoEntry: false })?.size ?? 0) : 0 };
}

/** What the extension logged after `mark` (all of a newer log, if the host was restarted since). */
export function extensionLogSince(userDataDir: string, mark: LogMark): string {
  const path = extensionLogPath(userDataDir);
  if (!path) return '';
  return readFileSync(path).subarray(path === mark.path ? mark.size : 0).toString('utf8');
}

export function extensionLogTail(userDataDir: string, lines: number): string {
  const path = extensionLogPath(userDataDir);
  if (!path) return '(no extension log found)';
  const all = readFileSync(path, 'utf8').trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/** Text of every visible notification toast, and of the quick input if it is open. */
export async function screenState(page: Page): Promise<string> {
  const out: string[] = [];
  const toasts = page.locator('.notifications-toasts .notification-list-item');
  const n = await toasts.count().catch(() => 0);
  for (let i = 0; i < n; i++) {
    const t = await toasts.nth(i).innerText({ timeout: 1000 }).catch(() => '?');
    out.push(`notification: ${t.replace(/\s+/g, ' ').trim()}`);
  }
  const quick = page.locator('.quick-input-widget');
  if (await quick.isVisible().catch(() => false)) {
    out.push(`quick input open: ${(await quick.innerText({ timeout: 1000 }).catch(() => '?')).replace(/\s+/g, ' ').trim().slice(0, 300)}`);
  }
  // Do Not Disturb hides information toasts: worth knowing when one never showed.
  if (await page.locator('.statusbar .codicon-bell-slash').count().catch(() => 0)) out.push('Do Not Disturb is ON');
  return out.length ? out.join('\n') : '(no notifications, no quick input)';
}

export async function failureContext(page: Page, userDataDir: string): Promise<string> {
  const screen = await screenState(page).catch((e: Error) => `(screen unreadable: ${e.message})`);
  return `on screen:\n${screen}\nextension log (tail):\n${extensionLogTail(userDataDir, 25)}`;
}
