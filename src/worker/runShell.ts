// /run: a shell command in the worker's own process group (not detached), so the worker's
// teardown covers it and anything it leaves running in the background. Output is kept as raw
// bytes (stdout and stderr interleaved as they come), bounded; turning it into reply text is
// outputFit's job.
import { spawn } from 'node:child_process';
import { formatFingerprint, selfFingerprint } from '../core/fingerprint';
import { PARENT_ENV } from '../core/ownerMarker';

/** After the shell exits, how long to wait for output still in the pipes (a background child may hold them). */
const DRAIN_MS = 100;

export interface RunResult {
  /** The first (at most maxBytes) bytes the command wrote. */
  head: Buffer;
  /** Every byte it wrote, kept or not. */
  totalBytes: number;
  code: number | null;
  signal: string | null;
  pid: number | undefined;
  /** Why the shell could not start. */
  error?: string;
}

/** This worker's fingerprint (unreadable now, EMFILE …: the inherited marker, which the group and tree rules back up). */
function ownMarker(): string | undefined {
  try {
    return formatFingerprint(selfFingerprint());
  } catch {
    return process.env[PARENT_ENV];
  }
}

/**
 * Runs command in a shell; keeps at most maxBytes of its output but reads (and counts) all of it,
 * so the command never blocks on a full pipe.
 */
export function runShell(command: string, maxBytes: number, onSpawn: (pid: number) => void): Promise<RunResult> {
  return new Promise((resolve) => {
    const win = process.platform === 'win32';
    const child = spawn(win ? 'cmd.exe' : '/bin/sh', win ? ['/d', '/s', '/c', command] : ['-c', command], {
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      // Our marker: the worker's teardown finds the command and its descendants by it, also
      // those that left its group and tree (setsid, double fork).
      env: { ...process.env, [PARENT_ENV]: ownMarker() },
    });
    if (child.pid !== undefined) onSpawn(child.pid);
    // Listened to first: a spawn that fails at once (EMFILE, ENFILE) comes with no pipes at all
    // (stdout null) and its 'error' on the next tick — unheard, it would end the worker.
    child.on('error', (e) => finish(null, null, e));
    const chunks: Buffer[] = [];
    let kept = 0;
    let total = 0;
    const collect = (c: Buffer) => {
      total += c.length;
      if (kept >= maxBytes) return;
      const part = c.subarray(0, maxBytes - kept);
      chunks.push(part);
      kept += part.length;
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let done = false;
    const finish = (code: number | null, signal: string | null, error?: Error) => {
      if (done) return;
      done = true;
      // Background children may keep the pipes open: stop listening, close our ends.
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ head: Buffer.concat(chunks), totalBytes: total, code, signal, pid: child.pid, error: error?.message });
    };
    child.on('exit', (code, signal) => {
      const t = setTimeout(() => finish(code, signal), DRAIN_MS);
      child.on('close', () => {
        clearTimeout(t);
        finish(code, signal);
      });
    });
  });
}
