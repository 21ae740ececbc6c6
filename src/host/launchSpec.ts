// What to run as the gateway: the embedded bundle under the host's own runtime, or the user's
// command. Always an argv array — never a shell — and always with the owner marker set.
import * as path from 'node:path';
import { displayArgv } from '../core/argvText';
import { Fingerprint, formatFingerprint } from '../core/fingerprint';
import { OWNER_ENV } from '../core/ownerMarker';
import { WardenSettings } from './settings';
import { SMALL_HEAP_FLAGS } from '../core/heapFlags';

export interface LaunchSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** For logs and error messages. */
  display: string;
  embedded: boolean;
}

export interface LaunchContext {
  /** The extension's install folder (holds dist/gateway.js). */
  extensionPath: string;
  /** The extension host's fingerprint: the owner every descendant carries. */
  owner: Fingerprint;
  execPath?: string;
  baseEnv?: NodeJS.ProcessEnv;
}

/** Tunables handed to the gateway through its environment. */
export const GATEWAY_ENV = {
  idleTimeoutMs: 'GATEWAY_WARDEN_WORKER_IDLE_TIMEOUT_MS',
  watchdogPollMs: 'GATEWAY_WARDEN_POLL_MS',
  graceMs: 'GATEWAY_WARDEN_SHUTDOWN_GRACE_MS',
  maxSessions: 'GATEWAY_WARDEN_MAX_SESSIONS',
  maxWorkers: 'GATEWAY_WARDEN_MAX_WORKERS',
} as const;

export function launchSpec(settings: WardenSettings, ctx: LaunchContext): LaunchSpec {
  const env: NodeJS.ProcessEnv = {
    ...(ctx.baseEnv ?? process.env),
    [OWNER_ENV]: formatFingerprint(ctx.owner),
    [GATEWAY_ENV.idleTimeoutMs]: String(settings.workerIdleTimeoutMs),
    [GATEWAY_ENV.watchdogPollMs]: String(settings.watchdogPollMs),
    [GATEWAY_ENV.graceMs]: String(settings.shutdownGraceMs),
    [GATEWAY_ENV.maxSessions]: String(settings.maxSessions),
    [GATEWAY_ENV.maxWorkers]: String(settings.maxWorkers),
  };
  if (settings.gatewayCommand !== undefined) {
    const args = [...settings.gatewayArgs];
    return { command: settings.gatewayCommand, args, env, display: displayArgv(settings.gatewayCommand, args), embedded: false };
  }
  // Inside VS Code process.execPath is Electron (or code-server's node); ELECTRON_RUN_AS_NODE
  // makes Electron behave as plain Node and is harmless for node itself.
  const command = ctx.execPath ?? process.execPath;
  const args = [...SMALL_HEAP_FLAGS, path.join(ctx.extensionPath, 'dist', 'gateway.js')];
  env.ELECTRON_RUN_AS_NODE = '1';
  return { command, args, env, display: displayArgv(command, args), embedded: true };
}

/** argv as a readable line (quoted where needed); for display only, never executed. */
export { displayArgv };
