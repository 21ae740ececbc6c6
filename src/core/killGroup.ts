// Async and blocking drivers of groupTeardown. The blocking one is for deactivate() and exit
// paths, where pending timers may never fire.
import { groupTeardown } from './groupTeardown';
import type { KillGroupOptions, KillGroupResult } from './killTypes';
import { runSteps, runStepsSync } from './steps';

export async function killGroup(pgid: number, opts: KillGroupOptions = {}): Promise<KillGroupResult> {
  const started = Date.now();
  try {
    return await runSteps(groupTeardown(pgid, opts));
  } catch (e) {
    return failed(pgid, started, e);
  }
}

export function killGroupSync(pgid: number, opts: KillGroupOptions = {}): KillGroupResult {
  const started = Date.now();
  try {
    return runStepsSync(groupTeardown(pgid, opts));
  } catch (e) {
    return failed(pgid, started, e);
  }
}

function failed(pgid: number, started: number, e: unknown): KillGroupResult {
  return {
    pgid,
    signals: [],
    survivors: [],
    elapsedMs: Date.now() - started,
    refused: `error: ${(e as Error)?.message ?? String(e)}`,
  };
}
