// The kernel's parent-death signal (Linux prctl PR_SET_PDEATHSIG) for a child we spawn, through
// util-linux `setpriv --pdeathsig KILL -- PROGRAM ARGS…`: setpriv sets it and execs the program
// (same pid, same start time), and the kernel SIGKILLs the child when the thread that forked it
// dies — for any reason, SIGKILL included, and whatever the child's event loop is doing. That is
// what lets a worker drop its blocked-event-loop guard thread (a whole V8 isolate per worker).
//
// "The thread that forked it": node/libuv spawn from the thread that calls spawn(), here always
// the main thread, so the signal comes with the process's death, not a worker thread's exit.
// Found once per process and verified by running it (an old setpriv without --pdeathsig must
// not turn every spawn into a failure); where it is missing the caller keeps its guard thread.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { findExecutable } from './executablePath';

/** `off` (or 0/false/no) forces the fallback: no parent-death signal, the guard thread instead. */
export const PDEATHSIG_ENV = 'GATEWAY_WARDEN_PDEATHSIG';

/** The signal the kernel sends; SIGKILL: a blocked or stopped child cannot ignore it. */
export const PARENT_DEATH_SIGNAL = 'KILL';

const SETPRIV_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];
const PROBE_TIMEOUT_MS = 5000;

let cached: { prefix: readonly string[] | undefined; why: string } | undefined;

/**
 * The argv prefix that starts a program with the parent-death signal set (`[setpriv,
 * '--pdeathsig', 'KILL', '--']`), or undefined with the reason: not Linux, switched off by
 * GATEWAY_WARDEN_PDEATHSIG, no setpriv, or a setpriv that failed the probe.
 */
export function parentDeathSignalPrefix(env: NodeJS.ProcessEnv = process.env): { prefix: readonly string[] | undefined; why: string } {
  if (/^(off|0|false|no)$/i.test(env[PDEATHSIG_ENV]?.trim() ?? '')) return { prefix: undefined, why: `${PDEATHSIG_ENV}=${env[PDEATHSIG_ENV]}` };
  cached ??= probe(env);
  return cached;
}

function probe(env: NodeJS.ProcessEnv): { prefix: readonly string[] | undefined; why: string } {
  if (process.platform !== 'linux') return { prefix: undefined, why: `not Linux (${process.platform})` };
  // PATH's absolute entries, then the usual places (a relative entry would depend on our cwd).
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter((d) => path.isAbsolute(d)), ...SETPRIV_DIRS];
  const found = findExecutable('setpriv', { PATH: dirs.join(path.delimiter) }, '/');
  if (!found.ok) return { prefix: undefined, why: 'setpriv (util-linux) not found' };
  const setpriv = found.file;
  const prefix = [setpriv, '--pdeathsig', PARENT_DEATH_SIGNAL, '--'];
  // Run it once for real: an old setpriv rejects --pdeathsig, a sandbox may refuse prctl.
  // (setpriv itself as the program: a few ms, nothing else to trust.)
  const r = spawnSync(prefix[0], [...prefix.slice(1), setpriv, '--version'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: PROBE_TIMEOUT_MS });
  if (r.status !== 0) {
    const err = r.error?.message ?? (r.stderr?.toString().trim().split('\n')[0] || `exit ${r.status ?? r.signal}`);
    return { prefix: undefined, why: `${setpriv} --pdeathsig failed its probe (${err})` };
  }
  return { prefix, why: `${setpriv} --pdeathsig ${PARENT_DEATH_SIGNAL}` };
}
