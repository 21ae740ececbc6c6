// Stories, or single checks inside a story, that cannot pass until their feature is on main.
// They are listed with the reason in every run (and counted as skipped), never silently dropped;
// remove an entry when its feature lands.
export const PENDING_STORIES: Readonly<Record<string, string>> = {};

export const PENDING_CHECKS: Readonly<Record<string, string>> = {
  'sessions.child-row':
    'extension: a worker\'s tree children are its descendants only (src/host/resourceSampler.ts); ' +
    '`/run sleep 600 &` leaves sleep in the worker\'s process group but re-parented to init, so no row shows it',
  'kill-worker.context-menu':
    'extension: "Kill Worker" is contributed to view/item/context only in the "inline" group (the row\'s trash ' +
    'icon), so a right-click shows no menu; the story kills through the inline action meanwhile',
  'orphan.tree-refresh':
    'extension: after "Clear Orphans" the tree keeps the Orphans row until the "Cleared N of N" toast is ' +
    'dismissed (clearOrphansFlow awaits showInformationMessage before wardenUi rescans); the story dismisses it meanwhile',
};

const skipped: string[] = [];

/**
 * Runs `check` unless it is in PENDING_CHECKS, in which case it is logged and recorded.
 * GW_E2E_RUN_PENDING=1 runs pending checks too: the way to see whether their feature has landed.
 */
export async function unlessPending(key: string, log: (m: string) => void, check: () => Promise<void>): Promise<void> {
  const why = PENDING_CHECKS[key];
  if (!why || process.env.GW_E2E_RUN_PENDING === '1') return check();
  skipped.push(key);
  log(`PENDING check ${key}: ${why}`);
}

export function skippedChecks(): readonly string[] {
  return skipped;
}
