// Deactivate with 50 workers (each with a background child from `/run`): the extension's
// dispose path (polite gateway.shutdown, then group teardown of the gateway and every worker
// group) against baselines measured in the same run:
//   - lifeline only: SIGKILL the gateway and wait for the workers to notice their stdin EOF;
//   - hung gateway: SIGSTOP the gateway first (dispose must fall back to killing it).
// Time = until dispose() resolves; "all gone" = until no process carries this host's marker.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatFingerprint, selfFingerprint } from '../src/core/fingerprint';
import { killGroup, killGroupSync } from '../src/core/kill';
import { OWNER_ENV } from '../src/core/ownerMarker';
import { readProcEnvVar, readProcStat } from '../src/core/procfs';
import { nullLog } from '../src/host/seams';
import { DEFAULT_SETTINGS } from '../src/host/settings';
import { liveWorkerGroups } from '../src/host/registryBinding';
import { WardenHost } from '../src/host/wardenHost';
import { ms, stats, table } from './support';

const WORKERS = Number(process.env.BENCH_WORKERS ?? 50);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const root = path.resolve(__dirname, '..', '..');
const marker = formatFingerprint(selfFingerprint());
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
const groups = new Set<number>();

process.on('exit', () => {
  for (const g of groups) killGroupSync(g, { graceMs: 0, timeoutMs: 1000, firstSignal: 'SIGKILL' });
  fs.rmSync(tmp, { recursive: true, force: true });
});

function marked(): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    if (readProcEnvVar(Number(name), OWNER_ENV) !== marker) continue;
    const st = readProcStat(Number(name));
    if (st && st.state !== 'Z') out.push(Number(name));
  }
  return out;
}

async function until(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) {
      const left = marked().map((pid) => `${pid} ${readProcStat(pid)?.state} ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 80)}`);
      throw new Error(`timed out waiting for ${what}; left: ${left.slice(0, 5).join(' | ')} (${left.length})`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function hostWithWorkers(rep: string, restart: boolean): Promise<WardenHost> {
  const host = new WardenHost({
    extensionPath: root,
    checkpointDir: path.join(tmp, rep, 'registry'),
    log: nullLog,
    settings: () => ({ ...DEFAULT_SETTINGS, shutdownGraceMs: 200 }),
    // The baseline kills the gateway on purpose: no restart then.
    crashPolicy: restart ? undefined : { limit: 1 },
  });
  host.supervisor.onDidStart((gw) => groups.add(gw.pgid));
  host.supervisor.onEvent((e) => {
    if (e.type === 'worker.started' && typeof e.pgid === 'number') groups.add(e.pgid);
  });
  await host.supervisor.start();
  const ids = await Promise.all(Array.from({ length: WORKERS }, () => host.supervisor.request<{ sessionId: string }>('session.create', {})));
  await Promise.all(ids.map(({ sessionId }) => host.supervisor.request('slash.exec', { sessionId, command: '/run sleep 1000 >/dev/null 2>&1 &' }, 60_000)));
  // gateway + workers + one sleep each
  await until('all workers and children', () => marked().length >= 1 + 2 * WORKERS);
  return host;
}

type Method =
  | 'dispose (extension deactivate)'
  | 'dispose, gateway SIGSTOPped'
  | 'baseline: shutdown request, then killGroup per group in parallel'
  | 'baseline: SIGKILL gateway, lifelines only';

async function once(method: Method, rep: number): Promise<{ resolveMs: number; goneMs: number; before: number; leftAtResolve: number }> {
  const host = await hostWithWorkers(`${rep}-${method.length}`, !method.startsWith('baseline'));
  const before = marked().length;
  const gw = host.supervisor.current.pid!;
  if (method === 'dispose, gateway SIGSTOPped') process.kill(gw, 'SIGSTOP');
  const t0 = performance.now();
  if (method === 'baseline: SIGKILL gateway, lifelines only') {
    process.kill(gw, 'SIGKILL');
  } else if (method === 'baseline: shutdown request, then killGroup per group in parallel') {
    // What dispose did before groupSweep: N killGroup calls, each scanning /proc per poll.
    const g = host.supervisor.gateway!;
    const targets = [{ pgid: g.pgid, leader: g.fingerprint }, ...liveWorkerGroups(host.registry)];
    await g.askToStop(200, 250);
    await Promise.all(targets.map((t) => killGroup(t.pgid, { graceMs: 200, timeoutMs: 2500, leader: t.leader })));
  } else {
    await host.dispose(2500);
  }
  const resolveMs = performance.now() - t0;
  const lifelineOnly = method === 'baseline: SIGKILL gateway, lifelines only';
  const leftAtResolve = lifelineOnly ? before : marked().length;
  await until('every marked process gone', () => marked().length === 0);
  const goneMs = performance.now() - t0;
  if (method.startsWith('baseline')) await host.dispose(2500);
  groups.clear();
  return { resolveMs, goneMs, before, leftAtResolve };
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('deactivate.bench: Linux only (reads /proc)');
    return;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'gateway.js'))) throw new Error('build first (dist/gateway.js missing)');
  const methods: Method[] = [
    'dispose (extension deactivate)',
    'dispose, gateway SIGSTOPped',
    'baseline: shutdown request, then killGroup per group in parallel',
    'baseline: SIGKILL gateway, lifelines only',
  ];
  const rows: (string | number)[][] = [];
  for (const m of methods) {
    const resolve: number[] = [];
    const gone: number[] = [];
    let procs = 0;
    let left = 0;
    for (let i = 0; i < REPS; i++) {
      const r = await once(m, i);
      resolve.push(r.resolveMs);
      gone.push(r.goneMs);
      procs = r.before;
      left = Math.max(left, r.leftAtResolve);
    }
    const a = stats(resolve);
    const b = stats(gone);
    const noResolve = m === 'baseline: SIGKILL gateway, lifelines only';
    rows.push([m, procs, noResolve ? '-' : ms(a.median), noResolve ? '-' : ms(a.p90), noResolve ? '-' : left, ms(b.median), ms(b.p90)]);
  }
  table(`deactivate with ${WORKERS} workers (+1 child each), ${REPS} reps`, ['method', 'processes', 'resolve median ms', 'resolve p90 ms', 'left at resolve (max)', 'all gone median ms', 'all gone p90 ms'], rows);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
