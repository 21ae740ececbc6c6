// Entry point of dist/cli.js (`gateway-warden`).
import { listProcesses } from '../core/processTable';

const USAGE = `usage: gateway-warden <command> [options]

commands:
  orphans [--json] [--kill] [--yes] [--pattern REGEX]...   list (and clear) orphaned processes
  status [--json]                                         list live owners and their trees
`;

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv[0] === 'ps') {
    const table = await listProcesses({ backend: argv[1] === '--ps-list' ? 'ps-list' : undefined });
    process.stdout.write(`${table.length} processes\n`);
    return 0;
  }
  process.stderr.write(`gateway-warden: unknown command ${JSON.stringify(argv[0])}\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`gateway-warden: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
