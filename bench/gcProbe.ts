// Preloaded by the memory benchmark only (node --expose-gc -r out/bench/gcProbe.js dist/gateway.js):
// on SIGUSR2, a full garbage collection, then one stderr line `GC-PROBE {...}` with
// process.memoryUsage() and the committed size of V8's young generation ("new space"). It tells
// a leak (the live heap still grows after a full collection) from garbage V8 has not collected
// yet or heap it keeps committed — all three look the same in RSS.
// On SIGWINCH the same line without a collection (`collected: false`): the heap as RSS sees it
// at a sample point, where a forced collection would flatten the curve being measured. SIGWINCH
// because its default action is to ignore it (a gateway without the probe is unaffected), and
// node only uses it for a TTY; SIGUSR1 is node's inspector.
// With GC_PROBE_SNAPSHOT_DIR set, each SIGUSR2 also writes a heap snapshot there after the
// collection (its path in the line's `snapshot`): bench/heapGrowth.ts diffs two of them.
import * as path from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const snapshotDir = process.env.GC_PROBE_SNAPSHOT_DIR;
let snapshots = 0;

function report(collect: boolean): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (collect) gc?.();
  const snapshot = collect && snapshotDir ? writeHeapSnapshot(path.join(snapshotDir, `gateway-${process.pid}-${snapshots++}.heapsnapshot`)) : undefined;
  const spaces = getHeapSpaceStatistics();
  const space = (name: string) => spaces.find((s) => s.space_name === name);
  process.stderr.write(`GC-PROBE ${JSON.stringify({
    ...process.memoryUsage(),
    newSpaceCommitted: space('new_space')?.space_size ?? 0,
    oldSpaceUsed: space('old_space')?.space_used_size ?? 0,
    oldSpaceCommitted: space('old_space')?.space_size ?? 0,
    collected: collect && gc !== undefined,
    ...(snapshot ? { snapshot } : {}),
  })}\n`);
}

process.on('SIGUSR2', () => report(true));
process.on('SIGWINCH', () => report(false));
