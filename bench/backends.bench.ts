// Issue 11, point 6: reap after host SIGKILL for the gateway's foreign backends, each beside its
// baseline in the same run, trials interleaved so machine noise hits both alike.
//
//  hermes  — the warden's gateway running the fake hermes (test/fixtures/hermes, current flavor)
//            with two sessions, one worker busy (/fake-hold) with a SIGTERM-ignoring grandchild;
//            host SIGKILL → the last of them dead. Baseline: the same fake hermes started directly
//            by a host, the host and hermes' gateway SIGKILLed, the workers left to the fake's own
//            hermes-style watchdog (2 s poll, then up to 5 s grace while a command is in flight).
//  command — the warden's gateway running a command: a shell with N sleeps, a grandchild that
//            ignores SIGTERM/SIGHUP and a setsid escapee; host SIGKILL → the last dead. Baseline:
//            the kernel floor, every process of that same tree SIGKILLed at once.
// Each warden row runs twice, interleaved: as the machine allows (with cgroups: the program in
// its own leaf, taken down by cgroup.kill) and with GATEWAY_WARDEN_CGROUPS=off (group, tree and
// marker sweeps), so the gain of the leaf shows in one run.
//
// "Dead" and the marker scan are bench/reapWatch.ts's, the same as the reap benchmark's.
import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { probeCgroups } from '../src/core/cgroup/cgroupProbe';
import { JsonRpcConnection } from '../src/core/rpc';
import { FAKE_HERMES_DIR, fakeHermesUnavailable, waitForWorker } from '../test/support/fakeHermes';
import { createSession, exec, HostedGateway, startHostedGateway } from '../test/support/gatewayHost';
import { killTracked, readLineMatching, spawnNode, track, waitFor } from '../test/support/processes';
import { endTrial, guardTrial, Proc, TREE_ENV, treeMembers, trialId, watchDeaths } from './reapWatch';
import { goal, ratio, runBench, spread, stats, Stats, table, trials } from './support';

const SLEEPS = (process.env.BENCH_COMMAND_SLEEPS ?? '10,50').split(',').map(Number);
/** A trial whose processes are not all dead by then counts its survivors. */
const TRIAL_TIMEOUT_MS = 15_000;
/** Lets start-up work settle before the kill, the same for every variant. */
const SETTLE_MS = 100;
/** Whether the default rows run with cgroups here (the -off rows never do). */
const CGROUPS = probeCgroups(process.env).available;
const OFF_ENV = { GATEWAY_WARDEN_CGROUPS: 'off' };

interface ReadyTree {
  procs: Proc[];
  /** Processes the variant cannot reach by design: counted if they survive, excluded from the time. */
  uncoverable: Proc[];
  kill(): void;
}

interface TrialResult {
  ms: number;
  processes: number;
  survivors: number;
  uncovered: number;
}

async function trial(id: string, build: () => Promise<ReadyTree>): Promise<TrialResult> {
  guardTrial(id);
  try {
    const tree = await build();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const skip = new Set(tree.uncoverable.map((p) => p.pid));
    const watched = tree.procs.filter((p) => !skip.has(p.pid));
    const t0 = performance.now();
    tree.kill();
    const w = await watchDeaths(watched, t0, TRIAL_TIMEOUT_MS);
    const left = treeMembers(id);
    const uncovered = left.filter((p) => skip.has(p.pid)).length;
    return { ms: w.lastMs, processes: tree.procs.length, survivors: left.length, uncovered };
  } finally {
    endTrial(id);
    killTracked();
  }
}

// ---- hermes ---------------------------------------------------------------------------------

const HERMES_ENV = { PYTHONPATH: FAKE_HERMES_DIR, PYTHONDONTWRITEBYTECODE: '1', FAKE_HERMES_FLAVOR: 'cur' };

/** Bytes the process has read so far (/proc/PID/io rchar): a worker's grows when it reads a command. */
function bytesRead(pid: number): number | undefined {
  try {
    const m = /^rchar:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function expectSize(variant: string, procs: Proc[], expected: number): void {
  if (procs.length !== expected) {
    throw new Error(`${variant}: expected ${expected} processes in the tree, found ${procs.length}: ${procs.map((p) => `${p.pid}(${p.comm})`).join(' ')}`);
  }
}

/** Host → warden gateway → fake hermes → 2 workers; worker A busy, with a SIGTERM-ignoring grandchild. */
async function wardenHermesTree(id: string, env: Record<string, string> = {}): Promise<ReadyTree> {
  const g = await startHostedGateway({ env: { ...HERMES_ENV, ...env, [TREE_ENV]: id }, backend: { name: 'hermes', cwd: FAKE_HERMES_DIR } });
  await g.waitEvent((e) => e.type === 'backend.state' && e.state === 'running', 'the hermes gateway to be running', 30_000);
  const [a, b] = await Promise.all([createSession(g), createSession(g)]);
  await Promise.all([a, b].map((s) => g.waitEvent((e) => e.type === 'worker.started' && e.sessionId === s, `worker.started for ${s}`, 20_000)));
  track(Number(await exec(g, a, '/fake-grandchild 300')));
  await exec(g, a, '/fake-ignore-term');
  await holdBusy(g, a);
  const procs = treeMembers(id);
  expectSize('warden hermes', procs, 6);
  return { procs, uncoverable: [], kill: () => g.host.kill('SIGKILL') };
}

async function holdBusy(g: HostedGateway, sessionId: string): Promise<void> {
  const busy = () => g.events.filter((x) => x.type === 'worker.state' && x.sessionId === sessionId && x.busy === true).length;
  const before = busy();
  void exec(g, sessionId, '/fake-hold', 120_000).catch(() => undefined);
  await waitFor(() => busy() > before, 'the worker busy with /fake-hold');
}

/**
 * A host that starts the fake hermes directly (in the host's own group, stdio pipes, as a
 * terminal or an editor without a warden would) and relays the bench's stdio to it.
 */
const PLAIN_HOST = `
const { spawn } = require('child_process');
const h = spawn('python3', ['-m', 'tui_gateway.entry'], { cwd: ${JSON.stringify(FAKE_HERMES_DIR)}, stdio: ['pipe', 'pipe', 'ignore'] });
process.stderr.write('HOST ' + h.pid + '\\n');
process.stdin.pipe(h.stdin);
h.stdout.pipe(process.stdout);
h.stdin.on('error', () => undefined);
`;

/** Host → fake hermes → 2 workers, worker A busy with a SIGTERM-ignoring grandchild; no warden. */
async function plainHermesTree(id: string): Promise<ReadyTree> {
  const host: ChildProcess = spawnNode(PLAIN_HOST, { detached: true, env: { ...process.env, ...HERMES_ENV, [TREE_ENV]: id } });
  host.stdin!.on('error', () => undefined);
  const hermesPid = await readLineMatching(host.stderr!, (l) => (l.startsWith('HOST ') ? Number(l.slice(5)) : undefined), 20_000);
  host.stderr!.resume();
  track(hermesPid);
  const rpc = new JsonRpcConnection(host.stdout!, host.stdin!, { requestTimeoutMs: 60_000, log: () => undefined });
  try {
    const created = await Promise.all(['a', 'b'].map((t) => rpc.request<{ session_id: string; stored_session_id: string }>('session.create', { title: t })));
    const [wa] = await Promise.all(created.map((c) => waitForWorker(hermesPid, c.stored_session_id)));
    const sid = created[0].session_id;
    const slash = (command: string, timeoutMs = 30_000) => rpc.request<{ output: string }>('slash.exec', { session_id: sid, command }, { timeoutMs });
    const grandchild = Number((await slash('/fake-grandchild 300')).output);
    track(grandchild);
    await slash('/fake-ignore-term');
    // hermes says nothing about a busy worker: it is busy once it has read the /fake-hold line.
    const readBefore = bytesRead(wa.pid);
    if (readBefore === undefined) throw new Error(`cannot read /proc/${wa.pid}/io`);
    void slash('/fake-hold', 120_000).catch(() => undefined);
    await waitFor(() => (bytesRead(wa.pid) ?? 0) > readBefore, 'the worker to read /fake-hold');
    const procs = treeMembers(id);
    expectSize('plain hermes', procs, 5);
    const pgid = host.pid!;
    return {
      procs,
      // The watchdog os._exit()s: a worker's children are never signalled.
      uncoverable: procs.filter((p) => p.pid === grandchild),
      // The host and hermes' gateway (the host's group) die; the workers (own sessions) stay.
      kill: () => process.kill(-pgid, 'SIGKILL'),
    };
  } finally {
    rpc.dispose('trial set up');
  }
}

const HERMES_VARIANTS = {
  warden: {
    label: CGROUPS ? 'Gateway Warden, --backend hermes (lifeline + hermes\' cgroup leaf, its workers in it: SIGTERM, grace, cgroup.kill)'
      : 'Gateway Warden, --backend hermes (lifeline + group sweep of hermes and every worker group; no cgroups here)',
    trials: trials(10), build: (id: string) => wardenHermesTree(id),
  },
  off: {
    label: 'Gateway Warden, --backend hermes, GATEWAY_WARDEN_CGROUPS=off (lifeline + group sweep of hermes and every worker group)',
    trials: trials(10), build: (id: string) => wardenHermesTree(id, OFF_ENV),
  },
  plain: { label: "hermes' own watchdog alone (fake hermes started by the host; host + hermes gateway SIGKILLed; 2 s poll + ≤ 5 s grace)", trials: trials(5, 2), build: plainHermesTree },
};

async function hermesRows(): Promise<void> {
  const unavailable = fakeHermesUnavailable();
  if (unavailable) {
    console.log(`(hermes rows skipped: ${unavailable})\n`);
    return;
  }
  const keys = Object.keys(HERMES_VARIANTS) as (keyof typeof HERMES_VARIANTS)[];
  const results = new Map(keys.map((k) => [k, [] as TrialResult[]]));
  const rounds = Math.max(...keys.map((k) => HERMES_VARIANTS[k].trials));
  for (let i = 0; i < rounds; i++) {
    for (const k of keys) {
      if (i >= HERMES_VARIANTS[k].trials) continue;
      const id = trialId(`hermes-${k}`);
      results.get(k)!.push(await trial(id, () => HERMES_VARIANTS[k].build(id)));
    }
  }
  report('hermes', keys.map((k) => ({ label: HERMES_VARIANTS[k].label, rs: results.get(k)! })), "hermes' own watchdog alone", 'hermes backend: host SIGKILL with a busy worker (+1 idle worker, +1 SIGTERM-ignoring grandchild), ms to the last process dead');
}

// ---- command ----------------------------------------------------------------------------------

/** N sleeps, a grandchild that ignores SIGTERM/SIGHUP (ignoring is inherited by its sleep), a setsid escapee. */
function commandTree(sleeps: number): string[] {
  return ['sh', '-c', [
    `i=0; while [ $i -lt ${sleeps} ]; do sleep 300 & i=$((i+1)); done`,
    'sh -c \'trap "" TERM HUP; sleep 300; :\' &',
    'setsid sh -c \'sleep 300 &\'',
    'echo TREE-READY',
    'wait',
  ].join('\n')];
}

/** Host → warden gateway → sh → N sleeps + stubborn sh → sleep, + the escapee: N + 6 processes. */
async function wardenCommandTree(id: string, sleeps: number, floor: boolean, env: Record<string, string> = {}): Promise<ReadyTree> {
  const g = await startHostedGateway({ env: { ...env, [TREE_ENV]: id }, backend: { name: 'command', command: commandTree(sleeps) } });
  await waitFor(() => g.stderr().includes('TREE-READY'), 'the command tree to be up', 30_000);
  const procs = await waitFor(() => {
    const m = treeMembers(id);
    return m.length === sleeps + 6 ? m : undefined;
  }, `${sleeps + 6} processes in the command tree`, 20_000);
  const killEach = () => {
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch (e) {
        // The `setsid sh` that started the escapee may have exited since it was listed.
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    }
  };
  return { procs, uncoverable: [], kill: floor ? killEach : () => g.host.kill('SIGKILL') };
}

async function commandRows(sleeps: number): Promise<void> {
  const variants = [
    {
      key: 'warden', trials: trials(10), floor: false, env: {},
      label: CGROUPS ? 'Gateway Warden, --backend command (lifeline + the program\'s cgroup leaf: SIGTERM, grace, cgroup.kill)'
        : 'Gateway Warden, --backend command (lifeline + group sweep + marker sweep; no cgroups here)',
    },
    { key: 'off', label: 'Gateway Warden, --backend command, GATEWAY_WARDEN_CGROUPS=off (lifeline + group sweep + marker sweep)', trials: trials(10), floor: false, env: OFF_ENV },
    { key: 'floor', label: 'floor: the same tree, every process SIGKILLed at once', trials: trials(10), floor: true, env: {} },
  ];
  const results = new Map(variants.map((v) => [v.key, [] as TrialResult[]]));
  const rounds = Math.max(...variants.map((v) => v.trials));
  for (let i = 0; i < rounds; i++) {
    for (const v of variants) {
      if (i >= v.trials) continue;
      const id = trialId(`command-${v.key}`);
      results.get(v.key)!.push(await trial(id, () => wardenCommandTree(id, sleeps, v.floor, v.env)));
    }
  }
  report(`command ${sleeps}`, variants.map((v) => ({ label: v.label, rs: results.get(v.key)! })), 'the kernel floor',
    `command backend: host SIGKILL with ${sleeps} sleeps + a SIGTERM-ignoring grandchild + a setsid escapee, ms to the last process dead`);
}

// ---- report -------------------------------------------------------------------------------------

/** Prints the table (the warden's row first, the baseline's last) and the goal lines. */
function report(what: string, rows: { label: string; rs: TrialResult[] }[], baselineName: string, title: string): void {
  const st: Stats[] = rows.map((r) => stats(r.rs.map((x) => x.ms)));
  const baseline = st[rows.length - 1].median;
  const warden = st[0];
  table(title, ['variant', 'processes', 'trials', 'median (min–max)', 'survivors (all trials)', 'vs baseline', 'vs warden'], rows.map((r, i) => {
    const survivors = r.rs.reduce((a, x) => a + x.survivors, 0);
    const uncovered = r.rs.reduce((a, x) => a + x.uncovered, 0);
    const note = uncovered ? ` (${uncovered} grandchildren never signalled)` : '';
    return [r.label, r.rs[0].processes, st[i].n, spread(st[i]), `${survivors}${note}`, ratio(st[i].median, baseline), ratio(st[i].median, warden.median)];
  }));
  const survivors = rows[0].rs.reduce((a, x) => a + x.survivors, 0);
  const row = `11.6 (${what})`;
  goal({
    row,
    goal: 'host SIGKILL → every process dead well under a second (≤ 1000 ms, every trial), 0 survivors',
    measured: `${warden.median.toFixed(1)} ms median, max ${warden.max.toFixed(1)} ms, ${survivors} survivors in ${warden.n} trials`,
    met: warden.max <= 1000 && survivors === 0,
  });
  goal({
    row,
    goal: `vs ${baselineName}, same tree, same run (no number stated)`,
    measured: `${warden.median.toFixed(1)} ms vs ${baseline.toFixed(1)} ms (${ratio(warden.median, baseline)})`,
    met: null,
  });
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('backends bench: Linux only (reads /proc)');
    return;
  }
  await hermesRows();
  for (const n of SLEEPS) await commandRows(n);
  console.log([
    "Gateway Warden's time includes its SIGTERM grace on a lost lifeline (100 ms, `--lifeline-grace-ms`), which the processes that ignore SIGTERM wait out before the SIGKILL.",
    'Dead = gone from /proc or a zombie whose threads have all exited, pid and start time checked, polled every ~1 ms (each poll reads the tree in order up to the first process alive) (bench/reapWatch.ts).',
    "hermes rows: the fake hermes gateway (test/fixtures/hermes, `FAKE_HERMES_FLAVOR=cur`, hermes-agent 88d1d6206's behaviour; its conformance " +
      'with the real gateway is in its README), two sessions, one worker busy with `/fake-hold` and ignoring SIGTERM, with a grandchild that ignores SIGTERM. ' +
      "The baseline is hermes' kindest case: its gateway dies with its host (the host's group SIGKILLed). Were the host alone SIGKILLed, hermes' gateway " +
      'would see stdin EOF and wait for the in-flight command (up to its 45 s slash timeout) before closing its workers. Its workers then go by their own ' +
      "watchdog (2 s poll of the parent; a busy one waits up to 5 s more); the watchdog os._exit()s, so the worker's grandchild is never signalled " +
      '(counted, excluded from the time, then killed).',
    'command rows: `sh -c` starting N `sleep 300`, `sh -c \'trap "" TERM HUP; sleep 300\'` (both ignore SIGTERM) and `setsid sh -c \'sleep 300 &\'` ' +
      '(an escapee in its own session, re-parented away, keeping the marker). The floor SIGKILLs every one of the same processes (host and gateway included) at once.',
    '',
  ].join('\n'));
}

runBench(main);
