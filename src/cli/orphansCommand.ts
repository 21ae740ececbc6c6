// `gateway-warden orphans [--json] [--kill] [--yes] [--pattern REGEX]... [--checkpoints DIR]...`
// Exit codes: 0 none found / all cleared, 1 some remain, 2 usage error.
import * as readline from 'node:readline';
import { Fingerprint, parseFingerprint } from '../core/fingerprint';
import { DEFAULT_ORPHAN_PATTERNS, Orphan, describeNotCorroborated } from '../core/orphans';
import { clearOrphans, pruneStaleCheckpoints } from '../core/orphansClear';
import { findOrphans } from '../core/orphansFind';
import { OrphanPattern, patternLabel, regexPatternProblem } from '../core/orphanPatterns';
import { intAtLeast } from '../core/readArgv';
import { MAX_TIMING_OPTION_MS } from '../core/timeouts';
import { UsageError, parseArgs } from './args';
import { resolveCheckpointDirs } from './checkpointDirs';
import { OrphansJson, clearedJson, notCorroboratedJson, orphanJson } from './jsonShapes';
import { renderOrphanTable } from '../core/report/reportMarkdown';

const SPEC = {
  json: { type: 'boolean' },
  kill: { type: 'boolean' },
  yes: { type: 'boolean' },
  pattern: { type: 'string' },
  checkpoints: { type: 'string' },
  owner: { type: 'string' },
  'grace-ms': { type: 'string' },
  'no-markers': { type: 'boolean' },
  reaper: { type: 'string' },
} as const;

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export async function orphansCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { flags, positionals } = parseArgs(argv, SPEC);
  if (positionals.length) throw new UsageError(`orphans takes no arguments (got ${JSON.stringify(positionals[0])})`);
  const json = flags.has('json');
  const kill = flags.has('kill');
  const patterns: OrphanPattern[] = flags.has('pattern') ? flags.get('pattern')!.map(toRegExp) : [...DEFAULT_ORPHAN_PATTERNS];
  const owners = flags.get('owner')?.map(toOwner);
  const { dirs: checkpointDirs, own: ownDirs } = resolveCheckpointDirs(flags.get('checkpoints'));
  const graceMs = flags.has('grace-ms') ? toMs(flags.get('grace-ms')!.at(-1)!) : 500;
  if (flags.has('yes') && !kill) throw new UsageError('--yes only makes sense with --kill');

  const reapers = flags.get('reaper')?.map(toPid);
  const markers = flags.has('no-markers') ? false : undefined;
  const found = await findOrphans({ checkpointDirs, ownDirs, patterns, owners, reapers, markers });
  const out: OrphansJson = {
    version: 1,
    orphans: found.orphans.map(orphanJson),
    notCorroborated: found.notCorroborated.map(notCorroboratedJson),
    problems: found.problems,
    scan: {
      processes: found.table.length, scanMs: found.scanMs, detectMs: found.detectMs,
      checkpointDirs: [...checkpointDirs], checkpoints: found.checkpoints.length, patterns: patterns.map(patternLabel),
    },
    cleared: null,
  };
  if (!json) {
    for (const p of found.problems) io.stderr.write(`warning: ${p}\n`);
    for (const n of found.notCorroborated) io.stderr.write(`warning: ${describeNotCorroborated(n)}\n`);
    io.stdout.write(`${describe(found.orphans)}\n`);
  }
  // Not cleared (no --kill, declined, refused): the document is still written, `cleared: null`.
  const notCleared = (code: number) => {
    if (json) io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return code;
  };
  if (!kill) return notCleared(found.orphans.length ? 1 : 0);

  // With no orphan nothing is signalled, so there is nothing to confirm: --kill goes straight on to
  // the checkpoint prune below (which deletes only files of dead hosts in which nothing is alive).
  if (found.orphans.length && !flags.has('yes')) {
    const total = found.orphans.reduce((n, o) => n + 1 + o.descendants.length, 0);
    if (!io.stdin.isTTY) {
      io.stderr.write(`gateway-warden: refusing to kill ${total} process(es) without confirmation: stdin is not a terminal; add --yes\n`);
      return notCleared(2);
    }
    if (!(await confirm(io, `Kill ${total} process(es)? [y/N] `))) {
      io.stderr.write('nothing killed\n');
      return notCleared(1);
    }
  }

  const summary = await clearOrphans(found.orphans, {
    graceMs,
    onProgress: json ? undefined : (p) => io.stdout.write(`[${p.done}/${p.total}] pid ${p.orphan.pid}: ${p.results.map((r) => `${r.pid} ${r.outcome}`).join(', ')}\n`),
  });
  const deleted: string[] = [];
  for (const dir of new Set(checkpointDirs)) {
    const pruned = pruneStaleCheckpoints(dir);
    deleted.push(...pruned.deleted);
    for (const p of pruned.problems) if (!out.problems.includes(p)) out.problems.push(p); // the scan said most of it already
  }
  out.cleared = clearedJson(summary, deleted);
  if (json) {
    io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    for (const r of summary.results.filter((x) => x.outcome === 'refused')) io.stderr.write(`pid ${r.pid} not cleared: ${r.why}\n`);
    io.stdout.write(
      `cleared: ${summary.killed} killed, ${summary.alreadyGone} already gone, ${summary.refused} refused` +
      (summary.remaining.length ? `; still alive: ${summary.remaining.join(', ')}` : '') +
      (deleted.length ? `; removed ${deleted.length} stale checkpoint(s)` : '') + '\n',
    );
  }
  return summary.remaining.length ? 1 : 0;
}

function describe(orphans: Orphan[]): string {
  if (!orphans.length) return 'no orphans found';
  const { table, total } = renderOrphanTable(orphans);
  return `${table}\n${total}`;
}

function toRegExp(source: string): RegExp {
  const problem = regexPatternProblem(source);
  if (problem) throw new UsageError(`--pattern ${JSON.stringify(source)} ${problem}`);
  return new RegExp(source);
}

function toOwner(text: string): Fingerprint {
  const fp = parseFingerprint(text);
  if (!fp) throw new UsageError(`--owner ${JSON.stringify(text)} is not a fingerprint (pid:startTime:bootId)`);
  return fp;
}

function toPid(text: string): number {
  const n = intAtLeast(text, 1);
  if (n === undefined) throw new UsageError(`--reaper ${JSON.stringify(text)} is not a pid`);
  return n;
}

function toMs(text: string): number {
  const n = intAtLeast(text, 0);
  // A timer's delay: the same bound as the gateway's timing options.
  if (n === undefined || n > MAX_TIMING_OPTION_MS) throw new UsageError(`--grace-ms ${JSON.stringify(text)} is not a whole number from 0 to ${MAX_TIMING_OPTION_MS}`);
  return n;
}

function confirm(io: CommandIo, question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: io.stdin, output: io.stderr });
  return new Promise((resolve) => {
    // Ctrl-C or the end of input (Ctrl-D) is "no" (an answer resolves first; close then changes nothing).
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => resolve(false));
    rl.question(question, (answer) => {
      resolve(/^y(es)?$/i.test(answer.trim()));
      rl.close();
    });
  });
}
