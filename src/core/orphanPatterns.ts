// What a gateway or worker process looks like, for the re-parenting rule. Two kinds:
//   invocation rules  an interpreter running a given module or script, judged on argv elements —
//                     hermes-agent's defaults; a command line that merely MENTIONS the module
//                     (`less tui_gateway.slash_worker.log`) is not one
//   regexes           user patterns on the joined command line. A pattern is text a setting or a
//                     flag supplies, so it must not be able to hang the scan: nested quantifiers
//                     and backreferences are refused up front, each match sees at most
//                     MAX_MATCHED_CHARS of a command line, and all regexes together get a time
//                     budget per scan, shared fairly (a pattern that runs out of its share
//                     matches nothing; the others still run).
import * as vm from 'node:vm';
import type { ProcessInfo } from './processTable';

/** An interpreter running one of `modules` (`-m NAME`) or a script whose path ends in one of `scripts`. */
export interface InvocationRule {
  readonly label: string;
  readonly modules: readonly string[];
  /** Path suffixes, `/`-separated (a `\` in argv counts as `/`). */
  readonly scripts: readonly string[];
}

export type OrphanPattern = RegExp | InvocationRule;

/** hermes-agent's gateway and its per-session slash workers. */
export const HERMES_RULES: readonly InvocationRule[] = Object.freeze([
  { label: 'python -m tui_gateway.slash_worker', modules: ['tui_gateway.slash_worker'], scripts: ['tui_gateway/slash_worker.py'] },
  { label: 'python -m tui_gateway.entry', modules: ['tui_gateway.entry'], scripts: ['tui_gateway/entry.py'] },
]);

/** A regex sees at most this much of a command line (the start: program and its first arguments). */
export const MAX_MATCHED_CHARS = 4096;

/** All regexes of one scan together get this long; one that runs out is skipped. */
export const DEFAULT_PATTERN_BUDGET_MS = 250;

/** Longest regex source accepted. */
export const MAX_PATTERN_LENGTH = 500;

export function isInvocationRule(p: OrphanPattern): p is InvocationRule {
  return !(p instanceof RegExp);
}

/** How a pattern is shown (`--json` scan.patterns, logs). */
export function patternLabel(p: OrphanPattern): string {
  return isInvocationRule(p) ? p.label : String(p);
}

// python, python3, python3.12, pythonw, python.exe — a venv's python is one of these by basename.
const PYTHON = /^python(?:\d+(?:\.\d+)?)?w?(?:\.exe)?$/i;
// CPython options that take the next argument as their value.
const PYTHON_OPTS_WITH_VALUE = new Set(['-W', '-X', '--check-hash-based-pycs']);

const basename = (p: string) => p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);

/** What a Python command line runs: `{ module }`, `{ script }`, or undefined (`-c`, REPL, not python). */
export function pythonTarget(argv: readonly string[]): { module?: string; script?: string } | undefined {
  if (argv.length < 2 || !PYTHON.test(basename(argv[0]))) return undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return argv[i + 1] !== undefined ? { script: argv[i + 1] } : undefined;
    if (a === '-' || !a.startsWith('-')) return { script: a };
    if (PYTHON_OPTS_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('--')) continue; // --version and friends take no value
    // A cluster of one-letter flags (`-u`, `-Bu`, `-um NAME`, `-mNAME`): -m or -c ends it.
    for (let j = 1; j < a.length; j++) {
      const flag = a[j];
      if (flag === 'm') {
        const module = j + 1 < a.length ? a.slice(j + 1) : argv[i + 1];
        return module !== undefined ? { module } : undefined;
      }
      if (flag === 'c') return undefined;
      if (flag === 'W' || flag === 'X') {
        if (j + 1 === a.length) i++; // the value is the next argument
        break;
      }
    }
  }
  return undefined;
}

/** Whether `argv` is an invocation `rule` describes. */
export function matchesInvocation(rule: InvocationRule, argv: readonly string[]): boolean {
  const target = pythonTarget(argv);
  if (!target) return false;
  if (target.module !== undefined) return rule.modules.includes(target.module);
  const script = target.script!.replace(/\\/g, '/');
  return rule.scripts.some((s) => script === s || script.endsWith(`/${s}`));
}

/** argv of a process: exact on Linux; elsewhere the command line split at spaces (best effort). */
export function argvOf(p: ProcessInfo): readonly string[] {
  return p.argv ?? p.cmdline.split(/\s+/).filter(Boolean);
}

/**
 * Why a user regex is refused, or undefined when it is usable: not valid, empty, too long, or
 * built to backtrack for ever (a quantified group that contains a quantifier, a backreference).
 */
export function regexPatternProblem(source: string): string | undefined {
  try {
    new RegExp(source);
  } catch (e) {
    return `is not a valid regular expression: ${(e as Error).message}`;
  }
  if (source.trim() === '') return 'is empty (it would match every process)';
  if (source.length > MAX_PATTERN_LENGTH) return `is longer than ${MAX_PATTERN_LENGTH} characters`;
  return backtrackingProblem(source);
}

/** Nested quantifiers and backreferences: the shapes that make a backtracking matcher explode. */
function backtrackingProblem(source: string): string | undefined {
  // One frame per open group: whether anything inside it repeats.
  const frames: { start: number; repeats: boolean }[] = [{ start: 0, repeats: false }];
  // A quantifier at `i`: its length, and whether it can repeat (more than once).
  const quantifier = (i: number): { length: number; repeats: boolean } | undefined => {
    const c = source[i];
    if (c === '*' || c === '+') return { length: source[i + 1] === '?' ? 2 : 1, repeats: true };
    if (c === '?') return { length: source[i + 1] === '?' ? 2 : 1, repeats: false };
    if (c !== '{') return undefined;
    const m = /^\{(\d+)(,(\d*))?\}\??/.exec(source.slice(i));
    if (!m) return undefined;
    const repeats = m[2] !== undefined ? m[3] === '' || Number(m[3]) > 1 : Number(m[1]) > 1;
    return { length: m[0].length, repeats };
  };
  let i = 0;
  // After an atom: note its quantifier, if any, in the enclosing group.
  const afterAtom = (atomRepeatsInside: boolean, atomText: string): string | undefined => {
    const q = quantifier(i);
    if (!q) {
      if (atomRepeatsInside) frames[frames.length - 1].repeats = true;
      return undefined;
    }
    if (q.repeats && atomRepeatsInside) {
      return `has a nested quantifier (${atomText}${source.slice(i, i + q.length)}: a repeated group that itself repeats), which can take exponential time`;
    }
    if (q.repeats || atomRepeatsInside) frames[frames.length - 1].repeats = true;
    i += q.length;
    return undefined;
  };
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9]/.test(next) || (next === 'k' && source[i + 2] === '<')) return `has a backreference (\\${next}…), which can take exponential time`;
      i += 2;
      const bad = afterAtom(false, '');
      if (bad) return bad;
    } else if (c === '[') {
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++; // a leading ] is a literal
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      i = j + 1;
      const bad = afterAtom(false, '');
      if (bad) return bad;
    } else if (c === '(') {
      frames.push({ start: i, repeats: false });
      i++;
    } else if (c === ')') {
      const frame = frames.length > 1 ? frames.pop()! : { start: 0, repeats: false };
      const text = source.slice(frame.start, i + 1);
      i++;
      const bad = afterAtom(frame.repeats, text.length > 40 ? `${text.slice(0, 37)}...)` : text);
      if (bad) return bad;
    } else if (c === '|' || c === '^' || c === '$') {
      i++;
    } else {
      i++;
      const bad = afterAtom(false, '');
      if (bad) return bad;
    }
  }
  return undefined;
}

export interface PatternMatchResult {
  /** Pids whose process matches at least one pattern. */
  matched: Set<number>;
  /** Regexes that ran out of time (skipped: they matched nothing), one sentence each. */
  problems: string[];
}

// One sandbox for every scan: the regex and the lines are handed over as its globals, and the
// loop runs inside it so that vm's timeout can stop a runaway match (it interrupts the regexp
// engine too, which a check between calls could not).
const sandbox = vm.createContext({ re: /$^/, lines: [] as string[], hits: [] as number[] });
const MATCH_ALL = new vm.Script('hits = []; for (let i = 0; i < lines.length; i++) { re.lastIndex = 0; if (re.test(lines[i])) hits.push(i); }');

/**
 * Which processes of `table` match any of `patterns`. Invocation rules look at argv; regexes at
 * the first MAX_MATCHED_CHARS of the command line, all of them within `budgetMs`.
 */
export function matchPatterns(
  table: readonly ProcessInfo[],
  patterns: readonly OrphanPattern[],
  budgetMs = DEFAULT_PATTERN_BUDGET_MS,
): PatternMatchResult {
  const matched = new Set<number>();
  const problems: string[] = [];
  const rules = patterns.filter(isInvocationRule);
  if (rules.length) {
    for (const p of table) {
      const argv = argvOf(p);
      if (rules.some((r) => matchesInvocation(r, argv))) matched.add(p.pid);
    }
  }
  const regexes = patterns.filter((p): p is RegExp => p instanceof RegExp);
  if (!regexes.length) return { matched, problems };
  const lines = table.map((p) => (p.cmdline.length > MAX_MATCHED_CHARS ? p.cmdline.slice(0, MAX_MATCHED_CHARS) : p.cmdline));
  const deadline = Date.now() + budgetMs;
  for (const [n, re] of regexes.entries()) {
    // An equal share of what is left: one runaway pattern cannot starve the ones after it.
    const left = Math.floor((deadline - Date.now()) / (regexes.length - n));
    if (left < 1) {
      problems.push(`pattern ${String(re)} skipped: the ${budgetMs} ms budget for patterns was spent`);
      continue;
    }
    sandbox.re = re;
    sandbox.lines = lines;
    try {
      MATCH_ALL.runInContext(sandbox, { timeout: left });
      for (const i of sandbox.hits as number[]) matched.add(table[i].pid);
    } catch (e) {
      const timedOut = (e as NodeJS.ErrnoException)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
      problems.push(timedOut
        ? `pattern ${String(re)} skipped: it did not finish within ${left} ms on this machine's command lines (it matches nothing)`
        : `pattern ${String(re)} skipped: ${(e as Error)?.message ?? String(e)}`);
    } finally {
      sandbox.lines = [];
      sandbox.hits = [];
    }
  }
  return { matched, problems };
}
