// Entry point of dist/worker.js, the slash worker. Order matters (hermes #64488: a parent
// sampled after slow imports is a parent never watched): parse the parent's and owner's
// fingerprints, arm the lifeline and its blocked-loop guard, attach the JSON-RPC reader — and
// only then load and start the rest. The guard thread (a whole V8 isolate, ~8 MB private) is
// started only when the kernel does not already kill us with the gateway (--parent-death-signal:
// the gateway spawned us through setpriv --pdeathsig KILL; see core/parentDeathSignal.ts).
// An idle worker should cost little more than a bare node (issue 13 item 4), so what it
// evaluates at start is kept small: children.ts waits for the first /run, and the modules that
// do run import node's modules by name (`import * as fs` makes esbuild copy all ~100 of fs's
// exports into getters, once per importing file: ~0.1 MB of young objects for a worker's nine).
import { delay } from '../core/emitter';
import { readSelfFingerprint } from '../core/fingerprint';
import { armLifeline, LifelineParty } from '../core/lifeline';
import { JsonRpcConnection } from '../core/rpc';
import { argValue, GUARD_MAX_MS, parseWorkerArgs } from './args';
import { loadChildren } from './lazyChildren';
import { joinSessionCgroup } from './cgroupJoin';
import { leaveSigtermToKernel } from './kernelSigterm';

// A broken stderr/stdout pipe (the gateway is gone) must not become an uncaught error.
process.stderr.on('error', () => undefined);
process.stdout.on('error', () => undefined);
// Not a worker but a dead worker's group keeper exec'd into its reaper: it reaps and exits here.
// Its work is synchronous (no SIGTERM listener could ever run), and a worker whose own host
// watchdog fired exits into one of these while the gateway's host-gone end looks at the tree:
// node's start-up SIGTERM handler in its mask would make that end send it SIGTERM and wait for it
// (rarer since a worker whose host alone died waits for its gateway: workerApp.ts ownerGone).
if (argValue(process.argv.slice(2), '--reap-group') !== undefined) {
  leaveSigtermToKernel();
  loadChildren().reapIfAsked(process.argv.slice(2));
}
const args = parseWorkerArgs(process.argv.slice(2), process.env);
// Our own fingerprint, read (and cached) while we hold few descriptors: the group keeper and the
// marker of every /run name us by it, and a table that is full by then (EMFILE) cannot read it.
readSelfFingerprint();
// Into the session's cgroup before anything can be started: all we ever start is born inside.
const joined = args.cgroup !== undefined ? joinSessionCgroup(args.cgroup) : undefined;
if (joined && !joined.ok) {
  args.warnings.push(`not contained by cgroup ${args.cgroup}: ${joined.why}; my process group is`);
  args.cgroup = undefined; // not ours: ready says null, and teardown takes our group, not that leaf
}
let onLifelineLost: (reason: string, of: LifelineParty) => void = (reason) => {
  // Until the app is loaded there is nothing of ours to take down but ourselves.
  process.stderr.write(`worker: ${reason} during start-up; exiting\n`);
  process.exit(1);
};
const lifeline = armLifeline({
  parent: args.parent,
  owner: args.owner,
  pollMs: args.pollMs,
  stdin: true,
  blockedLoopGuard: !args.parentDeathSignal,
  guardMaxMs: GUARD_MAX_MS,
  onDeath: (reason, of) => onLifelineLost(reason, of),
  log: (m) => process.stderr.write(`worker[${process.pid}]: lifeline: ${m}\n`),
});
const connection = new JsonRpcConnection(process.stdin, process.stdout, {
  maxLineBytes: args.maxLineBytes,
  log: (m) => process.stderr.write(`worker rpc: ${m}\n`),
});
for (const w of args.warnings) process.stderr.write(`worker: warning: ${w}\n`);

void (async () => {
  if (args.startDelayMs > 0) await delay(args.startDelayMs);
  const { startWorker } = await import('./workerApp');
  onLifelineLost = startWorker({ ...args, cgroup: joined?.ok ? joined.leaf : undefined }, connection, lifeline);
})();
