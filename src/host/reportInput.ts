// What the extension host adds to the diagnostics report (core/report/): the effective settings,
// the caps, and the live model of this window's gateway — plain data, no VS Code. ui/ adds
// VS Code's version and the log, and hands all of it to core's buildReport.
import { displayArgv } from '../core/argvText';
import type { ReportInput, ReportLive, ReportSetting } from '../core/report/reportData';
import type { GatewayModel } from './gatewayModel';
import type { WardenSettings } from './settings';
import type { GatewayStatus } from './supervisor';

const S = 'gatewayWarden.';

/** The effective settings, by their setting ids (the values in force, after validation). */
export function reportSettings(s: WardenSettings, problems: readonly string[]): NonNullable<ReportInput['settings']> {
  const entries: ReportSetting[] = [
    { key: `${S}gateway.backend`, value: s.backend },
    { key: `${S}gateway.command`, value: s.gatewayCommand ?? '(none: the built-in gateway)' },
    // Arguments as one command line: the redactor judges each one (flags, KEY=value, tokens).
    { key: `${S}gateway.args`, value: s.gatewayArgs.length ? displayArgv(s.gatewayArgs[0], s.gatewayArgs.slice(1)) : '(none)' },
    { key: `${S}gateway.cwd`, value: s.gatewayCwd ?? '(the gateway\'s own)' },
    { key: `${S}autoStart`, value: String(s.autoStart) },
    { key: `${S}worker.idleTimeoutMinutes`, value: String(s.timeouts.workerIdleTimeoutMs / 60_000) },
    { key: `${S}watchdog.pollMs`, value: String(s.timeouts.pollMs) },
    { key: `${S}shutdown.graceMs`, value: String(s.timeouts.shutdownGraceMs) },
    { key: `${S}limits.maxSessions`, value: String(s.maxSessions) },
    { key: `${S}limits.maxWorkers`, value: String(s.maxWorkers) },
    { key: `${S}limits.workerMemoryMB`, value: s.workerMemoryMB ? String(s.workerMemoryMB) : '0 (off)' },
    { key: `${S}orphans.scanOnStartup`, value: String(s.scanOrphansOnStartup) },
    { key: `${S}orphans.extraPatterns`, value: s.extraOrphanPatterns.length ? JSON.stringify(s.extraOrphanPatterns) : '(none)' },
    { key: `${S}alerts.intervalMinutes`, value: s.alertIntervalMs ? String(s.alertIntervalMs / 60_000) : '0 (alerts off)' },
    { key: `${S}alerts.totalMemoryMB`, value: String(s.alertTotalMemoryBytes / (1024 * 1024)) },
  ];
  return { backend: s.backend, entries, problems: [...problems] };
}

/** The caps in force: what the running gateway reported at start-up, else the settings. */
export function reportCaps(s: WardenSettings, gateway: GatewayStatus): NonNullable<ReportInput['caps']> {
  const reported = gateway.state === 'running' ? gateway.limits : undefined;
  return {
    maxSessions: reported?.maxSessions ?? s.maxSessions,
    maxWorkers: reported?.maxWorkers ?? s.maxWorkers,
    source: reported?.maxSessions !== undefined || reported?.maxWorkers !== undefined
      ? 'as the running gateway reported them at start-up'
      : 'settings gatewayWarden.limits.*, applied when the gateway starts',
  };
}

/** This window's gateway as the tree sees it: its state, the backend's program, sessions and workers. */
export function reportLive(gateway: GatewayStatus, model: GatewayModel, now = Date.now()): ReportLive {
  const ago = (t: number | undefined) => (t === undefined ? null : Math.max(0, now - t));
  const b = model.backend();
  return {
    gateway: { state: gateway.state, pid: gateway.pid ?? null, message: gateway.error ?? null },
    backend: b ? { name: b.name, state: b.state, pid: b.pid ?? null, program: b.display ?? null, error: b.error ?? b.lastError?.message ?? null } : null,
    sessions: model.list().map((s) => ({
      sessionId: s.sessionId,
      label: s.label ?? null,
      client: s.client ?? null,
      ageMs: ago(s.createdAt),
      worker: s.worker
        ? { pid: s.worker.pid, state: s.worker.state, busy: s.worker.busy === true, ageMs: ago(s.worker.startedAt), idleMs: s.worker.busy ? null : ago(s.worker.lastUsedAt ?? s.worker.startedAt) }
        : null,
      evicted: s.evicted ? { pid: s.evicted.pid, reason: s.evicted.reason, agoMs: ago(s.evicted.at) ?? 0 } : null,
      agentError: s.agent?.error ?? null,
    })),
    staleWorkers: model.staleWorkers().map((w) => ({ pid: w.pid, sessionKey: w.sessionKey ?? null, command: w.command ?? null, staleForMs: ago(w.staleSince) ?? 0 })),
  };
}
