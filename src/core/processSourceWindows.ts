// Windows: the process table from ONE CIM query (Win32_Process) — the whole table, or a few pids
// through a WQL filter — printed by PowerShell as one JSON array, so command lines with quotes,
// tabs or non-ASCII text come through intact. The script goes in -EncodedCommand (UTF-16LE,
// base64): no quoting rules of cmd.exe or PowerShell apply to it. Start times are milliseconds
// since the epoch of the creation time; Windows has no process groups, uids or zombies.
import { type ProcessInfo, type ProcessList, type TableTool, toolSource } from './processSource';

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
  for (const r of parsed as { pid?: unknown; ppid?: unknown; name?: unknown; cmd?: unknown; start?: unknown }[]) {
    if (r === null || typeof r !== 'object' || !Number.isSafeInteger(r.pid) || !Number.isSafeInteger(r.ppid)) {
      why ??= `unexpected CIM row ${JSON.stringify(r).slice(0, 120)}`;
      continue;
    }
    rows.push({
      pid: r.pid as number,
      ppid: r.ppid as number,
      // System Idle Process (pid 0) has no creation time.
      startTime: Number.isSafeInteger(r.start) ? (r.start as number) : undefined,
      name: typeof r.name === 'string' ? r.name : '',
      // Null for processes of other users (and protected ones): their command line is hidden.
      cmdline: typeof r.cmd === 'string' ? r.cmd : '',
    });
  }
  return why === undefined ? { rows, complete: true } : { rows, complete: false, why };
}

export const CIM: TableTool = {
  name: 'PowerShell/CIM',
  command: 'powershell.exe',
  args: (pids) => ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', Buffer.from(cimScript(pids), 'utf16le').toString('base64')],
  okStatuses: [0],
  parse: parseCimTable,
};

export const windowsSource = toolSource(CIM, { id: () => WINDOWS_BOOT_ID });
