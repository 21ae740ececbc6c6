// Where the extension host's own cgroup is not writable (a Remote-SSH login's session scope, a
// system service), our gateway cannot make its cgroup tree beside it. With a systemd user
// manager, the gateway is then started in a delegated scope of its own:
// `systemd-run --user --scope -p Delegate=yes … -- node dist/gateway.js …`. systemd-run registers
// the scope and execs the gateway in place (same pid, start time and process group, so the
// fingerprint read at spawn and every group teardown still hold); the gateway's cgroup is then
// the scope, which the user may write. Probed once per window; anything short of success keeps
// the plain launch, with one log line (the process-group guards carry on alone).
import { displayArgv } from '../core/argvText';
import { CgroupProbe, probeCgroups } from '../core/cgroup/cgroupProbe';
import { probeSystemdScope, ScopeProbe } from '../core/cgroup/systemdScope';
import type { LaunchSpec } from './launchSpec';

export interface SystemdScopeLaunchOptions {
  log: (message: string) => void;
  /** Our own cgroup support (default probeCgroups: this process's cgroup, which the gateway starts in). */
  probeOwn?: (env: NodeJS.ProcessEnv) => CgroupProbe;
  /** Whether a delegated scope can be made (default probeSystemdScope, bounded by its deadline). */
  probeScope?: (env: NodeJS.ProcessEnv) => Promise<ScopeProbe>;
  platform?: NodeJS.Platform;
}

export class SystemdScopeLaunch {
  private scope: Promise<ScopeProbe> | undefined;

  constructor(private readonly opts: SystemdScopeLaunchOptions) {}

  /** `spec` as it should run: inside a delegated scope when that is what gives the gateway cgroups. Never rejects. */
  async wrap(spec: LaunchSpec): Promise<LaunchSpec> {
    // The user's own Warden gateway makes no cgroups: not ours to move.
    if (!spec.embedded || (this.opts.platform ?? process.platform) !== 'linux') return spec;
    let own: CgroupProbe;
    try {
      own = (this.opts.probeOwn ?? probeCgroups)(spec.env);
    } catch {
      return spec;
    }
    if (own.available || own.forced) return spec;
    this.scope ??= this.probeOnce(spec.env, own.reason);
    const scope = await this.scope;
    if (!scope.prefix) return spec;
    const [command, ...prefixArgs] = scope.prefix;
    const args = [...prefixArgs, spec.command, ...spec.args];
    return { ...spec, command, args, display: displayArgv(command, args) };
  }

  private async probeOnce(env: NodeJS.ProcessEnv, whyNot: string): Promise<ScopeProbe> {
    let scope: ScopeProbe;
    try {
      scope = await (this.opts.probeScope ?? ((e) => probeSystemdScope({ env: e })))(env);
    } catch (e) {
      scope = { why: `the systemd scope probe failed: ${(e as Error).message}` };
    }
    this.opts.log(scope.prefix
      ? `cgroup: this window's cgroup is not ours to use (${whyNot}); the gateway runs in a delegated systemd user scope`
      : `cgroup: this window's cgroup is not ours to use (${whyNot}) and no delegated systemd scope can be made (${scope.why}); the gateway contains its workers by process groups`);
    return scope;
  }
}
