// /run: a shell command in the worker's own process group (not detached), so the worker's
// teardown covers it and anything it leaves running in the background.
import { spawn } from 'node:child_process';

const MAX_OUTPUT = 256 * 1024;
/** After the shell exits, how long to wait for output still in the pipes (a background child may hold them). */
const DRAIN_MS = 100;

export interface RunResult {
  output: string;
  code: number | null;
  signal: string | null;
  pid: number | undefined;
}

export function runShell(command: string, onSpawn: (pid: number) => void): Promise<RunResult> {
  return new Promise((resolve) => {
    const win = process.platform === 'win32';
    const child = spawn(win ? 'cmd.exe' : '/bin/sh', win ? ['/d', '/s', '/c', command] : ['-c', command], {
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    if (child.pid !== undefined) onSpawn(child.pid);
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (c: Buffer) => {
      if (size >= MAX_OUTPUT) return;
      chunks.push(c.subarray(0, MAX_OUTPUT - size));
      size += c.length;
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    let done = false;
    const finish = (code: number | null, signal: string | null, error?: Error) => {
      if (done) return;
      done = true;
      // Background children may keep the pipes open: stop listening, close our ends.
      child.stdout!.destroy();
      child.stderr!.destroy();
      let output = Buffer.concat(chunks).toString('utf8');
      if (size > MAX_OUTPUT) output += `\n[output truncated at ${MAX_OUTPUT} bytes]`;
      if (error) output += `${output ? '\n' : ''}[failed to start: ${error.message}]`;
      resolve({ output, code, signal, pid: child.pid });
    };
    child.on('error', (e) => finish(null, null, e));
    child.on('exit', (code, signal) => {
      const t = setTimeout(() => finish(code, signal), DRAIN_MS);
      child.on('close', () => {
        clearTimeout(t);
        finish(code, signal);
      });
    });
  });
}
