// macOS: the process table from ONE `ps` call — the whole table (`-A`) or a few pids (`-p`),
// always the same columns, so one parser reads both. LC_ALL=C fixes lstart's format
// ("Mon Jan  2 15:04:05 2006", local time, 1 s resolution) whatever the user's locale; `-ww`
// keeps long command lines whole. procps `ps` on Linux prints the same format, which is how the
// tests run this file against a real `ps`.
import { childProcess } from './childProcess';
import { posix } from 'node:path';
import { type ProcessInfo, type ProcessList, type TableTool, toolSource } from './processSource';

const COLUMNS = 'pid,ppid,pgid,uid,stat,lstart,args';
const HEADER = /^\s*PID\s+PPID\s+PGID\s+UID\s+STAT\s+STARTED\s+COMMAND\s*$/;
const ROW = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(-?\d+)\s+(\S+)\s+([A-Z][a-z]{2} +[A-Z][a-z]{2} +\d{1,2} +\d\d:\d\d:\d\d +\d{4})(?:\s+(.*))?$/;

/**
 * Parses `ps -o pid,ppid,pgid,uid,stat,lstart,args` output. Without the header line the output
 * is not a table (ps printed an error, or nothing): undefined. A row that does not parse makes
 * the table incomplete rather than being guessed at.
 */
export function parsePsTable(text: string): ProcessList | undefined {
  const lines = text.split('\n');
  if (!HEADER.test(lines[0] ?? '')) return undefined;
  const rows: ProcessInfo[] = [];
  let why: string | undefined;
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const m = ROW.exec(line);
    const ms = m ? Date.parse(m[6].replace(/ +/g, ' ')) : NaN;
    if (!m || !Number.isFinite(ms)) {
      why ??= `cannot parse ps row ${JSON.stringify(line.slice(0, 120))}`;
      continue;
    }
    const cmdline = (m[7] ?? '').trim();
    rows.push({
      pid: Number(m[1]),
      ppid: Number(m[2]),
      pgid: Number(m[3]),
      uid: Number(m[4]),
      state: m[5],
      startTime: Math.round(ms / 1000),
      name: posix.basename(cmdline.split(' ')[0] ?? ''),
      cmdline,
    });
  }
  return why === undefined ? { rows, complete: true } : { rows, complete: false, why };
}

export const PS: TableTool = {
  name: 'ps',
  command: 'ps',
  args: (pids) => ['-ww', ...(pids ? ['-p', pids.join(',')] : ['-A']), '-o', COLUMNS],
  env: () => ({ ...process.env, LC_ALL: 'C' }),
  okStatuses: [0, 1],
  parse: parsePsTable,
};

/** kern.boottime's seconds: the boot id of start times on macOS. */
export function parseBootTime(text: string): string | undefined {
  return /\bsec = (\d+)/.exec(text)?.[1];
}

// Stable for the whole boot, so read once (a failure is not kept: the next look retries).
let bootTime: string | undefined;
const SYSCTL = ['sysctl', ['-n', 'kern.boottime'], { encoding: 'utf8', timeout: 15_000 }] as const;

export const darwinSource = toolSource(PS, {
  id() {
    try {
      bootTime ??= parseBootTime(childProcess().execFileSync(...SYSCTL));
    } catch {
      // unknown for now
    }
    return bootTime;
  },
  load: () => new Promise((resolve) => {
    if (bootTime !== undefined) resolve();
    else childProcess().execFile(...SYSCTL, (err, stdout) => resolve(void (bootTime ??= err ? undefined : parseBootTime(String(stdout)))));
  }),
});
