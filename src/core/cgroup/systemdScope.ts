// Whether the gateway can be started in its own delegated systemd scope
// (`systemd-run --user --scope -p Delegate=yes`), which makes its cgroup writable by us even
// where our own cgroup is not. Tried for real (a `true` in a throw-away scope, bounded by a
// deadline); anything short of success means "no", silently.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { findExecutable } from '../executablePath';
import { cgroupsForcedOff } from './cgroupProbe';

export interface ScopeProbe {
  /** The argv to put in front of the gateway's own, or undefined when a scope is not possible. */
  prefix?: string[];
  /** Why not (or "ok"), for the log. */
  why: string;
}

export function probeSystemdScope(opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ScopeProbe> {
  const env = opts.env ?? process.env;
  if (process.platform !== 'linux') return Promise.resolve({ why: 'not Linux' });
  if (cgroupsForcedOff(env)) return Promise.resolve({ why: 'cgroups are turned off' });
  const found = findExecutable('systemd-run', env, '/');
  const systemdRun = found.ok ? found.file : undefined;
  if (!systemdRun) return Promise.resolve({ why: 'no systemd-run on PATH' });
  const argv = [systemdRun, '--user', '--scope', '-p', 'Delegate=yes', '--quiet', '--collect', '--'];
  return new Promise((resolve) => {
    execFile(argv[0], [...argv.slice(1), 'true'], { env, timeout: opts.timeoutMs ?? 2000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 }, (err, _out, stderr) => {
      if (!err) resolve({ prefix: argv, why: 'ok' });
      else {
        const msg = String(stderr).trim().split('\n').pop() || err.message;
        resolve({ why: `${path.basename(systemdRun)} --user --scope failed: ${msg.slice(0, 200)}` });
      }
    });
  });
}
