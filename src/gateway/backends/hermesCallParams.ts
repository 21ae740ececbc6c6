// backend.call's params for the hermes methods whose types we know, checked before they reach
// hermes. hermes runs most handlers inline on its reader thread and does not catch what they
// raise there: `session.create {cols: "abc"}` or `spawn_tree.list {limit: "abc"}` ends the whole
// hermes gateway, every session with it (seen on hermes-agent 88d1d6206). A known field must have
// its type and stay in its bounds (null included: hermes int()s a present null too); fields we do
// not know, and methods we do not know, pass as they are.
import { HERMES_LIMITS, Mapped } from './hermesProtocol';

type FieldRule = { kind: 'string'; max: number } | { kind: 'int'; min: number; max: number } | { kind: 'bool' };

const str = (max: number): FieldRule => ({ kind: 'string', max });
const int = (min: number, max: number): FieldRule => ({ kind: 'int', min, max });
const bool: FieldRule = { kind: 'bool' };
const id = str(HERMES_LIMITS.idChars);
const cols = int(1, HERMES_LIMITS.maxCols);
const limit = int(1, 100_000);

/** hermes-agent tui_gateway's params, by method (server.py). */
const KNOWN: Readonly<Record<string, Readonly<Record<string, FieldRule>>>> = {
  'session.create': { title: str(HERMES_LIMITS.titleChars), cols, cwd: str(4096), model: str(HERMES_LIMITS.idChars), close_on_disconnect: bool, parent_session_id: id },
  'session.close': { session_id: id },
  'session.resume': { session_id: id, cols },
  'session.list': { limit },
  'session.active_list': {},
  'slash.exec': { session_id: id, command: str(HERMES_LIMITS.commandChars) },
  'terminal.resize': { session_id: id, cols },
  'spawn_tree.list': { session_id: id, limit, cross_session: bool },
};

/** True when backend.call's params of `method` are checked here (the others pass as they are). */
export function isKnownHermesMethod(method: string): boolean {
  return Object.prototype.hasOwnProperty.call(KNOWN, method);
}

/** The params, unchanged, or what is wrong with them (for a -32602). */
export function checkHermesCallParams(method: string, params: unknown): Mapped<unknown> {
  if (!isKnownHermesMethod(method)) return { ok: true, value: params };
  if (params === undefined) return { ok: true, value: params };
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return { ok: false, message: `hermes ${method} takes its params as an object` };
  }
  const p = params as Record<string, unknown>;
  for (const [field, rule] of Object.entries(KNOWN[method])) {
    if (!Object.prototype.hasOwnProperty.call(p, field)) continue;
    const problem = fieldProblem(p[field], rule);
    if (problem) return { ok: false, message: `hermes ${method}: "${field}" must be ${problem}` };
  }
  return { ok: true, value: params };
}

function fieldProblem(v: unknown, rule: FieldRule): string | undefined {
  switch (rule.kind) {
    case 'string':
      return typeof v === 'string' && v.length <= rule.max ? undefined : `a string of at most ${rule.max} characters`;
    case 'int':
      return Number.isSafeInteger(v) && (v as number) >= rule.min && (v as number) <= rule.max ? undefined : `an integer from ${rule.min} to ${rule.max}`;
    case 'bool':
      return typeof v === 'boolean' ? undefined : 'true or false';
  }
}
