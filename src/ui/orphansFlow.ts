// The palette half of orphan clearing: a multi-select pick (all pre-selected), a cancellable
// progress notification while killing, then a summary. Detection and killing are the host's.
import { delay } from '../core/emitter';
import type { QuickPickItem } from 'vscode';
import { orphanKey } from '../host/leakConditions';
import type { OrphanClearOutcome, OrphanScan } from '../host/orphanSource';
import type { Log } from '../host/seams';
import { formatBytes, formatDuration } from '../core/format';
import type { OrphanView } from './treeNodes';
import { PROGRESS_NOTIFICATION, WindowApi } from './vscodeApi';

export interface OrphanSource<T extends OrphanView = OrphanView> {
  /** The orphans known now (a fresh scan). */
  scan(): Promise<OrphanScan<T>>;
  /** Ends the given orphans and what hangs below them, re-checking fingerprints before signals. */
  clear(items: readonly T[], opts: { signal?: AbortSignal; onProgress?: (done: number, total: number, pid: number) => void }): Promise<OrphanClearOutcome[]>;
}

/** What one run of the palette flow did: orphans cleared, those not (each with its reason), whether it was cancelled. */
export interface ClearFlowSummary {
  cleared: number;
  failed: OrphanClearOutcome[];
  cancelled: boolean;
  attempted: number;
}

const SHOW_LOG = 'Show Log';

/** What the scan left unjudged, as a sentence (the details are in the log), or undefined. */
function loggedNote(logged: number | undefined): string | undefined {
  return logged ? `The scan logged ${logged} problem${logged === 1 ? '' : 's'} (checkpoints it skipped, processes it could not judge or corroborate).` : undefined;
}

/** `only`: from one orphan's row, pre-select just that one (the others stay listed, unselected). */
export async function clearOrphansFlow<T extends OrphanView>(window: WindowApi, source: OrphanSource<T>, log: Log & { show(): void }, only?: number): Promise<ClearFlowSummary | undefined> {
  const { items: orphans, incomplete, logged } = await source.scan();
  const note = loggedNote(logged);
  if (!orphans.length) {
    const found = incomplete === undefined ? 'No orphaned processes found.' : `No orphaned processes found, but the process table could not be read in full (${incomplete}): some may not be listed.`;
    if (incomplete === undefined && !note) {
      await window.showInformationMessage(found);
      return undefined;
    }
    if ((await window.showWarningMessage(note ? `${found} ${note}` : found, SHOW_LOG)) === SHOW_LOG) log.show();
    return undefined;
  }
  const items: (QuickPickItem & { o: T })[] = orphans.map((o) => ({
    label: `pid ${o.pid}`,
    description: [o.ageMs !== undefined ? `${formatDuration(o.ageMs)} old` : undefined, o.rssBytes !== undefined ? formatBytes(o.rssBytes) : undefined, o.reason]
      .filter(Boolean)
      .join(' · '),
    detail: o.cmdline,
    picked: only === undefined || o.pid === only,
    o,
  }));
  const picked = await window.showQuickPick(items, {
    canPickMany: true,
    title: note ? `Clear orphaned processes — ${logged} scan problem${logged === 1 ? '' : 's'} in the log` : 'Clear orphaned processes',
    placeHolder: 'Processes left behind by an earlier session. Unselect any you want to keep.',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!picked || picked.length === 0) return undefined;

  const chosen = picked.map((p) => p.o);
  const outcomes = await window.withProgress(
    { location: PROGRESS_NOTIFICATION, title: 'Clearing orphaned processes', cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        return await source.clear(chosen, {
          signal: abort.signal,
          onProgress: (done, total, pid) => progress.report({ message: `pid ${pid} (${done}/${total})`, increment: 100 / total }),
        });
      } finally {
        sub.dispose();
      }
    },
  );
  const summary: ClearFlowSummary = {
    cleared: outcomes.filter((r) => r.ok).length,
    failed: outcomes.filter((r) => !r.ok),
    cancelled: outcomes.some((r) => r.reason === 'cancelled'),
    attempted: chosen.length,
  };
  for (const r of outcomes) log.info(`orphan ${r.pid}: ${r.message}`);
  const parts = [`Cleared ${summary.cleared} of ${chosen.length} orphaned process${chosen.length === 1 ? '' : 'es'}.`];
  if (summary.cancelled) parts.push('Cancelled before all were cleared.');
  if (summary.failed.length) parts.push(`Not cleared: ${summary.failed.map((f) => `${f.pid} (${f.message})`).join('; ')}.`);
  const text = parts.join(' ');
  // Not awaited: the caller refreshes the tree now, not when the toast is dismissed.
  if (summary.failed.length) void window.showWarningMessage(text);
  else void window.showInformationMessage(text);
  return summary;
}

/** Scan on activation, retried once after a delay so a window reload is not a false positive. */
export async function startupOrphanScan<T extends OrphanView>(
  source: Pick<OrphanSource<T>, 'scan'>,
  retryDelayMs: number,
  wait: (ms: number) => Promise<void> = delay,
): Promise<OrphanScan<T>> {
  const first = await source.scan();
  if (!first.items.length) return first;
  await wait(retryDelayMs);
  const second = await source.scan();
  // Only what both scans saw: a previous window's host that was still exiting is not an orphan.
  const seen = new Set(first.items.map(orphanKey));
  return { items: second.items.filter((o) => seen.has(orphanKey(o))), incomplete: second.incomplete, logged: second.logged };
}

export const FOUND_ACTIONS = { clear: 'Clear', show: 'Show', ignore: 'Ignore' } as const;

export function foundMessage(n: number): string {
  return `Found ${n} orphaned process${n === 1 ? '' : 'es'} from an earlier session`;
}
