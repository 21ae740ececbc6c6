// Preloaded by the memory benchmark only (node --expose-gc -r out/bench/gcProbe.js dist/gateway.js):
// on SIGUSR2, a full garbage collection, then one stderr line `GC-PROBE {...}` with
// process.memoryUsage() and the committed size of V8's young generation ("new space"). It tells
// a leak (the live heap still grows after a full collection) from garbage V8 has not collected
// yet or heap it keeps committed — all three look the same in RSS.
import { getHeapSpaceStatistics } from 'node:v8';

process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  process.stderr.write(`GC-PROBE ${JSON.stringify({ ...process.memoryUsage(), newSpaceCommitted: newSpace?.space_size ?? 0, collected: gc !== undefined })}\n`);
});
