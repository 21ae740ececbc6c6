// Preloaded by the memory benchmark only (node --expose-gc -r out/bench/gcProbe.js dist/gateway.js):
// on SIGUSR2, a full garbage collection, then one stderr line `GC-PROBE {process.memoryUsage()}`.
// It tells a leak (the heap still grows after a full collection) from garbage V8 has simply not
// collected yet — both look the same in RSS.
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  process.stderr.write(`GC-PROBE ${JSON.stringify({ ...process.memoryUsage(), collected: gc !== undefined })}\n`);
});
