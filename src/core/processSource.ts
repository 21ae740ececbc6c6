// The process table as each platform gives it (vscode-js-debug's processTree layout): one
// interface, one file per platform, each with a parser tested on recorded output so the macOS
// and Windows logic runs in Linux CI too; processTable.ts picks the one for this platform.
//   Linux   processSourceLinux.ts    /proc, read synchronously (a handful of small reads)
//   macOS   processSourceDarwin.ts   ONE `ps -A -o pid,ppid,pgid,uid,stat,lstart,args`
//   Windows processSourceWindows.ts  ONE CIM query (Win32_Process) through PowerShell
// Every read says what a failure proves (death needs proof): a row, proof that the pid is gone
// (ENOENT/ESRCH, or a tool that ran and did not list it), or "unknown" (EMFILE, a tool that could
// not be spawned, timed out or printed something else) — which is never read as death.
import { childProcess } from './childProcess';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Process group id; undefined where the platform has none (Windows). */
  pgid?: number;
  /** Session id (Linux; the teardown engine's marker rule). */
  sid?: number;
  /** Undefined where the platform has none (Windows) or the read was lean. */
  uid?: number;
  /** Same unit as Fingerprint.startTime on this platform (undefined when unknown). */
  startTime?: number;
  /** Linux /proc state letter (Z zombie, X dead) or macOS `ps` STAT (Z… zombie); none on Windows. */
  state?: string;
  /** Short name (comm on Linux, the program's base name elsewhere). */
  name: string;
  /** Full command line, arguments joined by spaces ('' where the platform hides it). */
  cmdline: string;
  /** The arguments as the process holds them (Linux); elsewhere only `cmdline` is known. */
  argv?: string[];
  /** GATEWAY_WARDEN_OWNER from the environment (Linux, same uid only). */
  owner?: string;
  /** Resident memory in bytes, when known. */
  rss?: number;
  /** CPU time used so far (user + system), in clock ticks (Linux). */
  cpuTicks?: number;
}

export interface ListOptions {
  /**
   * Only what one cheap read per process gives: on Linux /proc/PID/stat (pid, ppid, pgid,
   * state, start time, comm — no uid, command line, marker or memory). Elsewhere the one tool
   * call gives everything anyway. For membership scans polled during a teardown.
   */
  lean?: boolean;
  /** Linux: read the owner marker from /proc/PID/environ (default true). */
  readOwner?: boolean;
  /** Linux: read resident memory (default false: one more file per process). */
  readMemory?: boolean;
}

export interface ProcessList {
  rows: ProcessInfo[];
  /** False when some process could not be read (or the tool failed): absence proves nothing then. */
  complete: boolean;
  /** Why it is incomplete. */
  why?: string;
}

/** One pid, looked at now. */
export type PidLook =
  | { state: 'found'; info: ProcessInfo }
  /** Proof that no process has this pid. */
  | { state: 'gone'; why: string }
  /** The look failed in a way that proves nothing. */
  | { state: 'unknown'; why: string };

export interface ProcessSource {
  /** Every process, in one call (one pass over /proc, one `ps`, one CIM query). */
  list(opts?: ListOptions): Promise<ProcessList>;
  /** The same, blocking: for kill paths and exit handlers, where timers may never fire. */
  listSync(opts?: ListOptions): ProcessList;
  /**
   * These pids, in one call. Rows carry what that call gives: on Linux the /proc/PID/stat
   * fields only (no uid, command line or owner); on macOS every `ps` column.
   */
  look(pids: readonly number[]): Promise<Map<number, PidLook>>;
  lookSync(pids: readonly number[]): Map<number, PidLook>;
  /** What tells this boot's start times from another's; undefined while it cannot be read. */
  bootId(): string | undefined;
}

/** Whether a process state is a live one (not a zombie or dead task). Windows rows have none. */
export function isLiveState(state: string | undefined): boolean {
  return state === undefined || !(state.startsWith('Z') || state.startsWith('X'));
}

/** A program that prints the whole process table, or the rows of some pids (`ps`, PowerShell). */
export interface TableTool {
  /** For messages: 'ps', 'PowerShell/CIM'. */
  name: string;
  command: string;
  args(pids?: readonly number[]): string[];
  env?(): NodeJS.ProcessEnv;
  /** Exit statuses after which the output is still a table (ps exits 1 when no -p pid exists). */
  okStatuses: readonly number[];
  /** The table in its output; undefined when the output is not one. */
  parse(stdout: string): ProcessList | undefined;
}

/** What one run of a table tool proves: its table, or why it proves nothing. */
export type ToolRun = { table: ProcessList } | { failed: string };

/** A tool run gets this long; a timeout proves nothing about any process. */
const TOOL_TIMEOUT_MS = 15_000;
const MAX_TOOL_OUTPUT = 64 * 1024 * 1024;

/** Judges a finished run: a table only from a tool that ran to an accepted exit and printed one. */
export function judgeRun(tool: TableTool, error: unknown, stdout: string): ToolRun {
  const err = error as (NodeJS.ErrnoException & { status?: number | null; signal?: string | null }) | null | undefined;
  if (err) {
    // A string code: not spawned (EAGAIN, EMFILE, ENOENT), timed out, output too large.
    if (typeof err.code === 'string') return { failed: `${tool.name} did not run: ${err.code}: ${err.message}` };
    if (err.signal) return { failed: `${tool.name} was killed by ${err.signal}` };
    const status = err.status ?? (err as { code?: unknown }).code; // execFileSync: status; execFile: code
    if (typeof status !== 'number' || !tool.okStatuses.includes(status)) return { failed: `${tool.name} exited ${String(status)}` };
  }
  const table = tool.parse(stdout);
  return table ? { table } : { failed: `${tool.name} printed no process table: ${JSON.stringify(stdout.slice(0, 120))}` };
}

/** The looks at `pids` one run gives: listed (found), not listed by a complete table (gone), else unknown. */
export function looksFromRun(tool: TableTool, pids: readonly number[], run: ToolRun): Map<number, PidLook> {
  const out = new Map<number, PidLook>();
  for (const pid of pids) {
    const info = 'table' in run ? run.table.rows.find((r) => r.pid === pid) : undefined;
    if (info) out.set(pid, { state: 'found', info });
    else if ('failed' in run) out.set(pid, { state: 'unknown', why: run.failed });
    else if (run.table.complete) out.set(pid, { state: 'gone', why: `${tool.name} lists no process ${pid}` });
    else out.set(pid, { state: 'unknown', why: run.table.why ?? `incomplete ${tool.name} output` });
  }
  return out;
}

/** A process source where each list or look is ONE run of `tool`, blocking or not. */
export function toolSource(tool: TableTool, boot: { id(): string | undefined; load?(): Promise<void> }): ProcessSource {
  const options = () => ({ encoding: 'utf8' as const, env: tool.env?.(), windowsHide: true, timeout: TOOL_TIMEOUT_MS, maxBuffer: MAX_TOOL_OUTPUT });
  const runSync = (pids?: readonly number[]): ToolRun => {
    try {
      return judgeRun(tool, null, childProcess().execFileSync(tool.command, tool.args(pids), { ...options(), stdio: ['ignore', 'pipe', 'ignore'] }));
    } catch (e) {
      return judgeRun(tool, e, String((e as { stdout?: unknown }).stdout ?? ''));
    }
  };
  const run = (pids?: readonly number[]) => new Promise<ToolRun>((resolve) => {
    try {
      const child = childProcess().execFile(tool.command, tool.args(pids), options(), (err, stdout) => {
        const r = judgeRun(tool, err, String(stdout));
        if ('table' in r) r.table.rows = r.table.rows.filter((p) => p.pid !== child.pid); // not the tool itself
        resolve(r);
      });
    } catch (e) {
      resolve(judgeRun(tool, e, '')); // spawn can throw (ENOMEM, …): that proves nothing either
    }
  });
  const listed = (r: ToolRun): ProcessList => ('table' in r ? r.table : { rows: [], complete: false, why: r.failed });
  return {
    list: async () => listed((await Promise.all([run(), boot.load?.()]))[0]),
    listSync: () => listed(runSync()),
    look: async (pids) => (pids.length ? looksFromRun(tool, pids, (await Promise.all([run(pids), boot.load?.()]))[0]) : new Map()),
    lookSync: (pids) => (pids.length ? looksFromRun(tool, pids, runSync(pids)) : new Map()),
    bootId: boot.id,
  };
}
