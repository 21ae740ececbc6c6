// Diagnosis, not a benchmark (`npm run bench` runs *.bench.ts only): what the gateway holds more
// of after more session cycles. It runs `first` create / `/echo x` / close cycles, forces a full
// collection and takes a heap snapshot, runs up to `second` cycles, does the same, and prints the
// object groups that grew (count and bytes) with what holds one new object of each.
// Run: node scripts/build.mjs && node scripts/compile-tests.mjs && node out/bench/heapGrowth.js [first=250] [second=1000]
// A group growing by about one object per cycle is per-session state someone keeps; `code`
// is V8's compiled code (optimisation goes on for a while), not ours.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sessionCycles, startGateway, stopGateway } from './gatewayDirect';
import { gcProbeArgs, gcProber } from './gcProbeClient';
import { HeapSnapshot } from './heapSnapshot';
import { runBench } from './support';

const CONCURRENCY = 4;
const SHOWN = 20;
const TRACED = 5;
const settle = () => new Promise((r) => setTimeout(r, 1000)); // let the last exits and timers pass

async function main(): Promise<void> {
  const first = Number(process.argv[2] ?? 250);
  const second = Number(process.argv[3] ?? 1000);
  if (!(Number.isSafeInteger(first) && Number.isSafeInteger(second) && first >= 0 && second > first)) {
    throw new Error(`usage: heapGrowth.js [first] [second], 0 <= first < second (got ${process.argv.slice(2).join(' ')})`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-heap-'));
  const g = await startGateway([], gcProbeArgs, { GC_PROBE_SNAPSHOT_DIR: dir });
  try {
    // Writing a snapshot takes a while on a loaded machine.
    const probe = gcProber(g, 120_000);
    await sessionCycles(g, first, CONCURRENCY);
    await settle();
    const a = await probe.collect();
    await sessionCycles(g, second - first, CONCURRENCY);
    await settle();
    const b = await probe.collect();
    if (!a.snapshot || !b.snapshot) throw new Error('the GC probe wrote no snapshot');
    const before = new HeapSnapshot(a.snapshot);
    const after = new HeapSnapshot(b.snapshot);
    const mb = (n: number) => (n / 2 ** 20).toFixed(2);
    console.log(`live heap after a full collection: ${mb(a.heapUsed)} MB after ${first} cycles, ${mb(b.heapUsed)} MB after ${second} (${((b.heapUsed - a.heapUsed) / (second - first)).toFixed(0)} bytes per cycle)`);
    const ga = before.groups();
    const grown = [...after.groups()].map(([k, v]) => ({ k, count: v.count - (ga.get(k)?.count ?? 0), bytes: v.bytes - (ga.get(k)?.bytes ?? 0) })).filter((r) => r.count > 0 || r.bytes > 0);
    grown.sort((x, y) => y.bytes - x.bytes);
    console.log(`\ngrew over cycles ${first}–${second} (bytes, objects, group):`);
    for (const r of grown.slice(0, SHOWN)) console.log(`${String(r.bytes).padStart(10)} ${String(r.count).padStart(7)}  ${r.k}`);
    const idsBefore = new Set<number>();
    for (let i = 0; i < before.count; i++) idsBefore.add(before.id(i));
    const traced = grown.filter((r) => r.count > 0 && r.k !== 'code').sort((x, y) => y.count - x.count).slice(0, TRACED);
    for (const r of traced) {
      let fresh = -1;
      for (let i = 0; i < after.count && fresh < 0; i++) if (after.groupOf(i) === r.k && !idsBefore.has(after.id(i))) fresh = i;
      if (fresh < 0) continue;
      console.log(`\none new ${r.k} (+${r.count}) is held by:\n  ${after.retainerPath(fresh).join('\n  ')}`);
    }
  } finally {
    await stopGateway(g);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
