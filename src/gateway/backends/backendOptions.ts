// Which backend the gateway runs, and for `hermes` and `command` the program to start:
//   node gateway.js [OPTIONS] [--backend embedded|hermes|command] [--cwd DIR] [--] COMMAND ARGS...
// Read from argv with the gateway's options (options.ts, parseGatewayArgs), kept apart from them so
// the embedded backend's options — and its gateway.status — stay exactly what they were.
import { DEFAULT_TIMEOUTS } from '../../core/timeouts';

export type BackendName = 'embedded' | 'hermes' | 'command';

export const BACKEND_NAMES: readonly BackendName[] = ['embedded', 'hermes', 'command'];

/** hermes-agent's gateway, when `--backend hermes` is given no command. */
export const DEFAULT_HERMES_COMMAND: readonly string[] = ['python3', '-m', 'tui_gateway.entry'];

export interface BackendSpec {
  name: BackendName;
  /** The program to start (hermes, command); empty for embedded. */
  command: string[];
  /** Working directory of the program (default: the gateway's). */
  cwd?: string;
  /** hermes: Timeouts' backendStartTimeoutMs; command: ignored. */
  startTimeoutMs: number;
  /** hermes: Timeouts' staleWorkerGraceMs. */
  staleWorkerGraceMs: number;
}

export const DEFAULT_BACKEND_SPEC: BackendSpec = {
  name: 'embedded',
  command: [],
  startTimeoutMs: DEFAULT_TIMEOUTS.backendStartTimeoutMs,
  staleWorkerGraceMs: DEFAULT_TIMEOUTS.staleWorkerGraceMs,
};

/** The environment variables read here: never passed on to the program (a nested gateway would obey them). */
export const BACKEND_ENV = {
  backend: 'GATEWAY_WARDEN_BACKEND',
  cwd: 'GATEWAY_WARDEN_BACKEND_CWD',
  startTimeoutMs: 'GATEWAY_WARDEN_BACKEND_START_TIMEOUT_MS',
  staleWorkerGraceMs: 'GATEWAY_WARDEN_STALE_WORKER_GRACE_MS',
} as const;

/** Bounds of the command a backend starts. */
export const MAX_COMMAND_ARGS = 1000;
export const MAX_ARG_CHARS = 64 * 1024;

/** The gateway's usage text (stderr on `--help`). */
export const USAGE = `usage: node gateway.js [OPTIONS] [--backend embedded|hermes|command] [--cwd DIR] [--] [COMMAND ARGS...]

Speaks the Warden protocol (newline-delimited JSON-RPC 2.0, docs/protocol.md) on stdin/stdout;
logs go to stderr. Its stdin is its lifeline: when it ends, everything the gateway started is
taken down and the gateway exits.

Backends:
  embedded (default)  sessions with the gateway's own slash workers
  hermes              starts COMMAND (default: ${DEFAULT_HERMES_COMMAND.join(' ')}), hermes-agent's
                      tui_gateway, as its child and translates; its slash workers are found in the
                      process table, stale ones taken down
  command             starts COMMAND (any program) as its child; no sessions, its process tree in
                      process.tree and gateway.status

Backend options (flag or environment; the flag wins):
  --backend NAME                   GATEWAY_WARDEN_BACKEND
  --cwd DIR                        GATEWAY_WARDEN_BACKEND_CWD             the program's working directory
  --backend-start-timeout-ms N     GATEWAY_WARDEN_BACKEND_START_TIMEOUT_MS  hermes' gateway.ready (30000)
  --stale-worker-grace-ms N        GATEWAY_WARDEN_STALE_WORKER_GRACE_MS   hermes stale workers (30000; 0 = report only)

Gateway options: --owner FP, --parent FP, --poll-ms, --shutdown-grace-ms, --lifeline-grace-ms,
--slash-timeout-ms, --worker-idle-timeout-ms, --worker-start-timeout-ms, --max-sessions,
--max-workers, --listen [PORT], --token-file, --attach-handshake-timeout-ms, --reattach-grace-ms,
--ping-ms, --max-line-bytes, --worker PATH (see docs/protocol.md, "Options").
`;
