// activate/deactivate: wiring only (host/ does the work, ui/ talks to VS Code).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readSettings, WardenSettings } from './host/settings';
import { WardenHost } from './host/wardenHost';
import { createOrphanSource } from './host/orphanSource';
import { outputLog, OutputLog } from './ui/outputLog';
import { RelaunchPrompter } from './ui/relaunchPrompt';
import { SettingsProblemReporter } from './ui/settingsProblems';
import { WardenUi } from './ui/wardenUi';

let host: WardenHost | undefined;
let ui: WardenUi | undefined;
let onExit: (() => void) | undefined;
let channel: OutputLog | undefined;

export function activate(context: vscode.ExtensionContext): void {
  // Not in context.subscriptions: VS Code disposes those as soon as it has called deactivate,
  // while the teardown deactivate started still logs (ui/outputLog.ts). deactivate closes it.
  const log = outputLog(vscode.window.createOutputChannel('Gateway Warden', { log: true }));
  channel?.dispose();
  channel = log;

  const openSettings = () => void vscode.commands.executeCommand('workbench.action.openSettings', 'gatewayWarden').then(undefined, () => undefined);
  const problems = new SettingsProblemReporter(vscode.window, log, openSettings);
  let settingsProblems: readonly string[] = [];
  const loadSettings = (): WardenSettings => {
    const cfg = vscode.workspace.getConfiguration('gatewayWarden');
    const r = readSettings((key) => cfg.get(key));
    settingsProblems = r.problems;
    problems.report(r.problems);
    return r.settings;
  };
  let settings = loadSettings();
  const relaunch = new RelaunchPrompter(vscode.window, (command) => vscode.commands.executeCommand(command), () => host?.supervisor.current.state ?? 'stopped');
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration('gatewayWarden')) return;
      settings = loadSettings();
      // New patterns may match (or stop matching) processes: bring the Orphans node up to date.
      if (e.affectsConfiguration('gatewayWarden.orphans.extraPatterns')) void ui?.rescanOrphans();
      if (e.affectsConfiguration('gatewayWarden.alerts')) ui?.rescheduleAlerts();
      // Launch settings apply on the next start; offer it now (restart if running, start if failed).
      if (host) await relaunch.onChange(host.supervisor.current.state, (section) => e.affectsConfiguration(section));
    }),
  );

  const checkpointDir = path.join(context.globalStorageUri.fsPath, 'registry');
  host = new WardenHost({ extensionPath: context.extensionPath, checkpointDir, log, settings: () => settings });
  const h = host;
  ui = new WardenUi({
    vs: vscode,
    host: h,
    log,
    orphans: createOrphanSource({ checkpointDir, patterns: () => settings.extraOrphanPatterns, graceMs: () => settings.timeouts.shutdownGraceMs, log }),
    graceMs: () => settings.timeouts.shutdownGraceMs,
    report: {
      extensionVersion: String((context.extension.packageJSON as { version?: unknown }).version ?? 'unknown'),
      checkpointDir,
      patterns: () => settings.extraOrphanPatterns,
      settings: () => settings,
      settingsProblems: () => settingsProblems,
      logDir: context.logUri.fsPath,
    },
    settings: () => settings,
    globalState: context.globalState,
  });
  context.subscriptions.push(ui);

  // If the host exits without deactivate finishing, SIGKILL our groups synchronously.
  onExit = () => h.disposeSync();
  process.once('exit', onExit);

  log.info(`activated in host pid ${process.pid} (owner ${h.owner.pid}:${h.owner.startTime})`);
  if (settings.autoStart) {
    h.supervisor.start().catch(async (e: Error) => {
      const pick = await vscode.window.showErrorMessage(`Gateway Warden: ${e.message}`, 'Show Log', 'Open Settings');
      if (pick === 'Show Log') log.show();
      if (pick === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'gatewayWarden.gateway');
    }).catch((e: Error) => {
      log.error(`start-up failure notification: ${e.message}`);
    });
  }
  if (settings.scanOrphansOnStartup) void ui.startupScan();
}

export function deactivate(): Promise<void> | undefined {
  const h = host;
  const exitHook = onExit;
  const log = channel;
  ui = undefined;
  onExit = undefined;
  channel = undefined;
  // Within the deactivate budget (core/timeouts.ts: well inside VS Code's 5 s); the synchronous
  // fallback runs when it is spent. The exit hook stays until then: if the host exits first, it
  // still SIGKILLs our groups.
  if (!h) {
    log?.dispose();
    return undefined;
  }
  return h.dispose().finally(() => {
    if (exitHook) process.off('exit', exitHook);
    if (host === h) host = undefined;
    log?.dispose();
  });
}
