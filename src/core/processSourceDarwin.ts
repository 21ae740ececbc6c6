// macOS: the process table from ONE `ps` call — the whole table (`-A`) or a few pids (`-p`),
// always the same columns, so one parser reads both. LC_ALL=C fixes lstart's format
// ("Mon Jan  2 15:04:05 2006", local time, 1 s resolution) whatever the user's locale; `-ww`
// keeps long command lines whole. procps `ps` on Linux prints the same format, which is how the
// tests run this file against a real `ps`.
import { execFile, execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { PidLook, ProcessInfo, ProcessList, ProcessSource } from './processSource';

/** A `ps` run gets this long; a timeout proves nothing about any process. */
export const TOOL_TIMEOUT_MS = 15_000;
const MAX_OUTPUT = 64 * 1024 * 1024;
const COLUMNS = 'pid,ppid,pgid,uid,stat,lstart,args';
const HEADER = /^\s*PID\s+PPID\s+PGID\s+UID\s+STAT\s+STARTED\s+COMMAND\s*$/;
const ROW = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(-?\d+)\s+(\S+)\s+([A-Z][a-z]{2} +[A-Z][a-z]{2} +\d{1,2} +\d\d:\d\d:\d\d +\d{4})(?:\s+(.*))?$/;

/** `ps` arguments for the whole table, or for these pids only. */
export function psArgs(pids?: readonly number[]): string[] {
  return ['-ww', ...(pids ? ['-p', pids.join(',')] : ['-A']), '-o', COLUMNS];
}

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
      name: path.posix.basename(cmdline.split(' ')[0] ?? ''),
      cmdline,
    });
  }
  return why === undefined ? { rows, complete: true } : { rows, complete: false, why };
}

/** What one `ps` run proves: its table, or why it proves nothing. */
export type PsRun = { table: ProcessList } | { failed: string };

/**
 * Judges a finished `ps` run. It exits 0, or 1 when a `-p` pid is not there — both with the
 * header; anything else (not spawned, killed, timed out, no header) proves nothing.
 */
export function judgePsRun(error: unknown, stdout: string): PsRun {
  const err = error as (NodeJS.ErrnoException & { status?: number | null; signal?: string | null }) | null | undefined;
  if (err) {
    if (typeof err.code === 'string') return { failed: `ps did not run: ${err.code}: ${err.message}` };
    if (err.signal) return { failed: `ps was killed by ${err.signal}` };
    const status = err.status ?? (err as { code?: unknown }).code;
    if (status !== 1) return { failed: `ps exited ${String(status)}` };
  }
  const table = parsePsTable(stdout);
  return table ? { table } : { failed: `ps printed no table: ${JSON.stringify(stdout.slice(0, 120))}` };
}

/** The looks at `pids` that a `ps -p` run gives: listed (found), not listed (gone), or unknown. */
export function looksFromPs(pids: readonly number[], run: PsRun): Map<number, PidLook> {
  const out = new Map<number, PidLook>();
  for (const pid of pids) {
    if ('failed' in run) {
      out.set(pid, { state: 'unknown', why: run.failed });
      continue;
    }
    const info = run.table.rows.find((r) => r.pid === pid);
    if (info) out.set(pid, { state: 'found', info });
    else if (run.table.complete) out.set(pid, { state: 'gone', why: `ps lists no process ${pid}` });
    else out.set(pid, { state: 'unknown', why: run.table.why ?? 'incomplete ps output' });
  }
  return out;
}

const options = () => ({ encoding: 'utf8' as const, env: { ...process.env, LC_ALL: 'C' }, timeout: TOOL_TIMEOUT_MS, maxBuffer: MAX_OUTPUT });

function runPsSync(pids?: readonly number[]): PsRun {
  try {
    return judgePsRun(null, execFileSync('ps', psArgs(pids), { ...options(), stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch (e) {
    return judgePsRun(e, String((e as { stdout?: unknown }).stdout ?? ''));
  }
}

function runPs(pids?: readonly number[]): Promise<PsRun> {
  return new Promise((resolve) => {
    const child = execFile('ps', psArgs(pids), options(), (err, stdout) => {
      const run = judgePsRun(err, String(stdout));
      // The `ps` we just ran is not part of the table.
      if ('table' in run) run.table.rows = run.table.rows.filter((r) => r.pid !== child.pid);
      resolve(run);
    });
  });
}

const listed = (run: PsRun): ProcessList => ('table' in run ? run.table : { rows: [], complete: false, why: run.failed });

let bootTime: string | undefined;

/** kern.boottime's seconds: stable for the whole boot, so read once (a failure is not kept). */
export function parseBootTime(text: string): string | undefined {
  return /\bsec = (\d+)/.exec(text)?.[1];
}

function bootIdSync(): string | undefined {
  if (bootTime === undefined) {
    try {
      bootTime = parseBootTime(execFileSync('sysctl', ['-n', 'kern.boottime'], { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'] }));
    } catch {
      return undefined;
    }
  }
  return bootTime;
}

function bootIdAsync(): Promise<void> {
  if (bootTime !== undefined) return Promise.resolve();
  return new Promise((resolve) => {
    execFile('sysctl', ['-n', 'kern.boottime'], { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS }, (err, stdout) => {
      if (!err) bootTime ??= parseBootTime(String(stdout));
      resolve();
    });
  });
}

export const darwinSource: ProcessSource = {
  list: async () => listed((await Promise.all([runPs(), bootIdAsync()]))[0]),
  listSync: () => listed(runPsSync()),
  look: async (pids) => (pids.length ? looksFromPs(pids, (await Promise.all([runPs(pids), bootIdAsync()]))[0]) : new Map()),
  lookSync: (pids) => (pids.length ? looksFromPs(pids, runPsSync(pids)) : new Map()),
  bootId: bootIdSync,
};
