// Command handlers, written against small seams (WindowApi, the supervisor's request surface,
// the model) so they are unit-testable without VS Code. Every handler reports failures to the
// user and the log; none throws.
import type { QuickPickItem } from 'vscode';
import type { GatewayModel, SessionView, WorkerView } from '../host/gatewayModel';
import type { GatewayStatus } from '../host/supervisor';
import type { Log } from '../host/seams';
import type { NodeRef, TreeNode } from './treeNodes';
import { withDelayedProgress } from './delayedProgress';
import { limitRefusal, OPEN_SETTINGS } from './limitRefusal';
import { WindowApi } from './vscodeApi';

export const COMMAND_IDS = [
  'gatewayWarden.startGateway',
  'gatewayWarden.stopGateway',
  'gatewayWarden.restartGateway',
  'gatewayWarden.newSession',
  'gatewayWarden.closeSession',
  'gatewayWarden.runSlashCommand',
  'gatewayWarden.killWorker',
  'gatewayWarden.killProcess',
  'gatewayWarden.clearOrphans',
  'gatewayWarden.refresh',
  'gatewayWarden.showLog',
  'gatewayWarden.copyDiagnosticsReport',
] as const;
export type CommandId = (typeof COMMAND_IDS)[number];
export type Handler = (...args: unknown[]) => Promise<void>;

/** What the handlers need from the host side. */
export interface GatewayControl {
  readonly current: GatewayStatus;
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  request<T = unknown>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
}

/** Asks the gateway to end a session's worker group (host/workerKill.ts). */
export type WorkerKiller = (sessionId: string, w: WorkerView) => Promise<{ ok: boolean; message: string }>;

export interface CommandDeps {
  window: WindowApi;
  gateway: GatewayControl;
  model: GatewayModel;
  log: Log & { show(): void };
  killWorker: WorkerKiller;
  /** Refreshes the tree (and its resource numbers). */
  refreshView: () => void;
  /** Re-scans for orphans (the tree's Orphans node); never rejects. */
  rescanOrphans?: () => Promise<void>;
  /**
   * The view's rows, for Kill Process run without one: from the palette, or from a row's menu in
   * the moment VS Code re-fetches a refreshed row's subtree (it then passes no row at all).
   */
  rows?: () => readonly TreeNode[];
  /** `only`: invoked on one orphan's row (its pid). */
  clearOrphans: (only?: number) => Promise<void>;
  slashTimeoutMs?: number;
  /** How long a slash command runs before its progress notification shows (default 700 ms). */
  progressDelayMs?: number;
  /** Opens the Settings editor at `query` (a setting id). */
  openSettings?: (query: string) => void;
  /** Builds the diagnostics report, copies it and opens it (ui/diagnosticsReport.ts); never rejects. */
  copyReport?: () => Promise<void>;
}

const SHOW_LOG = 'Show Log';

/** A notification shows at most this much of a command's output; the log has all of it. */
function clip(text: string, max = 400): string {
  return text.length > max ? `${text.slice(0, max)}… (full output in the log)` : text;
}
/** The rows whose menu has Kill Process (package.json: viewItem =~ /\bprocessKillable\b/). */
const KILLABLE = /\bprocessKillable\b/;

export function createHandlers(d: CommandDeps): Record<CommandId, Handler> {
  const reportError = async (what: string, e: unknown) => {
    // A cap the gateway enforces is not a failure to debug: say which setting raises it.
    const refusal = limitRefusal(what, e);
    if (refusal) {
      d.log.warn(refusal.message);
      const pick = await d.window.showWarningMessage(refusal.message, ...(d.openSettings ? [OPEN_SETTINGS] : []), SHOW_LOG);
      if (pick === OPEN_SETTINGS) d.openSettings?.(refusal.setting);
      else if (pick === SHOW_LOG) d.log.show();
      return;
    }
    const message = `${what}: ${e instanceof Error ? e.message : String(e)}`;
    d.log.error(message);
    const pick = await d.window.showErrorMessage(message, SHOW_LOG);
    if (pick === SHOW_LOG) d.log.show();
  };
  const guarded = (what: string, fn: Handler): Handler => async (...args) => {
    try {
      await fn(...args);
    } catch (e) {
      await reportError(what, e);
    }
  };
  const isRunning = () => d.gateway.current.state === 'running';
  const needRunning = async (): Promise<boolean> => {
    if (isRunning()) return true;
    // Still starting (e.g. at activation): wait for that start rather than call it "not running".
    if (d.gateway.current.state === 'starting') {
      await d.gateway.start();
      if (isRunning()) return true;
    }
    const pick = await d.window.showWarningMessage(`The gateway is not running (${d.gateway.current.state}).`, 'Start Gateway');
    if (pick === 'Start Gateway') await d.gateway.start();
    return isRunning();
  };

  // The model has two writers only, both here on the host side: gateway events and session.list
  // (the host clears it when the gateway exits). Commands never write it themselves.
  const resync = async () => {
    if (d.gateway.current.state !== 'running') return;
    const asOf = d.model.mark();
    d.model.applyList(await d.gateway.request('session.list', {}, 5000), Date.now(), asOf);
  };

  // `confirm`: a destructive command from the palette shows the pick even for a single
  // candidate, so it never acts on something the user did not choose.
  const pickSession = async (arg: unknown, placeHolder: string, sessions = d.model.list(), confirm = false): Promise<SessionView | undefined> => {
    const ref = refOf(arg);
    if (ref && 'sessionId' in ref) return d.model.get(ref.sessionId) ?? { sessionId: ref.sessionId, createdAt: Date.now(), closeOnDisconnect: false };
    if (sessions.length === 0) return undefined;
    if (sessions.length === 1 && !confirm) return sessions[0];
    const items: (QuickPickItem & { s: SessionView })[] = sessions.map((s) => ({
      label: s.label ?? s.sessionId,
      description: s.worker ? `worker pid ${s.worker.pid}` : 'no worker',
      detail: s.label ? s.sessionId : undefined,
      s,
    }));
    return (await d.window.showQuickPick(items, { placeHolder }))?.s;
  };

  return {
    'gatewayWarden.startGateway': guarded('Could not start the gateway', async () => {
      await d.gateway.start();
      await resync();
    }),
    'gatewayWarden.stopGateway': guarded('Could not stop the gateway', async () => {
      await d.gateway.stop();
    }),
    'gatewayWarden.restartGateway': guarded('Could not restart the gateway', async () => {
      await d.gateway.restart();
      await resync();
    }),
    'gatewayWarden.newSession': guarded('Could not create a session', async () => {
      if (!(await needRunning())) return;
      const label = await d.window.showInputBox({ prompt: 'Label for the new session (optional)', placeHolder: 'e.g. refactoring' });
      if (label === undefined) return; // cancelled
      const r = await d.gateway.request<{ sessionId: string }>('session.create', label.trim() ? { label: label.trim() } : {}, 10_000);
      d.log.info(`session created: ${r?.sessionId}`);
    }),
    'gatewayWarden.closeSession': guarded('Could not close the session', async (arg) => {
      if (!(await needRunning())) return;
      const s = await pickSession(arg, 'Session to close', d.model.list(), true);
      if (!s) {
        if (!refOf(arg) && !d.model.list().length) await d.window.showInformationMessage('There are no sessions to close.');
        return; // else the user cancelled the pick
      }
      const r = await d.gateway.request<{ closed: boolean }>('session.close', { sessionId: s.sessionId }, 10_000);
      d.log.info(`session ${s.sessionId} close: ${r?.closed ? 'closed' : 'was already closed'}`);
    }),
    'gatewayWarden.runSlashCommand': guarded('Slash command failed', async (arg) => {
      if (!(await needRunning())) return;
      let s = await pickSession(arg, 'Session to run the command in');
      if (!s && d.model.list().length) return; // the user cancelled the pick
      const command = await d.window.showInputBox({
        prompt: s ? `Slash command for session ${s.label ?? s.sessionId}` : 'Slash command (there is no session yet: it runs in a new one)',
        placeHolder: '/help',
        value: '/',
        validateInput: (v) => (v.trim().startsWith('/') && v.trim().length > 1 ? undefined : 'A slash command starts with "/", e.g. /help'),
      });
      if (command === undefined || !command.trim().startsWith('/') || command.trim().length < 2) return;
      if (!s) {
        // Created only now, so a cancelled input box leaves no empty session behind.
        const r = await d.gateway.request<{ sessionId?: unknown }>('session.create', {}, 10_000);
        if (typeof r?.sessionId !== 'string' || !r.sessionId) throw new Error(`session.create returned no sessionId (${JSON.stringify(r)})`);
        s = d.model.get(r.sessionId) ?? { sessionId: r.sessionId, createdAt: Date.now(), closeOnDisconnect: false };
      }
      d.log.info(`[${s.sessionId}] ${command.trim()}`);
      // A command can take long (/sleep, /run): show that it is running, once it has taken a while.
      const r = await withDelayedProgress(
        d.window,
        `Running ${command.trim()} in session ${s.label ?? s.sessionId}…`,
        d.gateway.request<{ output?: unknown; warning?: unknown }>('slash.exec', { sessionId: s.sessionId, command: command.trim() }, d.slashTimeoutMs ?? 120_000),
        d.progressDelayMs,
      );
      const output = typeof r?.output === 'string' ? r.output : JSON.stringify(r?.output ?? '');
      for (const line of output.split('\n')) d.log.info(`[${s.sessionId}] ${line}`);
      // hermes answers some commands with a warning beside the output (a /model that needs a
      // confirmation was not done): it is the news, not a footnote to an all-clear.
      const warning = typeof r?.warning === 'string' && r.warning.trim() ? r.warning.trim() : undefined;
      if (warning) d.log.warn(`[${s.sessionId}] ${command.trim()}: ${warning}`);
      const shown = output.trim() ? output.trim() : '(no output)';
      const text = `${command.trim()}: ${warning ? `${clip(warning)} — ` : ''}${clip(shown)}`;
      const pick = await (warning ? d.window.showWarningMessage(text, SHOW_LOG) : d.window.showInformationMessage(text, SHOW_LOG));
      if (pick === SHOW_LOG) d.log.show();
    }),
    'gatewayWarden.killWorker': guarded('Could not kill the worker', async (arg) => {
      const ref = refOf(arg);
      let w: WorkerView | undefined;
      let sessionId: string | undefined;
      if (ref?.kind === 'worker') {
        sessionId = ref.sessionId;
        // The worker the row showed, not the session's latest: the click named that one.
        const latest = d.model.get(ref.sessionId)?.worker;
        w = latest && latest.pid === ref.pid && latest.startTime === ref.startTime ? latest : { pid: ref.pid, startTime: ref.startTime, pgid: ref.pgid, state: '?', startedAt: Date.now() };
      } else {
        const withWorkers = d.model.list().filter((s) => s.worker);
        const s = await pickSession(undefined, 'Worker to kill', withWorkers, true);
        if (!s) {
          if (!withWorkers.length) await d.window.showInformationMessage('There are no workers running.');
          return;
        }
        sessionId = s.sessionId;
        w = s.worker;
      }
      if (!w || !sessionId) return;
      const r = await d.killWorker(sessionId, w);
      d.log.info(`kill worker ${w.pid}: ${r.message}`);
      if (!r.ok) await d.window.showWarningMessage(`Worker ${w.pid}: ${r.message}`);
      d.refreshView();
    }),
    'gatewayWarden.killProcess': guarded('Could not kill the process', async (arg) => {
      // A row of the gateway's process tree (the command backend's program and its descendants,
      // a stale hermes worker): the gateway ends it and its subtree, after checking it is still
      // that process and one of its own (process.kill).
      let ref = refOf(arg);
      if (ref?.kind !== 'process' || !ref.pid) {
        // No row: the user picks one of the rows that offer Kill Process (package.json's rule),
        // always, even a single one: this ends processes.
        const killable = (d.rows?.() ?? []).filter((n) => n.ref.kind === 'process' && n.ref.pid && KILLABLE.test(n.contextValue));
        if (!killable.length) {
          await d.window.showInformationMessage('There is no process to kill: Kill Process works on a command backend\'s program and its processes, and on a stale hermes worker, while the gateway runs.');
          return;
        }
        const items: (QuickPickItem & { n: TreeNode })[] = killable.map((n) => ({ label: n.label, description: n.description, n }));
        ref = (await d.window.showQuickPick(items, { placeHolder: 'Process to kill (with everything it started)' }))?.n.ref;
        if (ref?.kind !== 'process') return; // cancelled
      }
      if (!isRunning()) throw new Error(`the gateway is not running (${d.gateway.current.state}).`);
      const what = ref.role === 'staleWorker' ? `stale worker ${ref.pid}` : ref.role === 'program' ? `program ${ref.pid}` : `process ${ref.pid}`;
      const r = await d.gateway.request<{ killed?: unknown; survivors?: unknown; elapsedMs?: unknown }>('process.kill', { pid: ref.pid, startTime: ref.startTime }, 15_000);
      const survivors = Array.isArray(r?.survivors) ? r.survivors.filter((x) => typeof x === 'number') : [];
      if (r?.killed === true) {
        d.log.info(`kill ${what}: it and everything below it ended${typeof r.elapsedMs === 'number' ? ` in ${Math.round(r.elapsedMs)} ms` : ''}`);
      } else {
        const message = `Kill ${what}: ${survivors.length ? `still alive after the teardown: ${survivors.join(', ')}` : 'the gateway did not confirm it ended'}`;
        d.log.warn(message);
        if ((await d.window.showWarningMessage(message, SHOW_LOG)) === SHOW_LOG) d.log.show();
      }
      d.refreshView();
    }),
    'gatewayWarden.clearOrphans': guarded('Could not clear orphaned processes', async (arg) => {
      const ref = refOf(arg);
      await d.clearOrphans(ref?.kind === 'orphan' ? ref.pid : undefined);
    }),
    'gatewayWarden.refresh': guarded('Could not refresh', async () => {
      // Orphans that exited by themselves must not stay listed until the next clear.
      await Promise.all([resync(), d.rescanOrphans?.()]);
      d.refreshView();
    }),
    'gatewayWarden.showLog': async () => d.log.show(),
    'gatewayWarden.copyDiagnosticsReport': guarded('Could not make the diagnostics report', async () => {
      if (!d.copyReport) throw new Error('the report is not available in this build');
      await d.copyReport();
    }),
  };
}

/** Commands invoked from the tree get the TreeNode; from the palette, nothing. */
function refOf(arg: unknown): NodeRef | undefined {
  const n = arg as TreeNode | undefined;
  return n && typeof n === 'object' && n.ref && typeof n.ref === 'object' ? n.ref : undefined;
}
