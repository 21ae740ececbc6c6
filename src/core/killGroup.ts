// Async and blocking drivers of groupTeardown. The blocking one is for deactivate() and exit
// paths, where pending timers may never fire.
import { groupTeardown } from './groupTeardown';
import type { KillGroupOptions, KillGroupResult } from './killTypes';

export async function killGroup(pgid: number, opts: KillGroupOptions = {}): Promise<KillGroupResult> {
  const started = Date.now();
  try {
    const steps = groupTeardown(pgid, opts);
    for (let step = steps.next(); ; step = steps.next()) {
      if (step.done) return step.value;
      await new Promise((resolve) => setTimeout(resolve, step.value));
    }
  } catch (e) {
    return failed(pgid, started, e);
  }
}

export function killGroupSync(pgid: number, opts: KillGroupOptions = {}): KillGroupResult {
  const started = Date.now();
  try {
    const steps = groupTeardown(pgid, opts);
    for (let step = steps.next(); ; step = steps.next()) {
      if (step.done) return step.value;
      sleepSync(step.value);
    }
  } catch (e) {
    return failed(pgid, started, e);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` without spinning. */
export function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
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
