// Which backend the gateway runs, and for `hermes` and `command` the program to start:
//   node gateway.js [OPTIONS] [--backend embedded|hermes|command] [--cwd DIR] [--] COMMAND ARGS...
// The backend's own flags and the command are taken out of argv here; the rest goes to
// parseOptions (options.ts) unchanged, so the embedded backend's options — and its
// gateway.status — stay exactly what they were. Bad input falls back with a warning, never a crash.

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
  /** hermes: how long its gateway.ready may take; command: ignored. */
  startTimeoutMs: number;
  /** hermes: how long a confirmed stale worker is left before it is taken down (0 = only report). */
  staleWorkerGraceMs: number;
}

export const DEFAULT_BACKEND_SPEC: BackendSpec = {
  name: 'embedded',
  command: [],
  startTimeoutMs: 30_000,
  staleWorkerGraceMs: 30_000,
};

/** The environment variables read here: never passed on to the program (a nested gateway would obey them). */
export const BACKEND_ENV = {
  backend: 'GATEWAY_WARDEN_BACKEND',
  cwd: 'GATEWAY_WARDEN_BACKEND_CWD',
  startTimeoutMs: 'GATEWAY_WARDEN_BACKEND_START_TIMEOUT_MS',
  staleWorkerGraceMs: 'GATEWAY_WARDEN_STALE_WORKER_GRACE_MS',
} as const;

const MAX_COMMAND_ARGS = 1000;
const MAX_ARG_CHARS = 64 * 1024;

export interface SplitArgs {
  backend: BackendSpec;
  /** argv without the backend's flags and the command: for parseOptions. */
  rest: string[];
  warnings: string[];
  /** `--help` or `-h` before the command: print USAGE and exit. */
  help: boolean;
}

const NUMBER_FLAGS = {
  '--backend-start-timeout-ms': { key: 'startTimeoutMs', env: BACKEND_ENV.startTimeoutMs, min: 1 },
  '--stale-worker-grace-ms': { key: 'staleWorkerGraceMs', env: BACKEND_ENV.staleWorkerGraceMs, min: 0 },
} as const;

type NumberFlag = keyof typeof NUMBER_FLAGS;

export function splitBackendArgs(argv: readonly string[], env: NodeJS.ProcessEnv): SplitArgs {
  const warnings: string[] = [];
  const rest: string[] = [];
  const given = new Map<string, string>();
  let command: string[] | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (a === '--') {
      command = argv.slice(i + 1);
      break;
    }
    if (!a.startsWith('--')) {
      // Not a flag, and not the value of one (values are consumed below): the command begins.
      command = argv.slice(i);
      break;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (name === '--backend' || name === '--cwd' || name in NUMBER_FLAGS) {
      if (eq > 0) given.set(name, a.slice(eq + 1));
      else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) given.set(name, argv[++i]);
      else warnings.push(`${name} needs a value; ignored`);
      continue;
    }
    // A gateway option for parseOptions: keep it with its value (every option but a bare
    // --listen takes one, which is how parseOptions reads them too).
    rest.push(a);
    if (eq > 0) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) continue;
    if (name === '--listen' && !/^\d+$/.test(next)) continue;
    rest.push(argv[++i]);
  }

  const backend: BackendSpec = { ...DEFAULT_BACKEND_SPEC, command: [] };
  const nameText = given.get('--backend') ?? env[BACKEND_ENV.backend];
  if (nameText !== undefined && nameText.trim() !== '') {
    const n = nameText.trim().toLowerCase();
    if ((BACKEND_NAMES as readonly string[]).includes(n)) backend.name = n as BackendName;
    else warnings.push(`backend ${JSON.stringify(nameText)} is not one of ${BACKEND_NAMES.join(', ')}; running the embedded backend`);
  }
  for (const flag of Object.keys(NUMBER_FLAGS) as NumberFlag[]) {
    const { key, env: envName, min } = NUMBER_FLAGS[flag];
    const fromFlag = given.get(flag);
    const text = fromFlag ?? env[envName];
    if (text === undefined || text === '') continue;
    const v = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < min) {
      warnings.push(`${fromFlag !== undefined ? flag : envName}=${JSON.stringify(text)} is not an integer >= ${min}; using the default ${DEFAULT_BACKEND_SPEC[key]}`);
      continue;
    }
    backend[key] = v;
  }
  const cwd = given.get('--cwd') ?? env[BACKEND_ENV.cwd];
  if (cwd) backend.cwd = cwd;

  if (command !== undefined && command.length > 0) {
    if (backend.name === 'embedded') {
      warnings.push(`ignoring the command ${JSON.stringify(command.join(' ').slice(0, 200))}: the embedded backend runs no program (use --backend hermes or --backend command)`);
    } else if (command.length > MAX_COMMAND_ARGS || command.some((x) => x.length > MAX_ARG_CHARS)) {
      warnings.push(`the command has more than ${MAX_COMMAND_ARGS} arguments or an argument longer than ${MAX_ARG_CHARS} characters; not started`);
    } else if (command[0] === '') {
      warnings.push('the command is an empty string; not started');
    } else {
      backend.command = [...command];
    }
  }
  if (backend.name === 'hermes' && backend.command.length === 0) backend.command = [...DEFAULT_HERMES_COMMAND];
  return { backend, rest, warnings, help };
}

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
