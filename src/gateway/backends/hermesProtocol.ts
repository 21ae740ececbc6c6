// hermes-agent tui_gateway's JSON-RPC, translated to and from the Warden protocol's names. Pure
// functions, no I/O: the hermes backend sends what these build and reads what they parse.
// Facts (hermes-agent 88d1d6206 and e9c1e757f, checked on the real gateway; see
// test/fixtures/hermes/README.md): session.create {title?, cols?, cwd?, model?, close_on_disconnect?}
// → {session_id, stored_session_id, info:{model,…}}; session.close {session_id} → {closed};
// slash.exec {session_id, command} → {output, warning?}; session.active_list →
// {sessions:[{id, session_key, status, model, title, …}]}; events: method "event",
// params {type, session_id?, payload?}.

/** A translation that failed says why, in words a user of the Warden protocol can act on. */
export type Mapped<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Mapped<T> => ({ ok: true, value });
const fail = <T>(message: string): Mapped<T> => ({ ok: false, message });

/** Bounds on what we forward: hermes itself bounds none of these. */
export const HERMES_LIMITS = {
  titleChars: 200,
  commandChars: 64 * 1024,
  idChars: 200,
  /** hermes int()s cols inline: anything but an integer string or number ends the whole gateway. */
  maxCols: 10_000,
  activeSessions: 10_000,
} as const;

/** hermes' own error codes (JSON-RPC's -327xx are the standard ones). */
export const HermesErrorCode = {
  /** A pool handler raised (e.g. a non-string `command`): "handler error: …". */
  HandlerError: -32000,
  SessionNotFound: 4001,
  /** slash.exec with an empty or blank command. */
  EmptyCommand: 4004,
  /** slash.exec refused: a skill or pending-input command, or /snapshot restore; use command.dispatch. */
  UseCommandDispatch: 4018,
  /** session.create refused: the active-session limit (config) is reached. */
  SessionLimit: 4090,
  /** The slash worker failed to start, timed out (45 s), died, or answered ok:false. */
  SlashWorkerFailed: 5030,
  /** The session's agent failed to build, or did not within 30 s. */
  AgentInitFailed: 5032,
} as const;

export interface WardenCreateParams {
  label?: string;
  closeOnDisconnect?: boolean;
  cwd?: string;
  model?: string;
  cols?: number;
}

export interface HermesCreateParams {
  title?: string;
  close_on_disconnect?: boolean;
  cwd?: string;
  model?: string;
  cols?: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function boundedString(v: unknown, max: number): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
}

/** Our session.create params → hermes'. Only fields hermes understands and that cannot crash it. */
export function toHermesCreate(params: WardenCreateParams): Mapped<HermesCreateParams> {
  const out: HermesCreateParams = {};
  if (params.label !== undefined) {
    if (typeof params.label !== 'string' || params.label.length > HERMES_LIMITS.titleChars) {
      return fail(`label must be a string of at most ${HERMES_LIMITS.titleChars} characters`);
    }
    if (params.label.trim()) out.title = params.label;
  }
  if (params.closeOnDisconnect !== undefined) {
    if (typeof params.closeOnDisconnect !== 'boolean') return fail('closeOnDisconnect must be a boolean');
    out.close_on_disconnect = params.closeOnDisconnect;
  }
  if (params.cols !== undefined) {
    if (!Number.isSafeInteger(params.cols) || params.cols < 1 || params.cols > HERMES_LIMITS.maxCols) {
      return fail(`cols must be an integer from 1 to ${HERMES_LIMITS.maxCols}`);
    }
    out.cols = params.cols;
  }
  for (const key of ['cwd', 'model'] as const) {
    const v = params[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length === 0 || v.length > 4096) return fail(`${key} must be a non-empty string`);
    out[key] = v;
  }
  return ok(out);
}

export interface HermesCreated {
  sessionId: string;
  storedSessionId: string;
  model?: string;
}

export function fromHermesCreate(result: unknown): Mapped<HermesCreated> {
  if (!isRecord(result)) return fail('hermes session.create answered no object');
  const sessionId = boundedString(result.session_id, HERMES_LIMITS.idChars);
  const storedSessionId = boundedString(result.stored_session_id, HERMES_LIMITS.idChars);
  if (!sessionId || !storedSessionId) return fail('hermes session.create answered without session_id/stored_session_id');
  const model = isRecord(result.info) ? boundedString(result.info.model, HERMES_LIMITS.idChars) : undefined;
  return ok(model === undefined ? { sessionId, storedSessionId } : { sessionId, storedSessionId, model });
}

/** {sessionId} → {session_id}, for session.close and any other per-session hermes method. */
export function toHermesSessionRef(sessionId: unknown): Mapped<{ session_id: string }> {
  const id = boundedString(sessionId, HERMES_LIMITS.idChars);
  return id ? ok({ session_id: id }) : fail('sessionId must be a non-empty string');
}

export function toHermesSlashExec(sessionId: unknown, command: unknown): Mapped<{ session_id: string; command: string }> {
  const ref = toHermesSessionRef(sessionId);
  if (!ref.ok) return ref;
  if (typeof command !== 'string' || command.length > HERMES_LIMITS.commandChars) {
    return fail(`command must be a string of at most ${HERMES_LIMITS.commandChars} characters`);
  }
  return ok({ session_id: ref.value.session_id, command });
}

export function fromHermesSlashExec(result: unknown): Mapped<{ output: string; warning?: string }> {
  if (!isRecord(result) || typeof result.output !== 'string') return fail('hermes slash.exec answered without output');
  return ok(typeof result.warning === 'string' && result.warning
    ? { output: result.output, warning: result.warning }
    : { output: result.output });
}

export function fromHermesClose(result: unknown): Mapped<{ closed: boolean }> {
  return isRecord(result) && typeof result.closed === 'boolean'
    ? ok({ closed: result.closed })
    : fail('hermes session.close answered without closed');
}

export interface HermesLiveSession {
  sessionId: string;
  /** The worker's --session-key (hermes' stored session id; can change on auto-compression). */
  sessionKey: string;
  status: string;
  model: string;
  title: string;
}

/** session.active_list's result. Rows without an id or key are skipped, never guessed. */
export function fromHermesActiveList(result: unknown): Mapped<HermesLiveSession[]> {
  if (!isRecord(result) || !Array.isArray(result.sessions)) return fail('hermes session.active_list answered without sessions');
  if (result.sessions.length > HERMES_LIMITS.activeSessions) {
    return fail(`hermes session.active_list answered ${result.sessions.length} sessions (limit ${HERMES_LIMITS.activeSessions})`);
  }
  const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, HERMES_LIMITS.titleChars) : '');
  const rows: HermesLiveSession[] = [];
  for (const r of result.sessions) {
    if (!isRecord(r)) continue;
    const sessionId = boundedString(r.id, HERMES_LIMITS.idChars);
    const sessionKey = boundedString(r.session_key, HERMES_LIMITS.idChars);
    if (!sessionId || !sessionKey) continue;
    rows.push({ sessionId, sessionKey, status: text(r.status), model: text(r.model), title: text(r.title) });
  }
  return ok(rows);
}

export interface HermesEvent {
  type: string;
  sessionId?: string;
  payload?: unknown;
}

/** A hermes notification: method "event", params {type, session_id?, payload?}; anything else undefined. */
export function parseHermesEvent(method: string, params: unknown): HermesEvent | undefined {
  if (method !== 'event' || !isRecord(params)) return undefined;
  const type = boundedString(params.type, HERMES_LIMITS.idChars);
  if (!type) return undefined;
  const ev: HermesEvent = { type };
  const sid = boundedString(params.session_id, HERMES_LIMITS.idChars);
  if (sid) ev.sessionId = sid;
  if (params.payload !== undefined) ev.payload = params.payload;
  return ev;
}
