// What to run as the gateway: our bundle under the host's own runtime (embedded, or hosting the
// hermes or command backend with the user's program as its child), or the user's own Warden-
// protocol gateway. Always an argv array — never a shell — and always with the owner marker set.
import * as path from 'node:path';
import { displayArgv } from '../core/argvText';
import { Fingerprint, formatFingerprint } from '../core/fingerprint';
import { OWNER_ENV } from '../core/ownerMarker';
import { timeoutArgs, timeoutEnv } from '../core/timeouts';
import { GatewayBackend, WardenSettings } from './settings';
import { SMALL_HEAP_FLAGS } from '../core/heapFlags';

export interface LaunchSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** For logs and error messages. */
  display: string;
  /** Our own dist/gateway.js (whatever its backend), not the user's program. */
  embedded: boolean;
  /** What runs: embedded, warden, hermes, command (absent: a custom spec, e.g. a test's). */
  backend?: GatewayBackend;
  /** hermes/command: the program our gateway starts, for messages (undefined: the gateway's default). */
  program?: string;
  /** What the gateway must be, said when it does not start (a wrong program for the backend). */
  expected?: string;
}

export interface LaunchContext {
  /** The extension's install folder (holds dist/gateway.js). */
  extensionPath: string;
  /** The extension host's fingerprint: the owner every descendant carries. */
  owner: Fingerprint;
  execPath?: string;
  baseEnv?: NodeJS.ProcessEnv;
}

/** Limits handed to the gateway through its environment (its timeouts: timeoutArgs, timeoutEnv). */
export const GATEWAY_ENV = {
  maxSessions: 'GATEWAY_WARDEN_MAX_SESSIONS',
  maxWorkers: 'GATEWAY_WARDEN_MAX_WORKERS',
  workerMemoryMB: 'GATEWAY_WARDEN_WORKER_MEMORY_MB',
} as const;

export function launchSpec(settings: WardenSettings, ctx: LaunchContext): LaunchSpec {
  const env: NodeJS.ProcessEnv = {
    ...(ctx.baseEnv ?? process.env),
    [OWNER_ENV]: formatFingerprint(ctx.owner),
    [GATEWAY_ENV.maxSessions]: String(settings.maxSessions),
    [GATEWAY_ENV.maxWorkers]: String(settings.maxWorkers),
    [GATEWAY_ENV.workerMemoryMB]: String(settings.workerMemoryMB),
  };
  const wrapped = settings.backend === 'hermes' || settings.backend === 'command';
  // A command with `embedded` is `warden`: what the command setting meant before the backend one.
  if (!wrapped && settings.gatewayCommand !== undefined) {
    // Not our program: it gets the timeouts as the environment variables our gateway reads too.
    Object.assign(env, timeoutEnv(settings.timeouts));
    const args = [...settings.gatewayArgs];
    return {
      command: settings.gatewayCommand, args, env, display: displayArgv(settings.gatewayCommand, args), embedded: false, backend: 'warden',
      expected: WARDEN_EXPECTED,
    };
  }
  // Inside VS Code process.execPath is Electron (or code-server's node); ELECTRON_RUN_AS_NODE
  // makes Electron behave as plain Node and is harmless for node itself.
  const command = ctx.execPath ?? process.execPath;
  // The timeouts as flags: unlike environment variables, not inherited by the workers and what
  // they start (a gateway started in a /run would obey them).
  const args = [...SMALL_HEAP_FLAGS, path.join(ctx.extensionPath, 'dist', 'gateway.js'), ...timeoutArgs(settings.timeouts)];
  env.ELECTRON_RUN_AS_NODE = '1';
  const backend = wrapped ? settings.backend : 'embedded';
  let program: string | undefined;
  if (backend !== 'embedded') {
    // The program after `--`: never read as one of the gateway's own flags.
    args.push('--backend', backend);
    if (settings.gatewayCwd !== undefined) args.push('--cwd', settings.gatewayCwd);
    if (settings.gatewayCommand !== undefined) {
      args.push('--', settings.gatewayCommand, ...settings.gatewayArgs);
      program = displayArgv(settings.gatewayCommand, settings.gatewayArgs);
    }
  }
  return { command, args, env, display: displayArgv(command, args), embedded: true, backend, program };
}

/** Said when a `warden` gateway does not come up: what it must do, and the usual mistake. */
export const WARDEN_EXPECTED =
  'a gateway that speaks the Gateway Warden protocol and prints gateway.ready first; to run hermes-agent\'s tui_gateway set gatewayWarden.gateway.backend to "hermes", and any other program "command"';

/** argv as a readable line (quoted where needed); for display only, never executed. */
export { displayArgv };
