// argv of our three programs (CLI, gateway, worker), tokenised by node:util.parseArgs. Not in
// strict mode: strict throws at the first problem, in Node's words; the gateway and the worker must
// warn and go on with every other flag, and the CLI says its errors in its own words. So the tokens
// are checked here as strict would — unknown flags, missing values, values for a flag that takes
// none — one sentence each in `problems`; the caller decides (CLI: usage error; others: warning).
import { parseArgs } from 'node:util';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  /**
   * A boolean flag that may take a value all the same: `--flag=VALUE`, or `--flag VALUE` when the
   * next word matches. parseArgs has no optional values (a string flag always takes the next word).
   */
  optionalValue?: RegExp;
}

export interface ReadArgv {
  /** Each flag given (by its long name) with its values in order; a boolean flag's value is ''. */
  flags: Map<string, string[]>;
  /** The words that are not flags or their values. */
  positionals: string[];
  /** argv after `--` (or, with stopAtPositional, from the first positional on), untouched. */
  rest?: string[];
  problems: string[];
}

/** Reads argv against spec; with stopAtPositional the first positional ends the flags, as `--` does. */
export function readArgv(argv: readonly string[], spec: Readonly<Record<string, FlagSpec>>, stopAtPositional = false): ReadArgv {
  const out: ReadArgv = { flags: new Map(), positionals: [], problems: [] };
  const add = (name: string, value: string) => out.flags.set(name, [...(out.flags.get(name) ?? []), value]);
  // Read again after a string flag swallowed the next flag as its value: at most once per word.
  for (let start = 0, again = true; again; ) {
    again = false;
    let claimed = -1;
    for (const t of parseArgs({ args: argv.slice(start), options: spec, strict: false, allowPositionals: true, tokens: true }).tokens) {
      const i = t.index + start;
      if (t.kind === 'option-terminator' || (t.kind === 'positional' && stopAtPositional && i !== claimed)) {
        out.rest = argv.slice(t.kind === 'positional' ? i : i + 1);
        break;
      }
      if (t.kind === 'positional') {
        if (i !== claimed) out.positionals.push(t.value);
        continue;
      }
      const s = Object.hasOwn(spec, t.name) ? spec[t.name] : undefined;
      if (!s) out.problems.push(`unknown option ${t.rawName}`);
      else if (s.type === 'string' && t.value === undefined) out.problems.push(`${t.rawName} needs a value`);
      else if (s.type === 'string' && !t.inlineValue && t.value!.startsWith('-')) {
        // Strict mode refuses this as ambiguous: the value is missing, the next word is a flag.
        out.problems.push(`${t.rawName} needs a value (one starting with "-" is given as ${t.rawName}=VALUE)`);
        start = i + 1;
        again = true;
        break;
      } else if (s.type === 'string' || (t.value !== undefined && s.optionalValue)) add(t.name, t.value!);
      else if (t.value !== undefined) out.problems.push(`${t.rawName} takes no value`);
      else if (s.optionalValue?.test(argv[i + 1] ?? '')) add(t.name, argv[(claimed = i + 1)]);
      else add(t.name, '');
    }
  }
  return out;
}

/** A whole number of at least min written in decimal digits (blanks around allowed), else undefined. */
export function intAtLeast(text: string, min: number): number | undefined {
  const n = Number(text);
  return /^\s*\d+\s*$/.test(text) && Number.isSafeInteger(n) && n >= min ? n : undefined;
}
