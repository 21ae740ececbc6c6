// The teardown is written once, as a generator that yields "sleep this many ms", and driven
// either asynchronously (normal paths) or blocking (exit handlers and deactivate fallbacks,
// where pending timers never fire).

import { delay } from '../emitter';

export type Steps<T> = Generator<number, T, void>;

export async function runSteps<T>(steps: Steps<T>): Promise<T> {
  for (let s = steps.next(); ; s = steps.next()) {
    if (s.done) return s.value;
    await delay(s.value);
  }
}

export function runStepsSync<T>(steps: Steps<T>): T {
  for (let s = steps.next(); ; s = steps.next()) {
    if (s.done) return s.value;
    sleepSync(s.value);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` without spinning. */
function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}
