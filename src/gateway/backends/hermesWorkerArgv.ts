// Recognising a hermes slash worker in the process table. hermes starts each one as
//   sys.executable -m tui_gateway.slash_worker --session-key KEY [--model MODEL]
// so a worker is a child of the hermes gateway whose argv has exactly that shape, read by position,
// never by substring: a wrapper's or a shell's command line may mention tui_gateway.slash_worker.
import * as path from 'node:path';

export interface HermesWorkerArgv {
  interpreter: string;
  sessionKey: string;
  model?: string;
}

const MODULE = 'tui_gateway.slash_worker';
/** python, python3, python3.11, pypy3 … (sys.executable's basename; a venv's python too). */
const INTERPRETER = /^(python|pypy)\d*(\.\d+)*$/;
const MAX_ARG_CHARS = 4096;

/** The worker's session key and model from its argv, or undefined when it is not a hermes worker. */
export function parseHermesWorkerArgv(argv: readonly string[]): HermesWorkerArgv | undefined {
  if (argv.length < 5 || argv.length > 7) return undefined;
  const [interpreter, dashM, mod] = argv;
  if (!INTERPRETER.test(path.posix.basename(interpreter)) || dashM !== '-m' || mod !== MODULE) return undefined;
  const options = new Map<string, string>();
  for (let i = 3; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if ((name !== '--session-key' && name !== '--model') || options.has(name)) return undefined;
    if (value === undefined || value.length > MAX_ARG_CHARS) return undefined;
    options.set(name, value);
  }
  const sessionKey = options.get('--session-key');
  if (!sessionKey) return undefined;
  const model = options.get('--model');
  return model === undefined ? { interpreter, sessionKey } : { interpreter, sessionKey, model };
}

export interface ProcessRow {
  pid: number;
  ppid: number;
  argv: readonly string[];
}

/** A hermes worker of the gateway `gatewayPid`: its child (ppid) with a worker's argv. */
export function hermesWorkerOf(row: ProcessRow, gatewayPid: number): HermesWorkerArgv | undefined {
  return row.ppid === gatewayPid ? parseHermesWorkerArgv(row.argv) : undefined;
}
