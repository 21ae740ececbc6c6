// Picks the backend named on the command line.
import { Fingerprint } from '../../core/fingerprint';
import type { Containment } from '../cgroupContainment';
import type { GatewayOptions } from '../options';
import { Backend, BackendHost } from './backend';
import type { BackendSpec } from './backendOptions';
import { CommandBackend } from './command';
import { EmbeddedBackend } from './embedded';
import { HermesBackend } from './hermes';

export interface BackendContext {
  options: GatewayOptions;
  ownerMarker: string;
  owner: Fingerprint | undefined;
  /** The embedded backend's worker program. */
  workerPath: string;
  host: BackendHost;
  /** The gateway's cgroup containment (embedded: a leaf per session; hermes, command: a leaf for the program). */
  containment?: Containment;
}

export function createBackend(spec: BackendSpec, ctx: BackendContext): Backend {
  switch (spec.name) {
    case 'hermes':
      return new HermesBackend(spec, ctx.options, ctx.ownerMarker, ctx.host, ctx.containment);
    case 'command':
      return new CommandBackend(spec, ctx.options, ctx.ownerMarker, ctx.host, ctx.containment);
    default:
      return new EmbeddedBackend(ctx.options, ctx.ownerMarker, ctx.owner, ctx.workerPath, ctx.host, ctx.containment);
  }
}
