// SIGTERM left to the kernel's default action, and said so in the signal mask. Node catches
// SIGTERM from start-up (to reset a TTY, then it re-raises: the process dies all the same), and
// a member whose mask says it catches SIGTERM is sent one by the gateway's host-gone end, whose
// one cgroup.kill of the tree then waits until it is gone (core/kill: endsSelf). A listener added
// and removed leaves libuv's SIG_DFL.
export function leaveSigtermToKernel(): void {
  const none = (): void => undefined;
  process.on('SIGTERM', none).off('SIGTERM', none);
}
