// Gateway teardown latency, measured on real processes:
//  1. host SIGKILL → the last process of the gateway's tree is gone (gateway, 10 workers, and a
//     `/run` background grandchild per worker). Baseline in the same run: the same tree when the
//     lifeline pipe cannot fire (a process the host started holds the gateway's pipes open), so
//     only the fingerprint watchdogs (1 s poll) notice. (Holding stdout open matters too: a
//     broken stdout is a lifeline of its own.)
//  2. session.close → the worker (and its grandchild) gone; baseline: a grandchild that ignores
//     SIGTERM, so the group escalation to SIGKILL is what ends it.
import { performance } from 'node:perf_hooks';
import { isAlive, killTracked } from '../test/support/processes';
import { pidsWithMarker } from '../test/support/marker';
import { createSession, exec, startHostedGateway, stopHostedGateway } from '../test/support/gatewayHost';
import { ms, stats, table } from './support';

const REPS = Number(process.env.BENCH_REPS ?? 5);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 10);

process.on('exit', killTracked);

async function until(what: string, probe: () => boolean, timeoutMs = 30_000, stepMs = 1): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

async function hostKillTrial(holdStdinOpen: boolean): Promise<{ ms: number; processes: number }> {
  const g = await startHostedGateway({ holdStdinOpen });
  const sessions = await Promise.all(Array.from({ length: WORKERS }, () => createSession(g)));
  await Promise.all(sessions.map((s) => exec(g, s, '/run sleep 600 &')));
  const marked = pidsWithMarker(g.hostFp);
  if (marked.length < 1 + 2 * WORKERS) throw new Error(`expected ${1 + 2 * WORKERS} marked processes, saw ${marked.length}`);
  const t0 = performance.now();
  g.host.kill('SIGKILL');
  await until('every marked process gone', () => marked.every((p) => !isAlive(p)));
  const took = performance.now() - t0;
  if (pidsWithMarker(g.hostFp).length) throw new Error('a marked process survived');
  if (g.holderPid) process.kill(g.holderPid, 'SIGKILL');
  return { ms: took, processes: marked.length };
}

async function closeTrial(stubborn: boolean): Promise<{ reply: number; gone: number }> {
  const g = await startHostedGateway();
  const s = await createSession(g);
  const child = stubborn ? `sh -c 'trap "" TERM HUP; while :; do sleep 1; done'` : 'sleep 600';
  const out = await exec(g, s, `/run ${child} > /dev/null 2>&1 & echo bg=$!`);
  const bg = Number(/bg=(\d+)/.exec(out)?.[1]);
  const worker = g.workerPids()[0];
  const t0 = performance.now();
  await g.rpc.request('session.close', { sessionId: s });
  const reply = performance.now() - t0;
  await until('worker and grandchild gone', () => !isAlive(worker) && !isAlive(bg));
  const gone = performance.now() - t0;
  await stopHostedGateway(g);
  return { reply, gone };
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('gatewayTeardown bench: Linux only (reads /proc)');
    return;
  }
  // Warm-up: the first spawn of node pays for disk caches.
  await closeTrial(false);

  const rows: (string | number)[][] = [];
  for (const [label, hold] of [['lifeline pipe + watchdog (default)', false], ['baseline: watchdog poll only (pipes held open)', true]] as const) {
    const samples: number[] = [];
    let processes = 0;
    for (let i = 0; i < REPS; i++) {
      const r = await hostKillTrial(hold);
      samples.push(r.ms);
      processes = r.processes;
    }
    const st = stats(samples);
    rows.push([label, processes, st.n, ms(st.median), ms(Math.max(...samples)), ms(st.min)]);
  }
  table(`host SIGKILL → last process gone (gateway + ${WORKERS} workers + ${WORKERS} grandchildren), ms`,
    ['teardown', 'processes', 'trials', 'median', 'max', 'min'], rows);

  const closeRows: (string | number)[][] = [];
  for (const [label, stubborn] of [['grandchild exits on SIGTERM', false], ['grandchild ignores SIGTERM/SIGHUP', true]] as const) {
    const reply: number[] = [];
    const gone: number[] = [];
    for (let i = 0; i < REPS; i++) {
      const r = await closeTrial(stubborn);
      reply.push(r.reply);
      gone.push(r.gone);
    }
    const a = stats(reply);
    const b = stats(gone);
    closeRows.push([label, a.n, ms(a.median), ms(Math.max(...reply)), ms(b.median), ms(Math.max(...gone))]);
  }
  table('session.close → worker and its grandchild gone, ms',
    ['worker group', 'trials', 'reply median', 'reply max', 'all gone median', 'all gone max'], closeRows);
}

main().then(
  () => {
    killTracked();
    process.exit(0);
  },
  (e) => {
    console.error(e);
    killTracked();
    process.exit(1);
  },
);
