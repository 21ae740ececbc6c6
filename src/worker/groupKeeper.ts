// The group keeper: a tiny shell in the worker's own process group that SIGKILLs the group when
// the worker dies. Needed only when the worker runs without its blocked-loop guard thread because
// the kernel kills it with the gateway (--parent-death-signal): that SIGKILL gives the worker no
// chance to take its /run children down itself, and a blocked worker never would.
//
// How it notices: its stdin is a pipe whose only writer is this worker (node keeps its own end
// close-on-exec, so no /run child inherits it). The kernel closes it when the worker dies, for
// any reason, and `read` returns. Then it execs `setsid node worker.js --reap-group …` (same
// pid, out of the group): the reaper (reaper.ts) takes the group, the worker's marked escapees
// and its session's cgroup leaf down through the teardown engine, as the worker's own teardown
// would have. Without setsid it SIGKILLs its own group (the worker's, which cannot have been
// recycled while the keeper is in it) and the escapees are left to the host and the orphan list.
// Idle it is a dash in `read`: ~0.1 MB private. Started lazily before the first /run (until then
// the worker has nothing to take down). On the worker's own exit paths its teardown takes the
// group down, the keeper with it.
import { ChildProcess, spawn } from 'node:child_process';
import { formatFingerprint, readSelfFingerprint } from '../core/fingerprint';
import { GROUP_KEEPER_NAME } from '../core/ownerMarker';

const KEEPER_SCRIPT = 'read _; command -v setsid >/dev/null 2>&1 && exec setsid "$@"; kill -KILL 0';

export class GroupKeeper {
  private child?: ChildProcess;

  /** `cgroup`: the session leaf the worker joined, if any: the reaper takes it too, once it finds itself inside. */
  constructor(
    private readonly log: (m: string) => void,
    private readonly cgroup?: string,
  ) {}

  /** The keeper's pid while it runs. */
  get runningPid(): number | undefined {
    const c = this.child;
    return c && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  /** Starts the keeper if it is not running. False (and logged) when it could not start. */
  ensure(): boolean {
    if (this.runningPid !== undefined) return true;
    // The reaper names us by fingerprint; unreadable now (EMFILE), there is no keeper to start.
    const me = readSelfFingerprint();
    if (me.state !== 'alive') {
      this.log(`group keeper could not start: cannot read my own fingerprint (${me.why})`);
      return false;
    }
    // The reaper: this very bundle and runtime (ELECTRON_RUN_AS_NODE comes with the environment).
    const reaper = [process.execPath, ...process.execArgv, process.argv[1], '--reap-group', String(process.pid), '--reap-leader', formatFingerprint(me.fingerprint), ...(this.cgroup ? ['--cgroup', this.cgroup] : [])];
    const child = spawn('/bin/sh', ['-c', KEEPER_SCRIPT, GROUP_KEEPER_NAME, ...reaper], {
      stdio: ['pipe', 'ignore', 'inherit'], // the reaper's log goes where the worker's went
      // Not detached: it must be in this worker's group.
    });
    if (child.pid === undefined) {
      child.on('error', (e) => this.log(`group keeper could not start: ${e.message}`));
      return false;
    }
    child.on('error', (e) => this.log(`group keeper ${child.pid}: ${e.message}`));
    child.stdin!.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.log(`group keeper ${child.pid} exited (${signal ?? code})`);
    });
    // Neither the keeper nor its pipe keeps the worker alive.
    child.unref();
    (child.stdin as unknown as { _handle?: { unref?(): void } })._handle?.unref?.();
    this.child = child;
    return true;
  }
}
