// "Gateway Warden: Copy Diagnostics Report": core's report (the same builder and renderer as
// `gateway-warden report`) with what only the extension knows — VS Code's version, the effective
// settings, this window's live model and the last 200 lines of the log — opened as an untitled
// Markdown document and copied to the clipboard. Never throws: a failure is a notification.
import type * as vscode from 'vscode';
import { DEFAULT_ORPHAN_PATTERNS } from '../core/orphans';
import { LOG_TAIL_LINES, findChannelLog, readLogTail } from '../core/report/logTail';
import { buildReport, ReportLog } from '../core/report/reportData';
import { renderReportMarkdown } from '../core/report/reportMarkdown';
import { reportCaps, reportLive, reportSettings } from '../host/reportInput';
import type { Log } from '../host/seams';
import type { WardenSettings } from '../host/settings';
import type { WardenHost } from '../host/wardenHost';
import { withDelayedProgress } from './delayedProgress';
import type { WindowApi } from './vscodeApi';

/** The output channel's name: its log file is `<logDir>/<name>.log`. */
export const LOG_CHANNEL = 'Gateway Warden';

export interface ReportSources {
  extensionVersion: string;
  /** `<globalStorage>/registry`: this window's checkpoints, and dead hosts' it keeps. */
  checkpointDir: string;
  /** Extra orphan patterns (validated sources), as the Orphans node uses them. */
  patterns: () => readonly string[];
  settings: () => WardenSettings;
  /** The latest settings problems (values rejected and replaced by defaults). */
  settingsProblems: () => readonly string[];
  /** The extension's log directory (context.logUri), where VS Code writes the channel's file. */
  logDir?: string;
}

/** The VS Code parts of the module a report reads (vscode satisfies it). */
export type ReportVscode = Pick<typeof vscode, 'version'> & { env: Pick<typeof vscode.env, 'appName' | 'appHost' | 'remoteName'> };

export function vscodeVersion(vs: ReportVscode): string {
  const where = [vs.env.appHost, vs.env.remoteName ? `remote: ${vs.env.remoteName}` : undefined].filter(Boolean).join(', ');
  return `${vs.env.appName} ${vs.version}${where ? ` (${where})` : ''}`;
}

export function extensionLog(logDir: string | undefined): ReportLog {
  if (!logDir) return { source: 'The log directory is not known to this build.', lines: null };
  const file = findChannelLog(logDir, LOG_CHANNEL);
  if (!file) return { source: `No "${LOG_CHANNEL}" log file in ${logDir} yet.`, lines: null };
  const tail = readLogTail(file, LOG_TAIL_LINES);
  if ('problem' in tail) return { source: tail.problem, lines: null };
  return { source: `The "${LOG_CHANNEL}" output channel (${file}), last ${tail.lines.length} line(s).`, lines: tail.lines };
}

/** The report as Markdown, redacted (buildReport redacts before anything renders). */
export async function buildExtensionReport(vs: ReportVscode, host: WardenHost, src: ReportSources): Promise<string> {
  const settings = src.settings();
  const gateway = host.supervisor.current;
  const data = await buildReport({
    generatedBy: 'extension',
    extensionVersion: src.extensionVersion,
    vscode: vscodeVersion(vs),
    settings: reportSettings(settings, src.settingsProblems()),
    caps: reportCaps(settings, gateway),
    live: reportLive(gateway, host.model),
    log: extensionLog(src.logDir),
    scan: {
      checkpointDirs: [src.checkpointDir],
      ownDirs: true,
      patterns: [...DEFAULT_ORPHAN_PATTERNS, ...src.patterns().map((p) => new RegExp(p))],
    },
    checkpointDirs: [{ editor: vs.env.appName, dir: src.checkpointDir }],
    thisHost: host.owner,
  });
  return renderReportMarkdown(data);
}

export interface CopyReportDeps {
  window: Pick<WindowApi, 'showInformationMessage' | 'showWarningMessage' | 'showErrorMessage' | 'withProgress'>;
  log: Log & { show(): void };
  build: () => Promise<string>;
  /** Opens the text as an untitled Markdown document in an editor. */
  open: (markdown: string) => Thenable<unknown>;
  copy: (text: string) => Thenable<void>;
}

export const COPIED_MESSAGE = 'Diagnostics report copied to the clipboard and opened in an editor. Secrets are redacted; check it before you paste it.';

/** Builds, copies, opens; every failure is said (and logged), none is thrown. */
export async function copyDiagnosticsReport(d: CopyReportDeps): Promise<void> {
  const fail = async (what: string, e: unknown, level: 'error' | 'warn') => {
    const message = `${what}: ${e instanceof Error ? e.message : String(e)}`;
    d.log[level](message);
    const show = level === 'error' ? d.window.showErrorMessage : d.window.showWarningMessage;
    try {
      if ((await show.call(d.window, `Gateway Warden: ${message}`, 'Show Log')) === 'Show Log') d.log.show();
    } catch {
      // a notification that cannot be shown is not worth another one
    }
  };
  let markdown: string;
  try {
    // A scan of a large process table can take a while on a loaded machine: say so, if it does.
    markdown = await withDelayedProgress(d.window, 'Making the diagnostics report…', d.build());
  } catch (e) {
    await fail('Could not make the diagnostics report', e, 'error');
    return;
  }
  const problems: string[] = [];
  try {
    await d.copy(markdown);
  } catch (e) {
    problems.push(`not copied to the clipboard (${(e as Error)?.message ?? String(e)})`);
  }
  try {
    await d.open(markdown);
  } catch (e) {
    problems.push(`not opened in an editor (${(e as Error)?.message ?? String(e)})`);
  }
  d.log.info(`diagnostics report: ${markdown.split('\n').length} lines${problems.length ? `; ${problems.join('; ')}` : ''}`);
  if (problems.length) {
    await fail('Diagnostics report', problems.join(' and '), problems.length === 2 ? 'error' : 'warn');
    return;
  }
  try {
    await d.window.showInformationMessage(COPIED_MESSAGE);
  } catch {
    // as above
  }
}
