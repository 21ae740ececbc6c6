// The diagnostics report as Markdown, for a bug report: short tables for versions and settings,
// the process trees and orphans as the CLI prints them (the same tables, core/format.ts) in code blocks. It
// renders ReportData, which buildReport has already redacted.
import { describeNotCorroborated, Orphan } from '../orphans';
import { formatBytes, formatCpuTime, formatDuration, renderTable, truncate } from '../format';
import { formatFingerprint } from '../fingerprint';
import { REDACTED } from './redact';
import type { ReportData, ReportHost } from './reportData';

/** Wide enough that command lines are shown whole in most cases (a report is not a terminal). */
const WIDTH = 240;

/** A host's command line (VS Code's extension host: long, and the same for every user) is cut here. */
const HOST_COMMAND_CHARS = 300;

export const REPORT_TITLE = '# Gateway Warden diagnostics report';

/** A row of a process tree, as `status` and the report list them. */
export interface TreeRow {
  pid: number;
  depth: number;
  ageMs?: number | null;
  rss?: number | null;
  rssBytes?: number | null;
  role?: string | null;
  sessionId?: string | null;
  command: string;
  state?: string | null;
  cpuMs?: number | null;
}

/** `status`'s table (PID AGE MEMORY ROLE SESSION COMMAND); with `stateAndCpu`, STATE and CPU after PID. */
export function renderProcessTree(rows: readonly TreeRow[], opts: { stateAndCpu?: boolean; width?: number } = {}): string {
  const header = opts.stateAndCpu ? ['PID', 'STATE', 'AGE', 'CPU', 'MEMORY', 'ROLE', 'SESSION', 'COMMAND'] : ['PID', 'AGE', 'MEMORY', 'ROLE', 'SESSION', 'COMMAND'];
  return renderTable(
    header,
    rows.map((p) => {
      const rss = p.rssBytes ?? p.rss ?? undefined;
      const base = [`${'  '.repeat(p.depth)}${p.pid}`, formatDuration(p.ageMs), formatBytes(rss), p.role ?? '', p.sessionId ?? '', p.command];
      return opts.stateAndCpu ? [base[0], p.state ?? '?', base[1], formatCpuTime(p.cpuMs), ...base.slice(2)] : base;
    }),
    opts.width,
  );
}

/** `orphans`' table (PID AGE MEMORY REASON COMMAND, each orphan's descendants below it) and its one-line total. */
export function renderOrphanTable(orphans: readonly Orphan[], width?: number): { table: string; total: string } {
  const rows: string[][] = [];
  let count = 0;
  let bytes = 0;
  for (const o of orphans) {
    rows.push([String(o.pid), formatDuration(o.ageMs), formatBytes(o.rss), o.reason, o.command]);
    count++;
    bytes += o.rss ?? 0;
    for (const d of o.descendants) {
      rows.push([`└ ${d.pid}`, formatDuration(d.ageMs), formatBytes(d.rss), 'descendant', d.command]);
      count++;
      bytes += d.rss ?? 0;
    }
  }
  return { table: renderTable(['PID', 'AGE', 'MEMORY', 'REASON', 'COMMAND'], rows, width), total: `${orphans.length} orphan(s), ${count} process(es), ${formatBytes(bytes)} resident` };
}

export function renderReportMarkdown(r: ReportData): string {
  const out: string[] = [REPORT_TITLE, ''];
  out.push(
    `Generated ${r.generatedAt} by ${r.generatedBy === 'cli' ? '`gateway-warden report`' : 'the extension ("Gateway Warden: Copy Diagnostics Report")'}. ` +
    `Tokens, environment values and secret-looking arguments are replaced by \`${REDACTED}\`; check before you paste.`,
    '',
  );

  out.push('## Versions', '', '| Component | Version |', '|---|---|');
  out.push(`| Gateway Warden | ${cell(r.versions.extension ?? 'unknown')} |`);
  out.push(`| VS Code | ${cell(r.versions.vscode ?? 'not in VS Code (made by the CLI)')} |`);
  out.push(`| Node | ${cell(r.versions.node)} |`, `| OS | ${cell(r.versions.os)} |`, `| Kernel | ${cell(r.versions.kernel)} |`, '');

  out.push('## Settings', '', r.settings.source, '');
  if (r.settings.backend) out.push(`Backend: \`${r.settings.backend}\``, '');
  if (r.settings.entries.length) {
    out.push('| Setting | Value |', '|---|---|');
    for (const e of r.settings.entries) out.push(`| ${cell(e.key)} | ${cell(e.value)} |`);
    out.push('');
  }
  for (const p of r.settings.problems) out.push(`- ${p}`);
  if (r.settings.problems.length) out.push('');

  out.push('## Containment', '');
  out.push(`- cgroup v2 here: **${r.containment.cgroupV2}** — ${r.containment.detail}`);
  for (const g of r.containment.gateways) {
    out.push(g.contained
      ? `- gateway ${g.pid}: contained in cgroup \`${g.cgroup}\` (cgroup.kill takes its sessions down whole)`
      : `- gateway ${g.pid}: not in a cgroup of ours${g.cgroup ? ` (\`${g.cgroup}\`)` : ''} — guarded by ${r.containment.fallback}`);
  }
  if (!r.containment.gateways.length) out.push(`- without cgroups a gateway is guarded by ${r.containment.fallback}`);
  if (r.containment.trees.length) {
    out.push('', fenced(renderTable(['CGROUP', 'GATEWAY', 'OWNER', 'MEMBERS', 'LEAVES', 'MEMORY', 'MEMORY.MAX'], r.containment.trees.map((t) => [
      t.name, String(t.gatewayPid), t.owner, String(t.members ?? '?'), String(t.leaves),
      formatBytes(t.memoryBytes ?? undefined), t.memoryMax === null ? '-' : t.memoryMax === 'max' ? 'max' : formatBytes(t.memoryMax),
    ]), WIDTH)));
  }
  out.push('', `Caps: max sessions ${r.caps.maxSessions ?? '—'}, max live workers ${r.caps.maxWorkers ?? '—'} (${r.caps.source}).`, '');

  if (r.live) {
    const l = r.live;
    out.push('## Gateway (this window)', '');
    out.push(`State: **${l.gateway.state}**${l.gateway.pid !== null ? `, pid ${l.gateway.pid}` : ''}${l.gateway.message ? ` — ${l.gateway.message}` : ''}`);
    if (l.backend) {
      out.push(`Backend program (${l.backend.name}): ${l.backend.state}${l.backend.pid !== null ? `, pid ${l.backend.pid}` : ''}${l.backend.program ? `, \`${l.backend.program}\`` : ''}${l.backend.error ? ` — ${l.backend.error}` : ''}`);
    }
    out.push('', `Sessions: ${l.sessions.length}`);
    if (l.sessions.length) {
      out.push('', fenced(renderTable(['SESSION', 'LABEL', 'CLIENT', 'AGE', 'WORKER', 'STATE', 'IDLE', 'NOTE'], l.sessions.map((s) => [
        s.sessionId, s.label ?? '', s.client ?? '', formatDuration(s.ageMs ?? undefined),
        s.worker ? String(s.worker.pid) : '-', s.worker ? `${s.worker.state}${s.worker.busy ? ' (busy)' : ''}` : '',
        s.worker?.idleMs !== null && s.worker?.idleMs !== undefined ? formatDuration(s.worker.idleMs) : '',
        [s.evicted ? `worker ${s.evicted.pid} stopped (${s.evicted.reason}) ${formatDuration(s.evicted.agoMs)} ago` : '', s.agentError ? `error: ${s.agentError}` : ''].filter(Boolean).join('; '),
      ]), WIDTH)));
    }
    if (l.staleWorkers.length) {
      out.push('', 'Stale workers (their session is gone):', '');
      for (const w of l.staleWorkers) out.push(`- ${w.pid}${w.sessionKey ? ` (${w.sessionKey})` : ''}, stale for ${formatDuration(w.staleForMs)}${w.command ? `: \`${w.command}\`` : ''}`);
    }
    out.push('');
  }

  out.push('## Live hosts and their processes', '');
  if (!r.hosts.length) out.push('No live Gateway Warden host found.', '');
  for (const h of r.hosts) out.push(...hostSection(h));

  out.push('## Orphans', '');
  if (!r.orphans.length) {
    out.push('No orphans found.', '');
  } else {
    const { table, total } = renderOrphanTable(r.orphans, WIDTH);
    out.push(fenced(table), '');
    out.push(`${total}. Why each is an orphan:`, '');
    for (const o of r.orphans) out.push(`- ${o.pid}: ${o.reasonText}${o.checkpointFile ? ` (checkpoint \`${o.checkpointFile}\`)` : ''}`);
    out.push('');
  }

  out.push('## Problems', '');
  const problems = [...r.problems, ...r.notCorroborated.map(describeNotCorroborated)];
  if (!problems.length) out.push('None: every checkpoint was readable and every record borne out.');
  for (const p of problems) out.push(`- ${p}`);
  out.push('', `Scan: ${r.scan.processes} processes in ${r.scan.scanMs} ms, ${r.scan.checkpoints} checkpoint(s), detection ${r.scan.detectMs} ms.`);
  out.push(`Checkpoint directories: ${r.checkpointDirs.length ? r.checkpointDirs.map((d) => `${d.editor} \`${d.dir}\``).join(', ') : 'none found'}.`, '');

  out.push('## Log (last 200 lines)', '', r.log.source, '');
  if (r.log.lines?.length) out.push(fenced(r.log.lines.join('\n')), '');
  return out.join('\n');
}

function hostSection(h: ReportHost): string[] {
  const out = [`### Host ${formatFingerprint(h.owner)}${h.thisWindow ? ' (this window)' : ''}`, ''];
  if (h.command) out.push(`Command: \`${inline(truncate(h.command, HOST_COMMAND_CHARS))}\``);
  if (h.checkpointFile) out.push(`Checkpoint: \`${h.checkpointFile}\``);
  for (const g of h.gateways) {
    out.push(`Gateway ${g.pid}: backend ${g.backend ?? 'unknown (not our gateway program)'}; caps: max sessions ${g.maxSessions ?? '?'}, max workers ${g.maxWorkers ?? '?'} (from ${g.capsFrom})`);
  }
  out.push('');
  if (!h.processes.length) {
    out.push('(no processes)', '');
    return out;
  }
  out.push(fenced(renderProcessTree(h.processes, { stateAndCpu: true, width: WIDTH })), '');
  out.push(`Totals: ${h.totals.processes} process(es), ${formatBytes(h.totals.rssBytes)} resident, ${formatCpuTime(h.totals.cpuMs)} CPU.`, '');
  return out;
}

/** A fenced code block whose fence is longer than any run of backticks inside. */
function fenced(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${text}\n${fence}`;
}

/** A Markdown table cell: one line, pipes escaped. */
function cell(s: string): string {
  return inline(s).replace(/\|/g, '\\|');
}

function inline(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/`/g, "'");
}
