// The benchmark's side of bench/gcProbe.ts: the node arguments that preload it into a gateway,
// and the reader of its `GC-PROBE` lines.
import * as path from 'node:path';
import { LineDecoder } from '../src/core/lineDecoder';
import { waitFor } from '../test/support/processes';
import { DirectGateway } from './gatewayDirect';

/** Node arguments for startGateway: gc() exposed, the probe preloaded. */
export const gcProbeArgs = ['--expose-gc', '-r', path.join(__dirname, 'gcProbe.js')];

export interface HeapUsage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  newSpaceCommitted: number;
  oldSpaceUsed: number;
  oldSpaceCommitted: number;
  collected: boolean;
  /** The heap snapshot written after the collection (GC_PROBE_SNAPSHOT_DIR set). */
  snapshot?: string;
}

/**
 * Attaches the GC probe reader to a gateway started with gcProbeArgs. `collect` forces a full
 * collection in the gateway and resolves with its memory after it; `read` resolves with its
 * memory as it is (no collection: what RSS holds at a sample point).
 */
export function gcProber(g: DirectGateway, timeoutMs = 10_000): { collect(): Promise<HeapUsage>; read(): Promise<HeapUsage> } {
  const seen: HeapUsage[] = [];
  const lines = new LineDecoder(1024 * 1024, {
    line: (line) => {
      if (line.startsWith('GC-PROBE ')) seen.push(JSON.parse(line.slice(9)) as HeapUsage);
    },
    oversize: () => undefined, // a gateway log line, never a probe's
  });
  g.child.stderr!.on('data', (c: Buffer) => lines.push(c));
  const ask = async (signal: NodeJS.Signals) => {
    const n = seen.length;
    process.kill(g.pid, signal);
    return waitFor(() => seen[n], 'the gateway\'s GC probe line', timeoutMs);
  };
  return { collect: () => ask('SIGUSR2'), read: () => ask('SIGWINCH') };
}
