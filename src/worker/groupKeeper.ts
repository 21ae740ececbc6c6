// The group keeper: a tiny shell in the worker's own process group that SIGKILLs the group when
// the worker dies. Needed only when the worker runs without its blocked-loop guard thread because
// the kernel kills it with the gateway (--parent-death-signal): that SIGKILL gives the worker no
// chance to take its /run children down itself, and a blocked worker never would.
//
// How it notices: its stdin is a pipe whose only writer is this worker (node keeps its own end
// close-on-exec, so no /run child inherits it). The kernel closes it when the worker dies, for
// any reason; `read` returns and `kill -KILL 0` signals the keeper's own group — the worker's,
// which cannot have been recycled while the keeper is in it. dash: ~0.1 MB private.
// Started lazily before the first /run (until then the worker has nothing to take down). On the
// worker's own exit paths its teardown takes the group down, the keeper with it.
import { ChildProcess, spawn } from 'node:child_process';

const KEEPER_SCRIPT = 'read _; kill -KILL 0';
/** $0 of the keeper: what it is, in ps and in the tree. */
export const KEEPER_NAME = 'gateway-warden-group-keeper';

export class GroupKeeper {
  private child?: ChildProcess;

  constructor(private readonly log: (m: string) => void) {}

  /** Starts the keeper if it is not running. False (and logged) when it could not start. */
  ensure(): boolean {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return true;
    const child = spawn('/bin/sh', ['-c', KEEPER_SCRIPT, KEEPER_NAME], {
      stdio: ['pipe', 'ignore', 'ignore'],
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
