// `gateway-warden status [--json]`: live hosts (from checkpoints and markers) and their trees.
import { formatFingerprint } from '../core/fingerprint';
import { loadCheckpointDirs } from '../core/orphansFind';
import { describeLiveOwners } from '../core/orphansStatus';
import { listProcesses } from '../core/processTable';
import { renderProcessTree } from '../core/report/reportMarkdown';
import { UsageError, parseArgs } from './args';
import { CHECKPOINTS_ENV, existingCheckpointDirs, resolveCheckpointDirs } from './checkpointDirs';
import { StatusJson, ownersJson } from './jsonShapes';
import type { CommandIo } from './orphansCommand';

export async function statusCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { json: { type: 'boolean' }, checkpoints: { type: 'string' } });
  if (positionals.length) throw new UsageError(`status takes no arguments (got ${JSON.stringify(positionals[0])})`);
  const { dirs, own, described } = resolveCheckpointDirs(flags.get('checkpoints'));
  const found = existingCheckpointDirs(described);
  const table = await listProcesses({ readMemory: true });
  const { checkpoints, problems } = loadCheckpointDirs(dirs, { tighten: own });
  const owners = describeLiveOwners(table, checkpoints);
  if (flags.has('json')) {
    const out: StatusJson = { version: 1, owners: ownersJson(owners), checkpointDirs: found, problems };
    io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  for (const p of problems) io.stderr.write(`warning: ${p}\n`);
  if (found.length) {
    io.stdout.write(`checkpoints found for: ${found.map((d) => `${d.editor} (${d.dir})`).join(', ')}\n\n`);
  } else {
    io.stdout.write(`no checkpoint directory found (looked in ${described.length} place(s); --checkpoints or $${CHECKPOINTS_ENV} names others)\n\n`);
  }
  if (!owners.length) {
    io.stdout.write('no live Gateway Warden hosts found\n');
    return 0;
  }
  for (const o of owners) {
    io.stdout.write(`host ${formatFingerprint(o.owner)}  ${o.command ?? ''}\n`);
    if (!o.processes.length) {
      io.stdout.write('  (no processes)\n\n');
      continue;
    }
    io.stdout.write(`${renderProcessTree(o.processes).replace(/^/gm, '  ')}\n\n`);
  }
  return 0;
}
