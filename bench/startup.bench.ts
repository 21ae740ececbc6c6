// Issue row 5: start-up latency, each against a bare `node` measured in the same run.
//  - worker spawn → first reply: dist/worker.js started exactly as the gateway starts it (same
//    argv, environment, detached group, stdio pipes), an `exec /echo x` request written at
//    spawn time; timed to the worker's `ready` notification and to the reply. And through a
//    real gateway: session.create + the first `slash.exec /echo x` (which spawns the worker),
//    against a second exec on the now-warm worker.
//  - gateway spawn → gateway.ready (its first stdout line).
//  Baselines: `node -e` spawned the same way, to its first stdout line and to its exit.
// Run: npm run bench -- startup
import { performance } from 'node:perf_hooks';
import { exited, firstLine, hostFingerprint, spawnDetached, startGateway, stopGateway, WORKER_JS } from './gatewayDirect';
import { goal, ms, ratio, runBench, spread, stats, Stats, table, trials } from './support';
import { SMALL_HEAP_FLAGS } from '../src/core/heapFlags';

const TRIALS = Number(process.env.BENCH_TRIALS ?? trials(20));

async function bareNode(): Promise<{ line: number; exit: number }> {
  const t0 = performance.now();
  const child = spawnDetached(['-e', "process.stdout.write('up\\n')"]);
  const first = await firstLine(child);
  await exited(child);
  return { line: first.at - t0, exit: performance.now() - t0 };
}

/** The worker's argv as WorkerProcess.spawn builds it (src/gateway/workerProcess.ts). */
function workerArgs(sessionId: string): string[] {
  return [...SMALL_HEAP_FLAGS, WORKER_JS, '--session', sessionId, '--parent', hostFingerprint, '--poll-ms', '1000', '--idle-timeout-ms', String(30 * 60_000), '--owner', hostFingerprint];
}

async function directWorker(trial: number): Promise<{ ready: number; reply: number }> {
  const t0 = performance.now();
  const child = spawnDetached(workerArgs(`bench-${trial}`), { GATEWAY_WARDEN_PARENT: hostFingerprint });
  // Written at once: it waits in the pipe until the worker reads, as a first request would.
  child.stdin!.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'exec', params: { command: '/echo x' } }) + '\n');
  let ready = NaN;
  let reply = NaN;
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`worker ${child.pid}: no reply within 30 s`)), 30_000);
    child.stdout!.on('data', (c: Buffer) => {
      const at = performance.now();
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = JSON.parse(buf.slice(0, nl)) as { id?: number; method?: string; result?: { output?: string }; error?: unknown };
        buf = buf.slice(nl + 1);
        if (m.method === 'ready' && Number.isNaN(ready)) ready = at - t0;
        if (m.id === 1) {
          clearTimeout(timer);
          if (m.result?.output?.trim() !== 'x') reject(new Error(`unexpected reply ${JSON.stringify(m)}`));
          reply = at - t0;
          resolve();
        }
      }
    });
    child.on('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before replying`)));
  });
  child.stdin!.end(); // the worker's lifeline: it exits on EOF
  await exited(child);
  return { ready, reply };
}

async function viaGateway(): Promise<{ gatewayReady: number; first: number; warm: number }> {
  const g = await startGateway();
  try {
    const t0 = performance.now();
    const { sessionId } = await g.rpc.request<{ sessionId: string }>('session.create', {});
    const a = await g.rpc.request<{ output: string }>('slash.exec', { sessionId, command: '/echo x' });
    const first = performance.now() - t0;
    const t1 = performance.now();
    const b = await g.rpc.request<{ output: string }>('slash.exec', { sessionId, command: '/echo x' });
    const warm = performance.now() - t1;
    if (a.output.trim() !== 'x' || b.output.trim() !== 'x') throw new Error(`unexpected /echo output ${JSON.stringify([a, b])}`);
    return { gatewayReady: g.readyMs, first, warm };
  } finally {
    await stopGateway(g);
  }
}

async function main(): Promise<void> {
  // Warm-up: the first spawns pay for disk caches.
  await bareNode();
  await directWorker(-1);
  await viaGateway();

  const bareLine: number[] = [];
  const bareExit: number[] = [];
  const wReady: number[] = [];
  const wReply: number[] = [];
  const gReady: number[] = [];
  const gFirst: number[] = [];
  const gWarm: number[] = [];
  // Interleaved, so load from elsewhere on the machine falls on every method alike.
  for (let i = 0; i < TRIALS; i++) {
    const b = await bareNode();
    bareLine.push(b.line);
    bareExit.push(b.exit);
    const w = await directWorker(i);
    wReady.push(w.ready);
    wReply.push(w.reply);
    const g = await viaGateway();
    gReady.push(g.gatewayReady);
    gFirst.push(g.first);
    gWarm.push(g.warm);
  }
  const base = stats(bareLine);
  const row = (name: string, s: Stats, compare = true) =>
    [name, s.n, spread(s), compare ? ratio(s.median, base.median) : '—', compare ? ms(s.median - base.median) : '—'];
  const sReply = stats(wReply);
  const sReady = stats(gReady);
  const sFirst = stats(gFirst);
  table(
    `row 5: spawn → first reply, ${TRIALS} trials each (interleaved), ms`,
    ['what', 'trials', 'median (min–max)', '÷ bare node', 'median − bare node'],
    [
      row('baseline: bare `node -e` → first stdout line', base),
      row('baseline: bare `node -e` → exit', stats(bareExit)),
      row('dist/worker.js → `ready` notification', stats(wReady)),
      row('**dist/worker.js → first JSON-RPC reply** (exec /echo x)', sReply),
      row('**dist/gateway.js → `gateway.ready`**', sReady),
      row('gateway: session.create + first slash.exec /echo x (spawns the worker)', sFirst),
      row('gateway: slash.exec /echo x on the warm worker (no spawn; not comparable)', stats(gWarm), false),
    ],
  );
  console.log('_Worker and gateway are spawned as their parents spawn them: `node dist/X.js`, detached (own group), stdio pipes. Both arm their lifeline (stdin, fingerprint poll, and a guard thread) before anything else; that is part of the time._\n');
  goal({ row: '5', goal: 'worker spawn → first reply, vs bare node (no number stated)', measured: `${ms(sReply.median)} ms median (${ratio(sReply.median, base.median)} bare node ${ms(base.median)} ms); via gateway create+first exec ${ms(sFirst.median)} ms`, met: null });
  goal({ row: '5', goal: 'gateway start → gateway.ready (no number stated)', measured: `${ms(sReady.median)} ms median (${ratio(sReady.median, base.median)} bare node)`, met: null });
}

runBench(main);
