// Row 3 of issue 7: session close → worker gone. One gateway (hosted like the extension does),
// sessions each with a worker and a `/run` background grandchild; `session.close` for 1 session,
// and for 50 at once; timed from the request to the last worker and grandchild dead (the
// definition of bench/reapWatch.ts), and to the reply. A third case shows the group escalation:
// a grandchild that ignores SIGTERM/SIGHUP, so only the SIGKILL after the grace ends it.
import { performance } from 'node:perf_hooks';
import { readProcStat } from '../src/core/procfs';
import { groupMembers } from '../src/core/kill';
import { createSession, exec, HostedGateway, startHostedGateway, stopHostedGateway } from '../test/support/gatewayHost';
import { killTracked } from '../test/support/processes';
import { Proc, watchDeaths } from './reapWatch';
import { goal, spread, stats, table, trials } from './support';

process.on('exit', killTracked);

function proc(pid: number): Proc {
  const st = readProcStat(pid);
  if (!st) throw new Error(`pid ${pid} is gone before the close`);
  return { pid, startTime: st.startTime, comm: st.comm };
}

interface Opened { sessionId: string; worker: Proc; grandchild: Proc }

async function open(g: HostedGateway, stubborn: boolean): Promise<Opened> {
  const sessionId = await createSession(g);
  const child = stubborn ? `sh -c 'trap "" TERM HUP; while :; do sleep 1; done'` : 'sleep 600';
  const out = await exec(g, sessionId, `/run ${child} > /dev/null 2>&1 & echo bg=$!`, 60_000);
  const bg = Number(/bg=(\d+)/.exec(out)?.[1]);
  const started = g.events.find((e) => e.type === 'worker.started' && e.sessionId === sessionId);
  if (!started || !bg) throw new Error(`no worker or background pid for session ${sessionId}: ${out}`);
  return { sessionId, worker: proc(started.pid as number), grandchild: proc(bg) };
}

interface Trial { replyMs: number; goneMs: number; survivors: number }

async function closeTrial(g: HostedGateway, sessions: number, stubborn: boolean): Promise<Trial> {
  const opened = await Promise.all(Array.from({ length: sessions }, () => open(g, stubborn)));
  const procs = opened.flatMap((o) => [o.worker, o.grandchild]);
  await new Promise((r) => setTimeout(r, 100)); // let the /run shells' exits settle
  const t0 = performance.now();
  const watch = watchDeaths(procs, t0, 15_000);
  const replies = await Promise.all(opened.map((o) => g.rpc.request('session.close', { sessionId: o.sessionId }, { timeoutMs: 30_000 })));
  const replyMs = performance.now() - t0;
  if (replies.some((r) => (r as { closed?: boolean }).closed !== true)) throw new Error('a session.close did not report closed');
  const w = await watch;
  // Anything still in a worker's group survived the close (the group outlives its leader).
  const survivors = w.survivors.length + opened.reduce((a, o) => a + (groupMembers(o.worker.pid)?.length ?? 0), 0);
  return { replyMs, goneMs: w.lastMs, survivors };
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('sessionClose bench: Linux only (reads /proc)');
    return;
  }
  const g = await startHostedGateway({ args: ['--max-workers', '256'] }); // past the default cap of 16: 50 sessions at once
  try {
    await closeTrial(g, 1, false); // warm-up: the first spawns pay for disk caches
    const cases: { label: string; sessions: number; stubborn: boolean; n: number }[] = [
      { label: '1 session', sessions: 1, stubborn: false, n: trials(10) },
      { label: '50 sessions closed at once', sessions: 50, stubborn: false, n: trials(5, 2) },
      { label: '1 session, grandchild ignores SIGTERM/SIGHUP', sessions: 1, stubborn: true, n: trials(5, 2) },
    ];
    const rows: (string | number)[][] = [];
    for (const c of cases) {
      const rs: Trial[] = [];
      for (let i = 0; i < c.n; i++) rs.push(await closeTrial(g, c.sessions, c.stubborn));
      const gone = stats(rs.map((r) => r.goneMs));
      const survivors = rs.reduce((a, r) => a + r.survivors, 0);
      rows.push([c.label, c.sessions * 2, gone.n, spread(stats(rs.map((r) => r.replyMs))), spread(gone), survivors]);
      goal({ row: `3 (${c.label})`, goal: 'every worker and grandchild dead, 0 survivors', measured: `${gone.median.toFixed(1)} ms median, ${survivors} survivors`, met: survivors === 0 });
    }
    table('session.close → worker and its grandchild dead, ms',
      ['case', 'processes', 'trials', 'all replies, median (min–max)', 'all dead, median (min–max)', 'survivors'], rows);
  } finally {
    await stopHostedGateway(g);
  }
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
