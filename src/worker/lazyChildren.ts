// The one door to children.ts (see there why it is loaded on first need). Every way a worker
// starts a process goes through that module, so "not loaded" proves "no child was ever started":
// an exit path then has nothing of ours to take down, and loads nothing to find that out.
import type * as Children from './children';

let children: typeof Children | undefined;

/** children.ts, evaluated on the first call (synchronously: /run's keeper and the reaper need it before anything else). */
export function loadChildren(): typeof Children {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a require in a function is what keeps it out of start-up
  children ??= require('./children') as typeof Children;
  return children;
}

/** children.ts if it was ever loaded; undefined: this worker never started a child. */
export function childrenIfLoaded(): typeof Children | undefined {
  return children;
}
