// The VS Code side: log channel, tree view, status bar, context keys, commands, notifications.
// Everything here is thin glue over host/ and the testable ui/ modules.
import type * as vscode from 'vscode';
import type { Log } from '../host/seams';
import { LeakConditions, orphanKey } from '../host/leakConditions';
import { LeakWatch } from '../host/leakWatch';
import { ResourceSampler, sampledMemoryBytes, sampledTotals } from '../host/resourceSampler';
import { gatewayCgroupTree, sessionCgroup } from '../host/sessionCgroups';
import { DEFAULT_SETTINGS, WardenSettings } from '../host/settings';
import { WardenHost } from '../host/wardenHost';
import { killWorker, sessionLeafOf } from '../host/workerKill';
import { ALERT_ACTIONS, BackendAlerts } from './backendAlerts';
import { COMMAND_IDS, createHandlers } from './commands';
import { contextKeys } from './contextKeys';
import { buildExtensionReport, copyDiagnosticsReport, ReportSources } from './diagnosticsReport';
import { LeakAlertNotifier, StateStore } from './leakAlerts';
import { MemoryRestartNotifier } from './memoryRestarts';
import { clearOrphansFlow, FOUND_ACTIONS, foundMessage, OrphanSource, startupOrphanScan } from './orphansFlow';
import { ProcessTreeProvider } from './processTree';
import { createStatusBar, statusBarText } from './statusBar';
import type { OrphanItem, OrphanScan } from '../host/orphanSource';

export const VIEW_ID = 'gatewayWarden.processes';

export interface UiOptions {
  vs: typeof vscode;
  host: WardenHost;
  /** The extension's log (ui/outputLog.ts: never throws). */
  log: Log & { show(): void };
  orphans: OrphanSource<OrphanItem>;
  graceMs: () => number;
  /** What "Copy Diagnostics Report" reads besides the host (absent: the command says it is unavailable). */
  report?: ReportSources;
  /** The alerts.* settings (default: their defaults). */
  settings?: () => Pick<WardenSettings, 'alertIntervalMs' | 'alertTotalMemoryBytes'>;
  /** Where "Don't Show Again" is remembered (the extension's globalState; default: this activation only). */
  globalState?: StateStore;
  /** How long live workers must be at the cap before it is a condition (default a minute; tests shorten it). */
  atCapForMs?: number;
}

function memoryState(): StateStore {
  const m = new Map<string, unknown>();
  return { get: <T>(k: string) => m.get(k) as T | undefined, update: async (k, v) => void m.set(k, v) };
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
  readonly leakConditions: LeakConditions;
  readonly leakWatch: LeakWatch;

  constructor(private readonly o: UiOptions) {
    const { vs, host, log } = o;
    // With cgroup containment the gateway's tree and each session's leaf give the totals from their files.
    const cgroupTree = () => (host.supervisor.current.state === 'running' ? gatewayCgroupTree(host.supervisor.gateway) : undefined);
    this.sampler = new ResourceSampler(
      () => [
        // The gateway itself: its descendants and group make the total the leak check compares.
        ...(host.supervisor.current.state === 'running' && host.supervisor.current.pid !== undefined
          ? [{ pid: host.supervisor.current.pid, pgid: host.supervisor.current.pgid, cgroup: cgroupTree() }]
          : []),
        // A worker's group members are its children only when it leads its group: older hermes
        // starts its workers in the gateway's own group, whose members (our gateway, hermes
        // itself) are no children of a worker's.
        ...host.model.workers().map((w) => ({ pid: w.pid, pgid: w.pgid === w.pid ? w.pgid : undefined, cgroup: sessionCgroup(cgroupTree(), w.sessionId) })),
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
      recentlyExited: host.model.recentlyExited(),
      now: Date.now(),
    }));
    const view = vs.window.createTreeView(VIEW_ID, { treeDataProvider: this.tree, showCollapseAll: true });
    const status = createStatusBar(vs);
    this.disposables.push(this.tree, view, status, { dispose: () => this.sampler.dispose() });

    const settings = o.settings ?? (() => DEFAULT_SETTINGS);
    const notifier = new LeakAlertNotifier(
      vs.window,
      o.globalState ?? memoryState(),
      (command) => vs.commands.executeCommand(command),
      () => void Promise.resolve(vs.commands.executeCommand(`${VIEW_ID}.focus`)).catch(() => undefined),
      log,
    );
    this.leakConditions = new LeakConditions({ totalMemoryBytes: () => settings().alertTotalMemoryBytes, muted: () => notifier.muted(), atCapForMs: o.atCapForMs });
    const running = () => host.supervisor.current.state === 'running';
    const workersNow = () => (running() ? { live: host.model.workers().length, max: host.supervisor.current.limits?.maxWorkers } : { live: 0 });
    this.leakWatch = new LeakWatch({
      conditions: this.leakConditions,
      intervalMs: () => settings().alertIntervalMs,
      scanOrphans: async () => {
        // The check itself decides what is news; the tree shows the list either way.
        return this.setOrphans(await this.o.orphans.scan(), false);
      },
      totalMemoryBytes: () => {
        if (!running()) return 0;
        // While the view is visible the sampler's latest reading is at most one period old.
        const snap = this.sampler.running ? this.sampler.current : this.sampler.sample(Date.now(), { askTree: false });
        return sampledMemoryBytes(snap);
      },
      workers: workersNow,
      onEvaluated: (e) => {
        notifier.notify(e.fresh);
        this.update();
      },
      log,
    });
    this.disposables.push({ dispose: () => this.leakWatch.dispose() });
    // Between checks, what is already known is enough: the worker count and cap (every model
    // change), the memory (each sample while the view is visible). Only the check scans.
    // The worker cap's minute (or a dip's end) runs out without an event: look again then.
    let recheck: NodeJS.Timeout | undefined;
    const evaluateKnown = (what: 'workers' | 'memory') => {
      if (!this.alertsOn()) return;
      const snap = this.sampler.current;
      const e = this.leakConditions.evaluate({
        now: Date.now(),
        workers: what === 'workers' ? workersNow() : undefined,
        totalMemoryBytes: what === 'memory' ? (running() ? sampledMemoryBytes(snap) : 0) : undefined,
      });
      notifier.notify(e.fresh);
      if (what !== 'workers') return;
      if (recheck) clearTimeout(recheck);
      recheck = undefined;
      const at = this.leakConditions.workersRecheckAt();
      if (at !== undefined) {
        recheck = setTimeout(() => {
          recheck = undefined;
          evaluateKnown('workers');
          this.update();
        }, Math.max(0, at - Date.now()) + 10);
        recheck.unref?.();
      }
    };
    this.disposables.push({ dispose: () => recheck && clearTimeout(recheck) });

    // A worker restarted at its memory ceiling (gatewayWarden.limits.workerMemoryMB): a warning
    // naming the setting, and a count towards the fourth leak alert (more than 3 in 10 minutes).
    const restarts = new MemoryRestartNotifier(
      vs.window,
      (query) => void Promise.resolve(vs.commands.executeCommand('workbench.action.openSettings', query)).catch(() => undefined),
      () => void Promise.resolve(vs.commands.executeCommand(`${VIEW_ID}.focus`)).catch(() => undefined),
      log,
    );
    this.disposables.push(
      host.supervisor.onEvent((ev) => {
        if (ev.type !== 'worker.restarted' || typeof ev.sessionId !== 'string') return;
        const label = host.model.get(ev.sessionId)?.label;
        if (!restarts.notify(ev, label)) return;
        this.leakConditions.recordRestart({ sessionId: ev.sessionId, at: Date.now(), label, limitBytes: typeof ev.limitBytes === 'number' ? ev.limitBytes : undefined });
        if (!this.alertsOn()) return;
        notifier.notify(this.leakConditions.evaluate({ now: Date.now() }).fresh);
        this.update();
      }),
    );

    // The Recently exited node loses a row when it expires: refresh then (one timer at a time).
    let expiry: NodeJS.Timeout | undefined;
    const refreshAtExpiry = () => {
      if (expiry) clearTimeout(expiry);
      expiry = undefined;
      const at = host.model.nextExitExpiry();
      if (at === undefined) return;
      expiry = setTimeout(() => {
        expiry = undefined;
        this.tree.refresh();
        refreshAtExpiry();
      }, Math.max(0, at - Date.now()) + 50);
      expiry.unref?.();
    };
    this.disposables.push({ dispose: () => expiry && clearTimeout(expiry) });

    const update = () => {
      this.tree.refresh();
      refreshAtExpiry();
      const st = host.supervisor.current;
      const workers = host.model.workers().length;
      const snap = this.sampler.current;
      // Only a sample of this gateway: one taken before it started (hidden view, restart) is another's.
      const ofThisGateway = st.state === 'running' && snap.takenAt > 0 && st.startedAt !== undefined && snap.takenAt >= st.startedAt;
      const total = ofThisGateway ? sampledTotals(snap, st.pid) : undefined;
      const s = statusBarText(st, workers, this.orphans.length, host.model.backend(), this.alertsOn() ? this.leakConditions.active().map((a) => a.message) : [],
        total && { ...total, ageMs: Date.now() - snap.takenAt });
      status.text = s.text;
      status.tooltip = s.tooltip;
      status.backgroundColor = s.background ? new vs.ThemeColor(s.background) : undefined;
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
      host.supervisor.onDidChangeState(() => {
        evaluateKnown('workers');
        if (!running()) evaluateKnown('memory');
        update();
      }),
      host.model.onDidChange(() => {
        evaluateKnown('workers');
        update();
      }),
      this.sampler.onDidSample(() => {
        if (this.sampler.running) evaluateKnown('memory');
        // The status bar's tooltip has the gateway's total.
        update();
      }),
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

    const handlers = createHandlers({
      window: vs.window,
      gateway: host.supervisor,
      model: host.model,
      log: log,
      killWorker: (sessionId, w) => killWorker({
        request: (m, p, t) => host.supervisor.request(m, p, t), bootId: host.owner.bootId, graceMs: o.graceMs(), sessionLeaf: sessionLeafOf(host.supervisor.gateway, sessionId),
        ownerMarker: host.ownerMarker, log: (m) => log.info(m),
      }, sessionId, w),
      refreshView: () => {
        if (this.sampler.running) this.sampler.sample();
        this.tree.refreshNow();
      },
      rescanOrphans: () => this.rescanOrphans(),
      rows: () => this.tree.rows(),
      openSettings: (query) => void Promise.resolve(vs.commands.executeCommand('workbench.action.openSettings', query)).catch(() => undefined),
      copyReport: o.report
        ? () => {
          const sources = o.report!;
          return copyDiagnosticsReport({
            window: vs.window,
            log: log,
            build: () => buildExtensionReport(vs, host, sources),
            open: async (content) => vs.window.showTextDocument(await vs.workspace.openTextDocument({ language: 'markdown', content })),
            copy: (text) => vs.env.clipboard.writeText(text),
          });
        }
        : undefined,
      clearOrphans: async (only) => {
        const summary = await clearOrphansFlow(vs.window, this.trackingSource(), log, only);
        if (summary) await this.rescanOrphans();
      },
    });
    for (const id of COMMAND_IDS) this.disposables.push(vs.commands.registerCommand(id, handlers[id]));
    update();
    this.leakWatch.reschedule();
  }

  /**
   * An alerts.* setting changed (or may have): the interval is rescheduled, and what holds is
   * judged again now against the new threshold — not at the next check, up to a day away.
   */
  rescheduleAlerts(): void {
    this.leakWatch.reschedule();
    this.update();
    if (this.alertsOn()) void this.leakWatch.check();
  }

  /** alerts.intervalMinutes 0 turns every alert off: no check, no warning, no status-bar colour. */
  private alertsOn(): boolean {
    return (this.o.settings ?? (() => DEFAULT_SETTINGS))().alertIntervalMs > 0;
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
    // Announced here: the periodic check does not announce them again.
    this.leakConditions.markOrphansReported(this.orphans);
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

  /** Takes a scan's orphans; an incomplete scan drops none known before (unread is not gone). Returns the list now. */
  private setOrphans(scan: OrphanScan, evaluate = true): OrphanItem[] {
    const found = new Set(scan.items.map(orphanKey));
    const list = scan.incomplete === undefined ? scan.items : [...scan.items, ...this.orphans.filter((o) => !found.has(orphanKey(o)))];
    this.orphans = list;
    // Any scan (Refresh, Clear, a check) brings the orphan condition up to date; what a scan
    // outside the check shows in the tree is seen there, so it is not announced again.
    if (evaluate && this.alertsOn()) this.leakConditions.evaluate({ now: Date.now(), orphans: list });
    this.update();
    return list;
  }

  /** The orphan source, updating the tree's Orphans node from every scan. */
  private trackingSource(): OrphanSource<OrphanItem> {
    return {
      scan: async () => {
        const scan = await this.o.orphans.scan();
        this.setOrphans(scan);
        return scan;
      },
      clear: (items, opts) => this.o.orphans.clear(items, opts),
    };
  }
}
