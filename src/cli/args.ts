// The CLI's flags: unknown flags, missing values and values given to a flag that takes none are
// usage errors (exit 2); repeatable flags collect every value; words after `--` are positionals.
import { FlagSpec, readArgv } from '../core/readArgv';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseArgs(argv: readonly string[], spec: Readonly<Record<string, FlagSpec>>): { flags: Map<string, string[]>; positionals: string[] } {
  const r = readArgv(argv, spec);
  if (r.problems.length) throw new UsageError(r.problems[0]);
  return { flags: r.flags, positionals: [...r.positionals, ...(r.rest ?? [])] };
}
