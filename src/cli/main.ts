// Entry point of dist/cli.js (`gateway-warden`).
import { processSource } from '../core/processTable';
import { UsageError } from './args';
import { orphansCommand } from './orphansCommand';
import { reportCommand } from './reportCommand';
import { statusCommand } from './statusCommand';

const USAGE = `usage: gateway-warden <command> [options]

commands:
  orphans   list orphaned processes (and clear them with --kill)
      --json               machine-readable output (stable shape, see src/cli/jsonShapes.ts)
      --kill               take the orphans down (SIGTERM, grace, SIGKILL); asks first on a terminal
      --yes                do not ask (required with --kill when stdin is not a terminal)
      --pattern REGEX      command-line pattern for re-parented gateway processes (repeatable;
                           replaces the defaults: python running tui_gateway.slash_worker or
                           tui_gateway.entry; nested quantifiers and backreferences are refused)
      --checkpoints DIR    checkpoint directory (repeatable; default: the extension's global
                           storage in every known editor and remote server, or
                           $GATEWAY_WARDEN_CHECKPOINTS)
      --owner FINGERPRINT  only orphans of this dead host (pid:startTime:bootId; repeatable)
      --reaper PID         also treat PID as a subreaper that adopts orphans (repeatable)
      --no-markers         no marker rule: a GATEWAY_WARDEN_OWNER marker alone makes no orphan
                           (a checkpoint record still needs its host's marker, on Linux)
      --grace-ms MS        time between SIGTERM and SIGKILL (default 500)
  status    list live hosts and their process trees, and where checkpoints were found
      --json               machine-readable output
      --checkpoints DIR    as above
  report    a diagnostics report to paste into a bug report (Markdown): versions, containment,
            live hosts and their trees, orphans and why, checkpoint problems; secrets redacted
      --json               machine-readable output (version 1, see src/cli/jsonShapes.ts)
      --checkpoints DIR    as above

exit codes: 0 nothing found / all cleared, 1 orphans remain, 2 usage error
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
  try {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (command === 'ps') {
      // Diagnostic: how many processes a platform's reader sees (`ps --source darwin` runs the
      // macOS reader, which procps `ps` on Linux also answers).
      const list = await processSource(rest[0] === '--source' ? rest[1] : undefined).list();
      process.stdout.write(`${list.rows.length} processes${list.complete ? '' : ` (incomplete: ${list.why})`}\n`);
      return 0;
    }
    if (command === 'orphans') return await orphansCommand(rest, io);
    if (command === 'status') return await statusCommand(rest, io);
    if (command === 'report') return await reportCommand(rest, io);
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`gateway-warden: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`gateway-warden: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
