// safeKill: signal one process only if it is still the process we recorded. The fingerprint is
// re-read immediately before the signal; what remains is the few microseconds between that read
// and kill(2), which Node cannot close (no pidfd_send_signal).
import * as os from 'node:os';
import { Fingerprint, isFingerprint, readFingerprint } from './fingerprint';
import { ProcRead, readProcUidChecked } from './procfs';
import { processSource } from './processTable';
import type { RefusalReason, SafeKillResult } from './killTypes';

export function safeKill(fp: Fingerprint, signal: NodeJS.Signals | number): SafeKillResult {
  try {
    return checkAndSend(fp, signal);
  } catch (e) {
    return refuse('error', `could not signal: ${(e as Error).message}`);
  }
}

function checkAndSend(fp: Fingerprint, signal: NodeJS.Signals | number): SafeKillResult {
  if (!isFingerprint(fp)) return refuse('error', `not a process fingerprint: ${JSON.stringify(fp)}`);
  const sigError = signalProblem(signal);
  if (sigError) return refuse('error', sigError);
  const protectedWhy = protectedPid(fp.pid);
  if (protectedWhy) return refuse('protected', `pid ${fp.pid} is ${protectedWhy}; never signalled`);
  const check = checkProcess(fp);
  if (check) return check;
  return sendSignal(fp.pid, signal);
}

/** Why a pid must never be signalled, or undefined. */
export function protectedPid(pid: number): string | undefined {
  if (pid === 1) return 'init (pid 1)';
  if (pid === process.pid) return 'this process';
  return undefined;
}

export function signalProblem(signal: NodeJS.Signals | number): string | undefined {
  if (typeof signal === 'number') {
    return Number.isInteger(signal) && signal >= 0 && signal <= 64 ? undefined : `not a signal number: ${signal}`;
  }
  return typeof signal === 'string' && signal in os.constants.signals ? undefined : `unknown signal: ${String(signal)}`;
}

/**
 * Checks that `fp` still names a live process of ours. Returns a refusal, or undefined when the
 * process may be signalled.
 */
export function checkProcess(fp: Fingerprint): SafeKillResult | undefined {
  const read = readFingerprint(fp.pid);
  if (read.state === 'dead') return refuse('gone', `pid ${fp.pid} has exited (${read.why})`);
  if (read.state === 'unknown') return refuse('unknown', `cannot tell whether pid ${fp.pid} is still the recorded process (${read.why}); not signalled`);
  const now = read.fingerprint;
  if (now.bootId !== fp.bootId) {
    return refuse('reused', `pid ${fp.pid} was recorded in another boot (${fp.bootId}, now ${now.bootId}); it is another process`);
  }
  if (now.startTime !== fp.startTime) {
    return refuse('reused', `pid ${fp.pid} now belongs to another process (start time ${now.startTime}, recorded ${fp.startTime})`);
  }
  const myUid = process.getuid?.();
  if (myUid === undefined) return undefined; // Windows: no uids
  const owner = processUidChecked(fp.pid);
  if (owner.state === 'gone') return refuse('gone', `pid ${fp.pid} has exited`);
  if (owner.state === 'unknown') return refuse('unknown', `cannot tell whose process pid ${fp.pid} is (${owner.why}); not signalled`);
  if (owner.value !== myUid) {
    return refuse('other-user', `pid ${fp.pid} belongs to uid ${owner.value}, not to us (uid ${myUid})`);
  }
  return undefined;
}

/** Sends the signal and maps errno to a refusal. */
export function sendSignal(pid: number, signal: NodeJS.Signals | number): SafeKillResult {
  try {
    process.kill(pid, signal);
    return { sent: true, message: `sent ${signalName(signal)} to pid ${pid}` };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return refuse('gone', `pid ${pid} exited before ${signalName(signal)} reached it`);
    if (code === 'EPERM') return refuse('other-user', `not permitted to signal pid ${pid} (EPERM)`);
    return refuse('error', `kill(${pid}, ${signalName(signal)}) failed: ${(e as Error).message}`);
  }
}

/** The owner uid with what a failure proves: gone only when /proc or the platform's table says so. */
export function processUidChecked(pid: number): ProcRead<number> {
  if (process.platform === 'linux') return readProcUidChecked(pid);
  if (process.platform === 'win32') return { state: 'unknown', why: 'no uids on Windows' };
  const look = processSource().lookSync([pid]).get(pid);
  if (look?.state === 'found' && look.info.uid !== undefined) return { state: 'found', value: look.info.uid };
  return look?.state === 'gone' ? { state: 'gone' } : { state: 'unknown', why: look?.state === 'unknown' ? look.why : `no uid for pid ${pid}` };
}

export function signalName(signal: NodeJS.Signals | number): string {
  if (typeof signal === 'string') return signal;
  const name = Object.entries(os.constants.signals).find(([, n]) => n === signal)?.[0];
  return name ?? `signal ${signal}`;
}

function refuse(reason: RefusalReason, message: string): SafeKillResult {
  return { sent: false, reason, message };
}
