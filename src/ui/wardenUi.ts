// The VS Code side: log channel, tree view, status bar, context keys, commands, notifications.
// Everything here is thin glue over host/ and the testable ui/ modules.
import type * as vscode from 'vscode';
import type { Log } from '../host/seams';
import { ResourceSampler } from '../host/resourceSampler';
import { WardenHost } from '../host/wardenHost';
import { killWorker } from '../host/workerKill';
import { ALERT_ACTIONS, BackendAlerts } from './backendAlerts';
import { COMMAND_IDS, createHandlers } from './commands';
import { contextKeys } from './contextKeys';
import { clearOrphansFlow, FOUND_ACTIONS, foundMessage, OrphanSource, startupOrphanScan } from './orphansFlow';
import { ProcessTreeProvider } from './processTree';
import { createStatusBar, statusBarText } from './statusBar';
import type { OrphanItem } from '../host/orphanSource';

export const VIEW_ID = 'gatewayWarden.processes';

export interface UiOptions {
  vs: typeof vscode;
  host: WardenHost;
  log: vscode.LogOutputChannel;
  orphans: OrphanSource<OrphanItem>;
  graceMs: () => number;
}

/** hermes: its gateway's own CPU and memory (its workers are roots of their own). */
function hermesProgram(host: WardenHost): { pid: number }[] {
  const b = host.model.backend();
  return b?.name === 'hermes' && b.pid !== undefined && b.state === 'running' ? [{ pid: b.pid }] : [];
}

export class WardenUi implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private orphans: OrphanItem[] = [];
  readonly tree: ProcessTreeProvider;
  private readonly sampler: ResourceSampler;
  private lastKeys = '';
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: UiOptions) {
    const { vs, host, log } = o;
    this.sampler = new ResourceSampler(
      () => [
        // A worker's group members are its children only when it leads its group: older hermes
        // starts its workers in the gateway's own group, whose members (our gateway, hermes
        // itself) are no children of a worker's.
        ...host.model.workers().map((w) => ({ pid: w.pid, pgid: w.pgid === w.pid ? w.pgid : undefined })),
        ...host.model.staleWorkers().map((w) => ({ pid: w.pid })),
        ...hermesProgram(host),
      ],
      undefined,
      {
        // The command backend's tree comes from the gateway (escapees found by group and tag included).
        processTree: () =>
          host.supervisor.current.state === 'running' && host.model.backend()?.name === 'command'
            ? host.supervisor.request('process.tree', {}, 5000)
            : undefined,
      },
    );
    this.tree = new ProcessTreeProvider(vs, () => ({
      gateway: host.supervisor.current,
      sessions: host.model.list(),
      backend: host.model.backend(),
      staleWorkers: host.model.staleWorkers(),
      resources: this.sampler.running ? this.sampler.current : undefined,
      orphans: this.orphans,
      now: Date.now(),
    }));
    const view = vs.window.createTreeView(VIEW_ID, { treeDataProvider: this.tree, showCollapseAll: true });
    const status = createStatusBar(vs);
    this.disposables.push(this.tree, view, status, { dispose: () => this.sampler.dispose() });

    const update = () => {
      this.tree.refresh();
      const st = host.supervisor.current;
      const workers = host.model.workers().length;
      const s = statusBarText(st, workers, this.orphans.length, host.model.backend());
      status.text = s.text;
      status.tooltip = s.tooltip;
      status.show();
      const keys = contextKeys(st, host.model.list().length, workers);
      const json = JSON.stringify(keys);
      if (json !== this.lastKeys) {
        this.lastKeys = json;
        // Also runs while the host shuts down, when executeCommand may reject: never unhandled.
        for (const [k, v] of Object.entries(keys)) Promise.resolve(vs.commands.executeCommand('setContext', k, v)).catch(() => undefined);
      }
    };
    this.update = update;

    // A worker that gains its first child: reveal the child so the worker row opens (only while
    // the view is visible — reveal would otherwise open the view).
    this.disposables.push(
      this.tree.onDidChangeTreeData(() => {
        const grown = this.tree.takeNewParents();
        if (!grown.length || !view.visible) return;
        const t = setTimeout(() => {
          this.timers.delete(t);
          for (const n of grown) {
            const child = this.tree.find(n.children[0]?.id ?? '');
            if (child) void Promise.resolve(view.reveal(child, { select: false, focus: false, expand: false })).catch(() => undefined);
          }
        }, 50);
        this.timers.add(t);
      }),
      // No reveal on a disposed view.
      { dispose: () => this.timers.forEach((t) => clearTimeout(t)) },
    );

    // The backend's program failing, exiting or reporting errors: said once, with what to do.
    const alerts = new BackendAlerts(vs.window, log, (action) => {
      if (action === ALERT_ACTIONS.log) log.show();
      else if (action === ALERT_ACTIONS.settings) void Promise.resolve(vs.commands.executeCommand('workbench.action.openSettings', 'gatewayWarden.gateway')).catch(() => undefined);
      else void Promise.resolve(vs.commands.executeCommand('gatewayWarden.restartGateway')).catch(() => undefined);
    });
    this.disposables.push(
      host.supervisor.onDidStart(() => alerts.reset()),
      host.model.onDidChange(() => alerts.update(host.supervisor.current.state, host.model.backend())),
    );

    // Gateway events drive the tree; CPU/memory are sampled only while the view is visible.
    this.disposables.push(
      host.supervisor.onDidChangeState(update),
      host.model.onDidChange(update),
      this.sampler.onDidSample(() => this.tree.refresh()),
      view.onDidChangeVisibility((e) => (e.visible ? this.sampler.start() : this.sampler.stop())),
      host.supervisor.onDidGiveUp((g) => {
        Promise.resolve(vs.window.showErrorMessage(`Gateway Warden: ${g.message}`, 'Show Log', 'Restart'))
          .then((pick) => {
            if (pick === 'Show Log') log.show();
            return pick === 'Restart' ? vs.commands.executeCommand('gatewayWarden.restartGateway') : undefined;
          })
          .catch((e: Error) => log.error(`crash-loop notification: ${e.message}`));
      }),
    );
    if (view.visible) this.sampler.start();

    const logWithShow: Log & { show(): void } = log;
    const handlers = createHandlers({
      window: vs.window,
      gateway: host.supervisor,
      model: host.model,
      log: logWithShow,
      killWorker: (sessionId, w) => killWorker({ request: (m, p, t) => host.supervisor.request(m, p, t), bootId: host.owner.bootId, graceMs: o.graceMs() }, sessionId, w),
      refreshView: () => {
        if (this.sampler.running) this.sampler.sample();
        this.tree.refreshNow();
      },
      rescanOrphans: () => this.rescanOrphans(),
      openSettings: (query) => void Promise.resolve(vs.commands.executeCommand('workbench.action.openSettings', query)).catch(() => undefined),
      clearOrphans: async (only) => {
        const summary = await clearOrphansFlow(vs.window, this.trackingSource(), log, only);
        if (summary) await this.rescanOrphans();
      },
    });
    for (const id of COMMAND_IDS) this.disposables.push(vs.commands.registerCommand(id, handlers[id]));
    update();
  }

  private readonly update: () => void;

  /** Activation scan (retried once) and the non-modal "Found N orphaned processes" prompt. */
  async startupScan(retryDelayMs = 3000): Promise<void> {
    const { vs, log } = this.o;
    try {
      this.setOrphans(await startupOrphanScan(this.o.orphans, retryDelayMs));
    } catch (e) {
      log.warn(`orphan scan failed: ${(e as Error).message}`);
      return;
    }
    if (!this.orphans.length) return;
    log.info(`${foundMessage(this.orphans.length)}: ${this.orphans.map((o) => o.pid).join(', ')}`);
    try {
      const pick = await vs.window.showWarningMessage(foundMessage(this.orphans.length), FOUND_ACTIONS.clear, FOUND_ACTIONS.show, FOUND_ACTIONS.ignore);
      if (pick === FOUND_ACTIONS.clear) await vs.commands.executeCommand('gatewayWarden.clearOrphans');
      else if (pick === FOUND_ACTIONS.show) await vs.commands.executeCommand(`${VIEW_ID}.focus`);
    } catch (e) {
      // Called with `void` at activation: a rejection here would be unhandled.
      log.warn(`orphan notification: ${(e as Error).message}`);
    }
  }

  async rescanOrphans(): Promise<void> {
    try {
      this.setOrphans(await this.o.orphans.scan());
    } catch (e) {
      this.o.log.warn(`orphan scan failed: ${(e as Error).message}`);
    }
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private setOrphans(list: OrphanItem[]): void {
    this.orphans = list;
    this.update();
  }

  /** The orphan source, updating the tree's Orphans node from every scan. */
  private trackingSource(): OrphanSource<OrphanItem> {
    return {
      scan: async () => {
        const list = await this.o.orphans.scan();
        this.setOrphans(list);
        return list;
      },
      clear: (items, opts) => this.o.orphans.clear(items, opts),
    };
  }
}
