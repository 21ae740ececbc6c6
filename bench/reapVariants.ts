// The trees the reap benchmark kills: Gateway Warden's real one and its peers (bench/reapTree.ts),
// all the same shape — host → gateway → N workers, each with a sleeping grandchild — and all
// marked with TREE_ENV so that they are found, watched and cleaned up the same way.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_TIMEOUTS } from '../src/core/timeouts';
import { parentDeathSignalPrefix } from '../src/core/parentDeathSignal';
import { createSession, exec, startHostedGateway } from '../test/support/gatewayHost';
import { trackTree } from '../test/support/cgroups';
import { killTracked, readLineMatching } from '../test/support/processes';
import { endTrial, guardTrial, Proc, TREE_ENV, treeMembers, trialId, watchDeaths } from './reapWatch';
import { TreeMode } from './reapTree';

const TREE_JS = path.join(__dirname, 'reapTree.js');

export type Variant = 'warden' | 'warden-watchdog' | 'warden-floor' | 'warden-cgroup' | 'warden-cgroup-term' | 'warden-cgroup-floor' | 'warden-fallback' | TreeMode;

export const VARIANT_LABEL: Record<Variant, string> = {
  warden: 'Gateway Warden (lifeline pipe + watchdog + group teardown)',
  hermes: 'hermes-style watchdog (2 s ppid + start-time poll, then group SIGTERM)',
  'hermes-exit': "hermes' slash_worker as upstream (exits on stdin EOF or watchdog, leaves its children)",
  'pdeathsig-all': 'kernel parent-death signal, every hop (setpriv --pdeathsig KILL)',
  pdeathsig: 'kernel parent-death signal, gateway + workers only (grandchild plain)',
  floor: 'floor: idle node processes, the same tree SIGKILLed at once (kill(-pgid))',
  'warden-watchdog': 'Gateway Warden, lifeline pipes held open by a stray descriptor (fingerprint watchdog, 1 s poll)',
  'warden-floor': "Gateway Warden's own tree, every member SIGKILLed at once (a floor at its RSS)",
  'warden-cgroup': 'Gateway Warden, cgroup per session (nothing in the tree handles SIGTERM: one cgroup.kill of the whole tree, the gateway included), + a setsid escapee per worker',
  'warden-cgroup-term': 'the same, each grandchild a shell that handles SIGTERM (`trap`, one more process per worker): SIGTERM by pid to those shells alone, then, once they are gone, one cgroup.kill of the tree',
  'warden-cgroup-floor': "floor at Gateway Warden's size: the cgroup row's own tree (+ escapees) killed by the kernel at once (one cgroup.kill of the gateway's tree, the host SIGKILLed)",
  'warden-fallback': 'Gateway Warden, GATEWAY_WARDEN_CGROUPS=off (process groups + marker scan), + a setsid escapee per worker',
  'floor-escapee': 'floor: idle node processes, the same tree (2 sleeps per worker) SIGKILLed at once (kill(-pgid))',
};

/** Variants whose workers also leave a `setsid` escapee (one more process per worker). */
const WITH_ESCAPEE: ReadonlySet<Variant> = new Set(['warden-cgroup', 'warden-cgroup-term', 'warden-cgroup-floor', 'warden-fallback', 'floor-escapee']);

/** Variants whose guard cannot reach the grandchild: it survives by design, counted, then killed. */
const GRANDCHILD_UNCOVERED: ReadonlySet<Variant> = new Set(['pdeathsig', 'hermes-exit']);

/** A tree that is up and idle, ready to lose its host. */
interface ReadyTree {
  procs: Proc[];
  /** Starts the clock's event: SIGKILL of the host (of the whole group for the floor). */
  kill(): void;
}

export interface TrialResult {
  /** ms from the host's SIGKILL to the last watched process dead. */
  ms: number;
  processes: number;
  survivors: number;
  /** Survivors the variant cannot reach by design (excluded from `ms`). */
  uncovered: number;
}

async function wardenTree(workers: number, id: string, variant: Variant): Promise<ReadyTree> {
  // holdStdinOpen: a `sleep` the host started inherits the gateway's pipes (without the marker:
  // it is not part of the tree; test support tracks and kills it), so only the watchdogs can
  // notice the host's death.
  // The live-worker cap (default 16) would refuse the 50-worker tree: raised to the tree's size.
  // The cgroup rows pin the containment (a default row takes whatever the machine allows).
  const cgroups: Record<string, string> = variant === 'warden-fallback' ? { GATEWAY_WARDEN_CGROUPS: 'off' } : variant.startsWith('warden-cgroup') ? { GATEWAY_WARDEN_CGROUPS: '' } : {};
  const g = await startHostedGateway({ args: ['--max-workers', String(Math.max(16, workers))], env: { [TREE_ENV]: id, ...cgroups }, holdStdinOpen: variant === 'warden-watchdog' });
  const ready = g.events.find((e) => e.type === 'gateway.ready');
  if (variant.startsWith('warden-cgroup') && (ready?.containment !== 'cgroup' || typeof ready.cgroup !== 'string')) throw new Error(`${variant}: the gateway's containment is ${String(ready?.containment)}, not cgroup`);
  // The gateway's tree is left to the test support's cleanup when nobody is left to remove it.
  const tree = variant === 'warden-cgroup-floor' ? (ready!.cgroup as string) : undefined;
  if (tree !== undefined) trackTree(tree);
  const sessions = await Promise.all(Array.from({ length: workers }, () => createSession(g)));
  const grandchild = variant === 'warden-cgroup-term' ? 'sh -c \'trap "exit 0" TERM; sleep 600 & wait\'' : 'sleep 600';
  const command = WITH_ESCAPEE.has(variant) ? `/run ${grandchild} & setsid sleep 600 >/dev/null 2>&1 &` : `/run ${grandchild} &`;
  await Promise.all(sessions.map((s) => exec(g, s, command, 60_000)));
  // A background command may still be between fork and exec when its shell has exited: the tree
  // is complete once every expected process is listed (or, at the deadline, as it is).
  const expected = treeSize(variant, workers);
  let procs = treeMembers(id);
  for (const until = Date.now() + 5000; procs.length < expected && Date.now() < until; procs = treeMembers(id)) await new Promise((r) => setTimeout(r, 20));
  // The floor at the real processes' size: no teardown logic runs, the kernel just unmaps them.
  const killEach = () => {
    for (const p of procs) process.kill(p.pid, 'SIGKILL');
  };
  // Our real tree killed by the kernel in two calls: everything but the host is in the gateway's cgroup tree.
  const killTree = () => {
    fs.writeFileSync(path.join(tree!, 'cgroup.kill'), '1');
    g.host.kill('SIGKILL');
  };
  return { procs, kill: variant === 'warden-floor' ? killEach : tree !== undefined ? killTree : () => g.host.kill('SIGKILL') };
}

async function peerTree(mode: TreeMode, workers: number, id: string): Promise<ReadyTree> {
  const host: ChildProcess = spawn(process.execPath, [TREE_JS, 'host', mode, String(workers)], {
    detached: true, // its own group: the floor kills exactly that group
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, [TREE_ENV]: id },
  });
  host.on('error', () => undefined);
  host.stdin!.on('error', () => undefined);
  await readLineMatching(host.stdout!, (l) => (l === 'READY' ? true : undefined), 60_000);
  host.stdout!.resume();
  const pgid = host.pid!;
  return {
    procs: treeMembers(id),
    kill: () => (mode.startsWith('floor') ? process.kill(-pgid, 'SIGKILL') : host.kill('SIGKILL')),
  };
}

/**
 * Host + gateway (or their peers), and per worker: the worker, its grandchild, the escapee where
 * the variant has one, and — in Gateway Warden's tree where workers run under the kernel's
 * parent-death signal — the worker's group keeper (a dash started before its first /run).
 */
function treeSize(variant: Variant, workers: number): number {
  const keeper = variant.startsWith('warden') && parentDeathSignalPrefix().prefix !== undefined ? 1 : 0;
  const trapShell = variant === 'warden-cgroup-term' ? 1 : 0;
  return 2 + ((WITH_ESCAPEE.has(variant) ? 3 : 2) + keeper + trapShell) * workers;
}

/** Lets start-up work (JIT, GC, the shell of /run) settle, the same for every variant. */
const SETTLE_MS = 100;
/** The default fingerprint poll of the gateway and workers. */
const WATCHDOG_POLL_MS = DEFAULT_TIMEOUTS.pollMs;
/** After the covered processes are dead, how long uncovered ones get to die anyway. */
const UNCOVERED_GRACE_MS = 300;

export async function reapTrial(variant: Variant, workers: number, timeoutMs = 15_000): Promise<TrialResult> {
  const id = trialId(variant);
  guardTrial(id);
  try {
    const tree = variant.startsWith('warden') ? await wardenTree(workers, id, variant) : await peerTree(variant as TreeMode, workers, id);
    const expected = treeSize(variant, workers);
    if (tree.procs.length !== expected) {
      throw new Error(`${variant}: expected ${expected} processes in the tree, found ${tree.procs.length}: ${tree.procs.map((p) => `${p.pid}(${p.comm})`).join(' ')}`);
    }
    // The watchdogs poll on timers started with the tree; a random extra wait gives a random phase.
    const phase = variant === 'warden-watchdog' ? Math.random() * WATCHDOG_POLL_MS : 0;
    await new Promise((r) => setTimeout(r, SETTLE_MS + phase));
    const uncoverable = GRANDCHILD_UNCOVERED.has(variant);
    const watched = uncoverable ? tree.procs.filter((p) => p.comm !== 'sleep') : tree.procs;
    const t0 = performance.now();
    tree.kill();
    const w = await watchDeaths(watched, t0, timeoutMs);
    if (uncoverable) await new Promise((r) => setTimeout(r, UNCOVERED_GRACE_MS));
    // Whatever still carries the trial's marker survived (double-forked ones included).
    const left = treeMembers(id);
    const uncovered = uncoverable ? left.filter((p) => p.comm === 'sleep').length : 0;
    return { ms: w.lastMs, processes: tree.procs.length, survivors: left.length, uncovered };
  } finally {
    endTrial(id);
    if (variant.startsWith('warden')) killTracked(); // test support tracked the (now dead) gateway, workers, pipe holder
  }
}
