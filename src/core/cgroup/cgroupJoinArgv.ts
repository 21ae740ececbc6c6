// Starting a program we did not write (hermes, any command) inside one of our cgroup leaves with
// no window in which it could fork outside: a POSIX shell moves itself (`echo $$ > cgroup.procs`)
// and only then execs the program — same pid, same start time, so everything the program ever
// starts is born in the leaf. The program's argv goes through as "$@", never through the shell's
// parser: spaces, quotes, `$`, globs and leading dashes reach it exactly as given. When the move
// fails the program is not run at all: the shell says so on stderr (JOIN_FAILED_NOTE) and exits
// with JOIN_FAILED_EXIT, and the caller reports a start that failed (contained or told).

/** The shell that does the move; present on every Linux we run on. */
export const JOIN_SHELL = '/bin/sh';
/** The wrapper's exit code when the move failed (126/127 are the shell's own: not executable, not found). */
export const JOIN_FAILED_EXIT = 125;
/** Its stderr line then starts with this, followed by the leaf. */
export const JOIN_FAILED_NOTE = 'gateway-warden: cannot join cgroup';

const SCRIPT = `echo $$ > "$1/cgroup.procs" || { echo "${JOIN_FAILED_NOTE} $1" >&2; exit ${JOIN_FAILED_EXIT}; }; shift; exec "$@"`;

/**
 * The argv that runs `command` (its program first) inside `leaf`. A program name with a leading
 * dash goes through `env --`: `exec` of dash takes no `--`, bash's would read the dash as its own
 * option, and env execs it unchanged (the same PATH search, the same argv).
 */
export function joinLeafArgv(leaf: string, command: readonly string[]): string[] {
  if (command.length === 0 || !command[0]) throw new RangeError('no program to run');
  const head = command[0].startsWith('-') ? ['env', '--'] : [];
  return [JOIN_SHELL, '-c', SCRIPT, 'sh', leaf, ...head, ...command];
}

/** Whether an exit (code, stderr tail) is the wrapper's failed move rather than the program's own exit. */
export function isJoinFailure(code: number | null, stderrTail: string): boolean {
  return code === JOIN_FAILED_EXIT && stderrTail.includes(JOIN_FAILED_NOTE);
}
