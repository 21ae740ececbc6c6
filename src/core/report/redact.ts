// Redaction for the diagnostics report: a report is pasted into public bug trackers, so anything
// that looks like a secret is replaced by `[redacted]` before it is rendered — in command lines
// (above all a custom gateway command's arguments after `--`), settings, messages and log lines.
// Rules work on whitespace-separated words (quoted words kept whole), so a joined command line,
// a displayArgv line and a log line are all handled the same way. Over-redaction is accepted.

export const REDACTED = '[redacted]';

/** A name (flag, variable, query parameter) whose value is a secret. */
const SECRET_NAME = /pass(?:word|wd|phrase)?|secret|token|api[-_.]?key|apikey|access[-_.]?key|private[-_.]?key|credential|auth|cookie|signature|(?:^|[-_.])keys?(?:$|[-_.]|file)/i;
/** Environment-style names (`OPENAI_API_KEY=…`, `FOO=…`): their values are never shown. */
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
/** Our own switches whose values are plain settings, shown as they are (unless the name is secret-like). */
const SHOWN_ENV = /^GATEWAY_WARDEN_(?:CGROUPS|MAX_SESSIONS|MAX_WORKERS|POLL_MS|SHUTDOWN_GRACE_MS|WORKER_IDLE_TIMEOUT_MS|OWNER|PARENT|CHECKPOINTS)$/;
/** Values that are secrets whatever they are called: well-known key and token formats. */
const SECRET_VALUES: readonly RegExp[] = [
  /\bsk[-_](?:live_|test_|proj-|ant-)?[A-Za-z0-9_-]{8,}/g, // OpenAI, Anthropic, Stripe
  /\b(?:rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}/g,
  /\bgh[pousr]_[A-Za-z0-9]{16,}/g, // GitHub
  /\bgithub_pat_[A-Za-z0-9_]{16,}/g,
  /\bglpat-[A-Za-z0-9_-]{16,}/g, // GitLab
  /\bxox[abposr]-[A-Za-z0-9-]{8,}/g, // Slack
  /\bAKIA[0-9A-Z]{16}\b/g, // AWS access key id
  /\bAIza[0-9A-Za-z_-]{30,}/g, // Google
  /\bhf_[A-Za-z0-9]{20,}/g, // Hugging Face
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}/g, // JWT
];
/** A word: runs of plain characters and quoted strings ("…" with escapes, '…'), never split inside quotes. */
const WORD = /(?:[^\s"']+|"(?:[^"\\]|\\.)*"?|'[^']*'?)+/g;
/** The longest text redactText looks at (a log line, a command line); the rest is cut. */
export const MAX_REDACT_CHARS = 16_384;

export interface Redactor {
  /** `text` with every secret-looking part replaced by [redacted]. */
  text(s: string): string;
  /** A deep copy of `value` with every string in it redacted (plain objects and arrays only). */
  deep<T>(value: T): T;
}

/** Whether `name` (a flag without dashes, a variable, a parameter) names a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * Values of `env` (the reporting process's environment) whose names say they are secrets: replaced
 * wherever they appear, also where no rule would recognise them.
 */
export function secretEnvValues(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value && value.length >= 8 && isSecretName(name) && !SHOWN_ENV.test(name)) out.push(value);
  }
  return out;
}

/** `known`: exact secret values to remove wherever they appear (6 characters or more). */
export function createRedactor(known: readonly string[] = []): Redactor {
  const exact = [...new Set(known.filter((k) => typeof k === 'string' && k.length >= 6))].sort((a, b) => b.length - a.length);
  const text = (s: string) => redactText(s, exact);
  const deep = <T>(value: T): T => deepMap(value, text, 0) as T;
  return { text, deep };
}

function redactText(input: string, exact: readonly string[], depth = 0): string {
  let s = input.length > MAX_REDACT_CHARS ? `${input.slice(0, MAX_REDACT_CHARS)}…` : input;
  if (depth === 0) for (const k of exact) s = s.split(k).join(REDACTED);
  // JSON members ("token": "…", "apiKey":"…"), also when spaced out over several words.
  s = s.replace(/"([\w.-]+)"(\s*:\s*)"(?:[^"\\]|\\.)*"/g, (all, name: string, colon: string) => (isSecretName(name) ? `"${name}"${colon}"${REDACTED}"` : all));
  let redactNext = false;
  s = s.replace(WORD, (word) => {
    const plain = word.replace(/["']/g, '');
    if (redactNext) {
      // "Authorization: Bearer …": the scheme stays, the credentials after it go.
      if (/^(?:bearer|basic|token)$/i.test(plain)) return word;
      redactNext = false;
      // `--token --other`: the flag had no value; the next flag is not one.
      if (!/^["']?-/.test(word)) return REDACTED;
    }
    // "Api-Key: value", "password: value" (headers, YAML, log messages)
    const c = /^([A-Za-z][\w.-]*):$/.exec(plain);
    if (c && isSecretName(c[1])) {
      redactNext = true;
      return word;
    }
    // --name=value / -name=value
    let m = /^(-{1,2})([A-Za-z][\w.-]*)=/.exec(plain);
    if (m && isSecretName(m[2])) return `${m[1]}${m[2]}=${REDACTED}`;
    // --name value (the value is the next word)
    m = /^-{1,2}([A-Za-z][\w.-]*)$/.exec(plain);
    if (m && isSecretName(m[1])) {
      redactNext = true;
      return word;
    }
    // NAME=value (an environment assignment, or a secret-named key)
    m = /^([A-Za-z_][\w.-]*)=(.+)$/.exec(plain);
    if (m && ((ENV_NAME.test(m[1]) && !(SHOWN_ENV.test(m[1]) && !isSecretName(m[1]))) || isSecretName(m[1]))) return `${m[1]}=${REDACTED}`;
    // "Bearer <token>", "Basic <credentials>"
    if (/^(?:bearer|basic)$/i.test(plain)) {
      redactNext = true;
      return word;
    }
    // A quoted phrase ("Authorization: Bearer …"): the rules again on what is inside the quotes.
    if (/\s/.test(word) && depth < 2) {
      return redactInWord(word.replace(/"((?:[^"\\]|\\.)*)("?)|'([^']*)('?)/g, (_all, dq: string | undefined, dqEnd: string, sq: string | undefined, sqEnd: string) =>
        dq !== undefined ? `"${redactText(dq, exact, depth + 1)}${dqEnd}` : `'${redactText(sq ?? '', exact, depth + 1)}${sqEnd}`));
    }
    return redactInWord(word);
  });
  return s;
}

/** Secrets inside one word: URL passwords, secret query parameters, well-known token formats. */
function redactInWord(word: string): string {
  let w = word.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/@]+@/gi, `$1:${REDACTED}@`);
  w = w.replace(/([?&;]([\w.-]+)=)[^&;#\s"']*/g, (all, head: string, name: string) => (isSecretName(name) ? `${head}${REDACTED}` : all));
  for (const re of SECRET_VALUES) w = w.replace(re, REDACTED);
  return w;
}

function deepMap(value: unknown, text: (s: string) => string, depth: number): unknown {
  if (typeof value === 'string') return text(value);
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => deepMap(v, text, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = deepMap(v, text, depth + 1);
  return out;
}
