// The worker once armed: answers exec/shutdown, tracks idleness, and on every exit path takes
// its own children down with it (hermes #83322: os._exit left the worker's children running).
import { fingerprintOf } from '../core/fingerprint';
import type { Target } from '../core/kill';
import { Lifeline, LifelineParty } from '../core/lifeline';
import { readProcStat } from '../core/procfs';
import { isLiveState } from '../core/processSource';
import { JsonRpcConnection, RpcError, RpcErrorCode } from '../core/rpc';
import { DEFAULT_TIMEOUTS } from '../core/timeouts';
import { GUARD_MAX_MS, WorkerArgs } from './args';
import { execCommand, NO_REPLY } from './commands';
import type * as Children from './children';
import type { GroupKeeper } from './groupKeeper';
import { leaveSigtermToKernel } from './kernelSigterm';
import { childrenIfLoaded, loadChildren } from './lazyChildren';
import { outputBudget } from './outputFit';

const { workerExitGraceMs: CHILD_GRACE_MS, workerExitTimeoutMs: CHILD_TIMEOUT_MS } = DEFAULT_TIMEOUTS;
/** How long the teardown of our children may run past their grace. */
const CHILD_SLACK_MS = CHILD_TIMEOUT_MS - CHILD_GRACE_MS;

export function startWorker(args: WorkerArgs, connection: JsonRpcConnection, lifeline: Lifeline): (reason: string, of: LifelineParty) => void {
  let exiting = false;
  // When the first /run started: nothing older can carry our marker, so teardown reads no older
  // process's environment (Infinity: no /run yet, none to read). 0 when it could not be read.
  let markedSince = Infinity;
  let idleTimer: NodeJS.Timeout | undefined;
  const log = (m: string) => process.stderr.write(`worker[${process.pid}] ${new Date().toISOString().slice(11, 23)}: ${m}\n`);
  // Without the guard thread (the kernel kills us with the gateway) nothing of ours would run
  // at that death: the keeper takes the group down then. Started before the first child.
  let keeper: GroupKeeper | undefined;
  // In our session's cgroup, everything we started is in its cgroup.procs (no /proc scan): the
  // others are signalled by pid (cgroup.kill would end us too; the gateway writes it after our
  // exit). Without one: our group, our descendants and our marker. Only once we started a child
  // (lazyChildren.ts): before that there is nothing of ours to take down, and nothing is loaded.
  const mine = (k: typeof Children): Target => (args.cgroup ? k.cgroupTarget(args.cgroup, { remove: false }) : k.ownProcesses(markedSince));

  const exit = async (reason: string, code: number, graceMs = CHILD_GRACE_MS) => {
    if (exiting) return;
    exiting = true;
    log(`exiting: ${reason}`);
    if (idleTimer) clearTimeout(idleTimer);
    // Until its group and everything carrying its marker is empty (or the bound passes).
    const k = childrenIfLoaded();
    if (k) {
      const r = await k.teardown([mine(k)], { graceMs, timeoutMs: graceMs + CHILD_SLACK_MS });
      if (r.processes.length) log(`took down ${r.processes.length} process(es) of mine in ${Math.round(r.elapsedMs)} ms (${r.processes.filter((p) => p.signals.includes('SIGKILL')).length} needed SIGKILL)`);
      const problems = k.describeProblems(r);
      if (problems) log(`teardown: ${problems}`);
    }
    tornDown = true;
    lifeline.disarm();
    connection.dispose('exiting');
    process.exit(code);
  };
  // The gateway is gone (its end of our stdin closed, or the lifeline saw it die). With the
  // parent-death signal the kernel SIGKILLs us as it dies — the pipe closes first, so a teardown
  // of our own can begin and be cut short after it has taken the keeper down (seen under load: a
  // setsid escapee left running). The keeper is the one to do it then: we exit at once, its pipe
  // closes, and it becomes the reaper (the same teardown, from a process nothing is about to kill).
  const gatewayGone = (reason: string) => {
    const keeperPid = args.parentDeathSignal ? keeper?.runningPid : undefined;
    // Its exit event may not have reached us yet: the kernel's word that it lives (our child: its
    // pid cannot be reused before we reap it). A failed read is no such word: we do it ourselves.
    const st = keeperPid === undefined ? undefined : readProcStat(keeperPid);
    if (!st || !isLiveState(st.state) || exiting) return void exit(reason, 0);
    exiting = true;
    tornDown = true;
    log(`exiting: ${reason}; group keeper ${keeperPid} takes the rest down`);
    process.exit(0);
  };
  // Only the host is gone and our gateway lives: ending us is its job, and it does (its own
  // lifeline sees the host go; with cgroups one cgroup.kill of the whole tree). Exiting on our own
  // meanwhile only competes with it: our keeper would exec a node reaper into the tree that end
  // is reading — ~40 ms of CPU each on 2 cores, and, while it boots, node's SIGTERM handler in its
  // mask (traced: an end of ~1 s instead of ~0.5 at 50 workers). We act ourselves only if the
  // gateway has not ended us within the time its own blocked-loop guard gets (2 × pollMs), and well
  // before our guard thread (if any) would kill us unswept (GUARD_MAX_MS); its death closes our
  // stdin and ends the wait at once.
  let ownerWait: NodeJS.Timeout | undefined;
  const ownerGone = (reason: string) => {
    if (exiting || ownerWait) return;
    const waitMs = Math.min(2 * args.pollMs, GUARD_MAX_MS / 2);
    log(`lifeline: ${reason}; my gateway ends me (waiting up to ${waitMs} ms)`);
    ownerWait = setTimeout(() => gatewayGone(`lifeline: ${reason}, and my gateway has not ended me in ${waitMs} ms`), waitMs);
  };
  const exitNow = (code: number) => {
    exiting = true;
    process.exit(code);
  };

  // Last resort for paths that skip exit(): synchronous, because timers no longer run here.
  // After exit()'s own teardown it would only scan /proc again for nothing.
  let tornDown = false;
  process.on('exit', () => {
    const k = childrenIfLoaded();
    if (!tornDown && k) k.teardownSync([mine(k)], { firstSignal: 'SIGKILL', timeoutMs: 500 });
  });
  // In our session's cgroup leaf, SIGTERM ends us at once, as the kernel's default does (no JS
  // runs): whoever sends it takes the leaf down after it — the gateway on every path (close,
  // worker.kill, shutdown, host gone; and after any exit of ours), the host's sweeps the whole
  // tree (gateway crashed or hung). A node exit path per worker, 10–50 of them at once on a
  // host-gone sweep, cost more than the kernel's kill of all of them (issue 13, row 1).
  // And it is said in our signal mask (kernelSigterm.ts).
  if (args.cgroup) leaveSigtermToKernel();
  const handled = args.cgroup ? (['SIGINT', 'SIGHUP'] as const) : (['SIGTERM', 'SIGINT', 'SIGHUP'] as const);
  // A signal is the gateway's shutdown sweep (or a person's): our children get its grace.
  for (const sig of handled) process.on(sig, () => void exit(`received ${sig}`, 0, args.exitGraceMs));
  process.on('uncaughtException', (e) => {
    log(`uncaught exception: ${e.stack ?? e.message}`);
    void exit('uncaught exception', 70);
  });

  // Commands running now: idleness is counted from the last one's end, as the gateway counts it
  // (a command longer than the idle timeout must not be ended by it).
  let inFlight = 0;
  const touch = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    if (args.idleTimeoutMs > 0 && inFlight === 0) {
      idleTimer = setTimeout(() => void exit(`idle for ${args.idleTimeoutMs} ms`, 0), args.idleTimeoutMs);
      idleTimer.unref();
    }
  };
  touch();

  const budget = outputBudget(args.maxLineBytes);
  connection.onRequest(async (method, params, id) => {
    switch (method) {
      case 'exec': {
        const command = (params as { command?: unknown } | undefined)?.command;
        if (typeof command !== 'string') throw RpcError.invalidParams('exec needs {command: string}');
        // Not after our last scan of what is ours has begun: what it started would be missed.
        if (exiting) throw new RpcError(RpcErrorCode.ServerError, 'the worker is exiting');
        inFlight++;
        touch();
        let output: Awaited<ReturnType<typeof execCommand>>;
        try {
          output = await execCommand(command, {
            testCommands: args.testCommands,
            outputBudget: budget,
            requestId: id,
            beforeChild: args.parentDeathSignal ? () => void (keeper ??= new (loadChildren().GroupKeeper)(log, args.cgroup)).ensure() : undefined,
            markedChild: (pid) => {
              if (markedSince === Infinity) markedSince = (process.platform === 'linux' ? fingerprintOf(pid)?.startTime : undefined) ?? 0;
            },
            sendRaw: (line) => process.stdout.write(line + '\n'),
            exit: exitNow,
          });
        } finally {
          inFlight--;
          touch();
        }
        if (output === NO_REPLY) return new Promise(() => undefined);
        return { output };
      }
      case 'shutdown':
        setImmediate(() => void exit('shutdown requested', 0));
        return { ok: true };
      case 'ping':
        return { pid: process.pid };
      default:
        throw RpcError.methodNotFound(method);
    }
  });
  connection.onClose((reason) => gatewayGone(`connection closed (${reason})`));
  connection.notify('ready', { pid: process.pid, sessionId: args.sessionId, cgroup: args.cgroup ?? null });
  log(`ready (session ${args.sessionId || '-'})`);
  return (reason, of) => (of === 'owner' ? ownerGone(reason) : gatewayGone(`lifeline: ${reason}`));
}
