// The process table as each platform gives it (vscode-js-debug's processTree layout): one
// interface, one file per platform, each with a parser tested on recorded output so the macOS
// and Windows logic runs in Linux CI too.
// processTable.ts picks the one for this platform.
//   Linux   processSourceLinux.ts    /proc, read synchronously (a handful of small reads)
//   macOS   processSourceDarwin.ts   ONE `ps -A -o pid,ppid,pgid,uid,stat,lstart,args`
//   Windows processSourceWindows.ts  ONE CIM query (Win32_Process) through PowerShell
// Every read says what a failure proves (death needs proof): a row, proof that the pid is gone
// (ENOENT/ESRCH, or a tool that ran and did not list it), or "unknown" (EMFILE, a tool that could
// not be spawned, timed out or printed something else) — which is never read as death.
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Process group id; undefined where the platform has none (Windows). */
  pgid?: number;
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
}

export interface ListOptions {
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
