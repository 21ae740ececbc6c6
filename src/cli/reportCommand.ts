// `gateway-warden report [--json] [--checkpoints DIR]...`: the diagnostics report (Markdown, or
// JSON), for pasting into a bug report. The same scan as `orphans` (default patterns) and the same
// live-host listing as `status`; redacted before it is printed. Exit code 0 whatever it finds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_ORPHAN_PATTERNS } from '../core/orphans';
import { buildReport } from '../core/report/reportData';
import { renderReportMarkdown } from '../core/report/reportMarkdown';
import { UsageError, parseArgs } from './args';
import { existingCheckpointDirs, resolveCheckpointDirs } from './checkpointDirs';
import { reportJson } from './jsonShapes';
import type { CommandIo } from './orphansCommand';

export const CLI_LOG_SOURCE =
  'The CLI keeps no log. The extension\'s log is its "Gateway Warden" output channel: run "Gateway Warden: Copy Diagnostics Report" in VS Code to include it.';

export async function reportCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { json: { type: 'boolean' }, checkpoints: { type: 'string' } });
  if (positionals.length) throw new UsageError(`report takes no arguments (got ${JSON.stringify(positionals[0])})`);
  const { dirs, own, described } = resolveCheckpointDirs(flags.get('checkpoints'));
  const report = await buildReport({
    generatedBy: 'cli',
    extensionVersion: ownVersion(),
    scan: { checkpointDirs: dirs, ownDirs: own, patterns: [...DEFAULT_ORPHAN_PATTERNS] },
    checkpointDirs: existingCheckpointDirs(described),
    log: { source: CLI_LOG_SOURCE, lines: null },
  });
  io.stdout.write(flags.has('json') ? `${JSON.stringify(reportJson(report), null, 2)}\n` : `${renderReportMarkdown(report)}\n`);
  return 0;
}

/** The version in the package.json next to dist/ (the installed extension, or a checkout). */
function ownVersion(): string | undefined {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8').slice(0, 1 << 20)) as { name?: unknown; version?: unknown };
    return pkg.name === 'gateway-warden' && typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}
