// Windows: the process table from ONE CIM query (Win32_Process) — the whole table, or a few pids
// through a WQL filter — printed by PowerShell as one JSON array, so command lines with quotes,
// tabs or non-ASCII text come through intact. The script goes in -EncodedCommand (UTF-16LE,
// base64): no quoting rules of cmd.exe or PowerShell apply to it. Start times are milliseconds
// since the epoch of the creation time; Windows has no process groups, uids or zombies.
import { execFile, execFileSync } from 'node:child_process';
import type { PidLook, ProcessInfo, ProcessList, ProcessSource } from './processSource';

const TOOL_TIMEOUT_MS = 15_000;
const MAX_OUTPUT = 64 * 1024 * 1024;
/** Windows start times are unique across boots (wall-clock milliseconds): one boot id for all. */
export const WINDOWS_BOOT_ID = 'windows';

/** The PowerShell script of one query: every process, or only these pids. */
export function cimScript(pids?: readonly number[]): string {
  const filter = pids ? ` -Filter '${pids.map((p) => `ProcessId=${Math.trunc(p)}`).join(' OR ')}'` : '';
  return [
    "$ErrorActionPreference = 'Stop'",
    '[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false',
    `$rows = @(Get-CimInstance -ClassName Win32_Process${filter} | ForEach-Object {`,
    '  [pscustomobject]@{ pid = $_.ProcessId; ppid = $_.ParentProcessId; name = $_.Name; cmd = $_.CommandLine;',
    '    start = $(if ($_.CreationDate) { ([DateTimeOffset]$_.CreationDate).ToUnixTimeMilliseconds() } else { $null }) } })',
    'ConvertTo-Json -Compress -Depth 2 -InputObject $rows',
  ].join('\n');
}

export function powershellArgs(pids?: readonly number[]): string[] {
  return ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', Buffer.from(cimScript(pids), 'utf16le').toString('base64')];
}

interface CimRow {
  pid?: unknown;
  ppid?: unknown;
  name?: unknown;
  cmd?: unknown;
  start?: unknown;
}

/** Parses the query's JSON array; undefined when the output is not one (then it proves nothing). */
export function parseCimTable(text: string): ProcessList | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, '').trim());
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const rows: ProcessInfo[] = [];
  let why: string | undefined;
  for (const r of parsed as CimRow[]) {
    const ok = r !== null && typeof r === 'object' && Number.isSafeInteger(r.pid) && Number.isSafeInteger(r.ppid);
    if (!ok) {
      why ??= `unexpected CIM row ${JSON.stringify(r).slice(0, 120)}`;
      continue;
    }
    const name = typeof r.name === 'string' ? r.name : '';
    rows.push({
      pid: r.pid as number,
      ppid: r.ppid as number,
      // System Idle Process (pid 0) has no creation time.
      startTime: Number.isSafeInteger(r.start) ? (r.start as number) : undefined,
      name,
      // Null for processes of other users (and protected ones): their command line is hidden.
      cmdline: typeof r.cmd === 'string' ? r.cmd : '',
    });
  }
  return why === undefined ? { rows, complete: true } : { rows, complete: false, why };
}

/** What one query proves: its table, or why it proves nothing. */
export type CimRun = { table: ProcessList } | { failed: string };

export function judgeCimRun(error: unknown, stdout: string): CimRun {
  const err = error as (NodeJS.ErrnoException & { signal?: string | null }) | null | undefined;
  if (err) {
    if (typeof err.code === 'string') return { failed: `PowerShell did not run: ${err.code}: ${err.message}` };
    return { failed: err.signal ? `PowerShell was killed by ${err.signal}` : `PowerShell/CIM failed: ${err.message}` };
  }
  const table = parseCimTable(stdout);
  return table ? { table } : { failed: `PowerShell printed no process list: ${JSON.stringify(stdout.slice(0, 120))}` };
}

/** The looks at `pids` a filtered query gives: listed (found), not listed (gone), or unknown. */
export function looksFromCim(pids: readonly number[], run: CimRun): Map<number, PidLook> {
  const out = new Map<number, PidLook>();
  for (const pid of pids) {
    if ('failed' in run) out.set(pid, { state: 'unknown', why: run.failed });
    else {
      const info = run.table.rows.find((r) => r.pid === pid);
      if (info) out.set(pid, { state: 'found', info });
      else if (run.table.complete) out.set(pid, { state: 'gone', why: `no process ${pid}` });
      else out.set(pid, { state: 'unknown', why: run.table.why ?? 'incomplete CIM output' });
    }
  }
  return out;
}

const options = { encoding: 'utf8' as const, windowsHide: true, timeout: TOOL_TIMEOUT_MS, maxBuffer: MAX_OUTPUT };

function querySync(pids?: readonly number[]): CimRun {
  try {
    return judgeCimRun(null, execFileSync('powershell.exe', powershellArgs(pids), { ...options, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch (e) {
    return judgeCimRun(e, '');
  }
}

function query(pids?: readonly number[]): Promise<CimRun> {
  return new Promise((resolve) => {
    const child = execFile('powershell.exe', powershellArgs(pids), options, (err, stdout) => {
      const run = judgeCimRun(err, String(stdout));
      // The PowerShell we just ran is not part of the table.
      if ('table' in run) run.table.rows = run.table.rows.filter((r) => r.pid !== child.pid);
      resolve(run);
    });
  });
}

const listed = (run: CimRun): ProcessList => ('table' in run ? run.table : { rows: [], complete: false, why: run.failed });

export const windowsSource: ProcessSource = {
  list: async () => listed(await query()),
  listSync: () => listed(querySync()),
  look: async (pids) => (pids.length ? looksFromCim(pids, await query(pids)) : new Map()),
  lookSync: (pids) => (pids.length ? looksFromCim(pids, querySync(pids)) : new Map()),
  bootId: () => WINDOWS_BOOT_ID,
};
