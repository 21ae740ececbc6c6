// Everything the extension host owns, without UI: the registry bound to this host's lifetime,
// the gateway supervisor, the session model. One instance per activation.
import * as path from 'node:path';
import { Fingerprint, formatFingerprint, isGone, selfFingerprint } from '../core/fingerprint';
import { ensurePrivateDirSync } from '../core/privateFiles';
import { Checkpoint, loadCheckpoints, ProcessRegistry } from '../core/registry';
import { Disposable } from '../core/emitter';
import { GatewayModel } from './gatewayModel';
import { launchSpec } from './launchSpec';
import { SystemdScopeLaunch } from './systemdScopeLaunch';
import { bindRegistry, closeRegistry, liveWorkerGroups } from './registryBinding';
import { Log } from './seams';
import { WardenSettings } from './settings';
import { GatewaySupervisor, SupervisorOptions } from './supervisor';

export interface WardenHostOptions {
  extensionPath: string;
  /** `<globalStorage>/registry`. */
  checkpointDir: string;
  log: Log;
  settings: () => WardenSettings;
  owner?: Fingerprint;
  readyTimeoutMs?: number;
  crashPolicy?: SupervisorOptions['crashPolicy'];
}

export class WardenHost {
  readonly owner: Fingerprint;
  readonly registry: ProcessRegistry;
  readonly supervisor: GatewaySupervisor;
  readonly model = new GatewayModel();
  /** The GATEWAY_WARDEN_OWNER everything this host starts carries (launchSpec.ts). */
  get ownerMarker(): string {
    return formatFingerprint(this.owner);
  }
  /** Checkpoints of dead hosts found at activation, kept for orphan detection. */
  readonly staleCheckpoints: Checkpoint[];
  private readonly subs: Disposable[] = [];
  private disposed = false;
  private finished = false;

  constructor(private readonly opts: WardenHostOptions) {
    this.owner = opts.owner ?? selfFingerprint();
    const log = opts.log;
    try {
      // Ours alone (0700), also when an earlier run or someone else left it open to others.
      const tightened = ensurePrivateDirSync(opts.checkpointDir);
      if (tightened) log.warn(`registry: ${tightened}`);
    } catch (e) {
      log.warn(`cannot create the registry folder ${opts.checkpointDir}: ${(e as Error).message}`);
    }
    // Neighbours first: another live window's checkpoint is left alone; a dead host's is kept
    // (never deleted here) and handed to orphan detection.
    const { checkpoints, problems } = loadCheckpoints(opts.checkpointDir, { exclude: this.owner, tighten: true });
    for (const p of problems) log.warn(`registry: ${p}`);
    this.staleCheckpoints = checkpoints.filter((cp) => isGone(cp.owner));
    if (this.staleCheckpoints.length) {
      log.info(`registry: ${this.staleCheckpoints.length} checkpoint(s) of dead hosts: ${this.staleCheckpoints.map((c) => path.basename(c.file)).join(', ')}`);
    }

    this.registry = new ProcessRegistry({ owner: this.owner, checkpointDir: opts.checkpointDir });
    const scope = new SystemdScopeLaunch({ log: (m) => log.info(m) });
    this.supervisor = new GatewaySupervisor({
      launch: () => scope.wrap(launchSpec(opts.settings(), { extensionPath: opts.extensionPath, owner: this.owner })),
      log,
      readyTimeoutMs: opts.readyTimeoutMs,
      crashPolicy: opts.crashPolicy,
      timeouts: () => opts.settings().timeouts,
      workerGroups: () => liveWorkerGroups(this.registry),
    });
    this.subs.push(
      bindRegistry(this.registry, this.supervisor, Date.now, log),
      this.supervisor.onEvent((ev) => this.model.applyEvent(ev)),
      this.supervisor.onDidStart((gw) => {
        this.model.clear();
        // Which backend and program (hermes, command) it runs; backend.state events follow.
        if (gw.readyEvent) this.model.applyEvent(gw.readyEvent);
        // The gateway may have sessions already (a custom one that keeps state): resync once.
        const asOf = this.model.mark();
        this.supervisor.request('session.list', {}, 5000).then(
          (r) => this.model.applyList(r, Date.now(), asOf),
          (e) => log.debug(`session.list after start: ${(e as Error).message}`),
        );
      }),
      this.supervisor.onDidExit(({ gateway }) => {
        // An old gateway that outlived a restart's teardown, exiting late: the view is its successor's.
        const current = this.supervisor.gateway;
        if (current !== undefined && current !== gateway) {
          log.debug(`gateway ${gateway.pid} (replaced by ${current.pid}) exited`);
          return;
        }
        this.model.clear();
        log.debug(`gateway ${gateway.pid} exit recorded`);
      }),
    );
  }

  /**
   * Clean deactivate: stop everything within the budget, then remove this host's checkpoint
   * (nothing of ours is left to find). Resolves; never rejects.
   */
  async dispose(budgetMs = this.opts.settings().timeouts.deactivateBudgetMs): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      await this.supervisor.dispose(budgetMs);
    } catch (e) {
      this.opts.log.error(`gateway teardown: ${(e as Error).message}`);
    } finally {
      // Also when logging the failure failed: the registry's last write must happen.
      this.finish();
    }
  }

  /**
   * Synchronous variant for process exit without deactivate — or during it: the host can exit
   * before an async dispose finishes, and then only a synchronous SIGKILL sweep still runs.
   */
  disposeSync(): void {
    if (this.finished) return;
    if (this.disposed) {
      this.supervisor.disposeSync();
      return;
    }
    this.disposed = true;
    this.supervisor.disposeSync();
    this.finish();
  }

  private finish(): void {
    this.finished = true;
    for (const s of this.subs) s.dispose();
    this.model.dispose();
    // Kept in the checkpoint, the next activation offers these as orphans.
    const leftovers = closeRegistry(this.registry);
    if (leftovers.length) this.opts.log.warn(`still alive after teardown: ${leftovers.join(', ')}`);
  }
}
