// One running gateway: spawned without a shell as a process-group leader (POSIX) whose stdin is
// its lifeline, spoken to over newline-delimited JSON-RPC, started only once it says
// `gateway.ready`. Any way of failing to start leaves nothing running.
import { OWNER_ENV } from '../core/ownerMarker';
import { ChildProcess, spawn } from 'node:child_process';
import { Fingerprint, fingerprintOf } from '../core/fingerprint';
import { processGroup, processTree, Target, teardown } from '../core/kill';
import { LineDecoder } from '../core/lineDecoder';
import { JsonRpcConnection, RpcError, RpcErrorCode } from '../core/rpc';
import { delay, Emitter, Event } from '../core/emitter';
import { LaunchSpec } from './launchSpec';
import { Log } from './seams';

/** A gateway event: `params` of the `event` notification (always has `type`). */
export interface GatewayEvent {
  type: string;
  [key: string]: unknown;
}

/** The caps a gateway reported in `gateway.ready` (absent: it did not say, e.g. an older custom one). */
export interface GatewayLimits {
  maxSessions?: number;
  maxWorkers?: number;
}

export function limitsOf(ready: GatewayEvent | undefined): GatewayLimits | undefined {
  const l = ready?.limits as Record<string, unknown> | undefined;
  if (typeof l !== 'object' || l === null) return undefined;
  const count = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined);
  const out: GatewayLimits = { maxSessions: count(l.maxSessions), maxWorkers: count(l.maxWorkers) };
  return out.maxSessions === undefined && out.maxWorkers === undefined ? undefined : out;
}

export interface GatewayExit {
  code: number | null;
  signal: string | null;
  /** Last lines of stderr, for error messages. */
  stderrTail: string[];
}

export class GatewayStartError extends Error {
  constructor(message: string, readonly stderrTail: string[] = []) {
    super(message);
    this.name = 'GatewayStartError';
  }
}

export interface StartOptions {
  readyTimeoutMs?: number;
  log: Log;
  /**
   * Called at once when the process exists, before it is ready: whoever may have to end it
   * before then (deactivate, the exit hook) needs its group now, not when start() resolves.
   */
  onSpawn?: (gw: GatewayProcess) => void;
}

const POSIX = process.platform !== 'win32';
/** Errors that are no answer from the gateway. */
const SILENCE = new Set<number>([RpcErrorCode.RequestTimeout, RpcErrorCode.ConnectionClosed]);
const STDERR_TAIL = 20;
const STDERR_LINE_BYTES = 64 * 1024;
/** Events kept for the first listener (see GatewayProcess.early); more than this are dropped. */
const MAX_EARLY_EVENTS = 256;

export class GatewayProcess {
  private readonly events = new Emitter<GatewayEvent>();
  private readonly exits = new Emitter<GatewayExit>();
  /**
   * Events read before anyone listened: those in the same read as gateway.ready (a backend's
   * first backend.state follows it at once) would otherwise be lost. Replayed, in order, to the
   * first listener once the code that subscribed has finished its turn (the supervisor clears
   * the model when it announces the start; these must come after that).
   */
  private early: GatewayEvent[] | undefined = [];
  readonly onEvent: Event<GatewayEvent> = (listener) => {
    const sub = this.events.event(listener);
    if (this.early) {
      queueMicrotask(() => {
        const early = this.early ?? [];
        this.early = undefined;
        for (const ev of early) this.events.fire(ev);
      });
    }
    return sub;
  };
  readonly onExit = this.exits.event;
  private exitInfo: GatewayExit | undefined;
  private readonly exited: Promise<GatewayExit>;
  /** The `gateway.ready` event's fields (limits, attach …). */
  readyEvent?: GatewayEvent;

  private constructor(
    private readonly child: ChildProcess,
    private readonly rpc: JsonRpcConnection,
    readonly fingerprint: Fingerprint,
    readonly pgid: number,
    readonly spec: LaunchSpec,
    readonly startedAt: number,
    exited: Promise<GatewayExit>,
  ) {
    this.exited = exited.then((e) => (this.exitInfo = e));
  }

  get pid(): number {
    return this.fingerprint.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  whenExited(): Promise<GatewayExit> {
    return this.exited;
  }

  /** Starts the gateway and resolves once it has said `gateway.ready`. */
  static start(spec: LaunchSpec, opts: StartOptions): Promise<GatewayProcess> {
    const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
    const log = opts.log;
    return new Promise<GatewayProcess>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(spec.command, spec.args, {
          env: spec.env,
          stdio: ['pipe', 'pipe', 'pipe'],
          // Own process group (and session) on POSIX so the whole tree can be signalled at once.
          // Not on Windows: a detached child would escape libuv's kill-on-close job object.
          detached: POSIX,
          shell: false,
          windowsHide: true,
        });
      } catch (e) {
        reject(new GatewayStartError(`Cannot start the gateway (${spec.display}): ${(e as Error).message}`));
        return;
      }

      const stderrTail: string[] = [];
      const keep = (line: string) => {
        log.info(`[gateway ${child.pid ?? '?'}] ${line}`);
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
      };
      // Bounded per line: a (custom) gateway printing without newlines must not grow the host's memory.
      const stderrLines = new LineDecoder(STDERR_LINE_BYTES, {
        line: keep,
        oversize: (limit) => keep(`[a stderr line longer than ${limit} bytes was dropped]`),
      });
      child.stderr?.on('data', (chunk: Buffer) => stderrLines.push(chunk));
      // A dead gateway makes our writes fail with EPIPE; that is reported through 'exit'.
      child.stdin?.on('error', (e) => log.debug(`gateway stdin: ${e.message}`));

      const exited = new Promise<GatewayExit>((res) => {
        child.once('exit', (code, signal) => {
          stderrLines.end(); // a last line without a newline still counts
          res({ code, signal, stderrTail: [...stderrTail] });
        });
      });

      let settled = false;
      // Declared before `fail` (which clears it) because spawn errors can arrive first.
      // eslint-disable-next-line prefer-const
      let timer: NodeJS.Timeout | undefined;
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new GatewayStartError(message, [...stderrTail]));
      };

      child.once('error', (e: NodeJS.ErrnoException) => {
        // spawn failures (ENOENT, EACCES) come here with no process started.
        const why =
          e.code === 'ENOENT' ? 'the program was not found' :
          e.code === 'EACCES' ? 'permission denied (is it executable?)' :
          e.message;
        fail(`Cannot start the gateway command ${spec.display}: ${why}.`);
      });

      if (child.pid === undefined || !child.stdout || !child.stdin) return; // 'error' follows
      const pid = child.pid;
      // Read right away, before the program can exit: (pid, start time) is what kills check.
      const fp = fingerprintOf(pid) ?? { pid, startTime: -1, bootId: '' };
      const pgid = POSIX ? pid : 0;
      const rpc = new JsonRpcConnection(child.stdout, child.stdin, { maxLineBytes: 8 * 1024 * 1024, log: (m) => log.warn(`gateway rpc: ${m}`) });
      const gw = new GatewayProcess(child, rpc, fp, pgid, spec, Date.now(), exited);
      opts.onSpawn?.(gw);

      rpc.onNotification((method: string, params: unknown) => {
        const ev = toEvent(method, params);
        if (!ev) return;
        if (ev.type === 'gateway.ready' && !settled && speaksHermes(ev)) {
          // hermes-agent's own gateway, run as if it were a Warden gateway: it would look alive
          // and never work (its sessions, workers and errors are not ours to read).
          fail(
            `The gateway command ${spec.display} is hermes-agent's tui_gateway, which does not speak the Gateway Warden protocol ` +
            `(its gateway.ready carries a skin, no pid); it was stopped. Set gatewayWarden.gateway.backend to "hermes": the built-in gateway then runs it and translates.`,
          );
          void gw.forceKill();
          return;
        }
        if (ev.type === 'gateway.ready' && !settled) {
          settled = true;
          gw.readyEvent = ev;
          clearTimeout(timer);
          log.info(`gateway ready: pid ${pid}, group ${pgid} (${spec.display})`);
          resolve(gw);
          return;
        }
        if (!gw.early) gw.events.fire(ev);
        else if (gw.early.length < MAX_EARLY_EVENTS) gw.early.push(ev);
      });

      timer = setTimeout(() => {
        if (settled) return;
        fail(`The gateway command ${spec.display} did not report gateway.ready within ${Math.round(readyTimeoutMs / 1000)} s; it was stopped.${expectedNote(spec)}`);
        void gw.forceKill();
      }, readyTimeoutMs);

      void exited.then((e) => {
        rpc.dispose();
        if (!settled) {
          const how = e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
          const tail = e.stderrTail.length ? `: ${e.stderrTail.slice(-3).join(' | ')}` : '';
          fail(`The gateway command ${spec.display} ${how} before it was ready${tail}.${expectedNote(spec)}`);
          // The program is gone, but whatever it started in its group must not outlive it.
          void gw.forceKill();
        } else {
          gw.exits.fire(e);
        }
        gw.events.dispose();
      });
    });
  }

  request<T = unknown>(method: string, params?: unknown, timeoutMs = 10_000): Promise<T> {
    if (this.exitInfo) return Promise.reject(new Error('the gateway is not running'));
    return this.rpc.request(method, params, { timeoutMs }) as Promise<T>;
  }

  /**
   * The polite half of stopping: ask for `gateway.shutdown` (its workers get `graceMs` between
   * SIGTERM and SIGKILL) and see whether the gateway answers at all within `probeMs`. One that
   * answers is tearing its sessions down: its pipe stays open, so its worker.exited events still
   * arrive, until it exits or `politeMs` is up. One that does not answer (hung, stopped) or
   * refuses the request has its lifeline closed at once (it still exits on EOF) and is reported
   * as `answered: false`: then the caller tears down its workers itself.
   */
  async askToStop(graceMs: number, politeMs: number, probeMs: number): Promise<{ exited: boolean; answered: boolean }> {
    if (this.exitInfo) return { exited: true, answered: true };
    const closeLifeline = () => this.child.stdin?.end();
    this.rpc.request('gateway.shutdown', { graceMs }, { timeoutMs: politeMs }).then(
      () => undefined,
      closeLifeline, // refused (a gateway without it) or timed out
    );
    const answered = await Promise.race([
      // Any reply counts, an error too (a gateway without gateway.status); silence does not.
      this.rpc.request('gateway.status', {}, { timeoutMs: probeMs }).then(() => true, (e) => !(e instanceof RpcError && SILENCE.has(e.code))),
      this.exited.then(() => true),
    ]);
    if (answered) await Promise.race([this.exited, delay(politeMs, true)]);
    closeLifeline();
    return { exited: this.exitInfo !== undefined, answered };
  }

  /** The gateway's group (POSIX) or its tree (Windows); `hung`: SIGKILL from the start (it cannot act on SIGTERM). */
  target(hung = false): Target {
    return POSIX ? processGroup(this.pgid, this.fingerprint, hung) : processTree(this.fingerprint);
  }

  /** Ends the gateway and everything in its group now (a failed start); never throws. */
  async forceKill(graceMs = 200, timeoutMs = 3000): Promise<void> {
    await teardown([this.target()], { graceMs, timeoutMs, ownerMarker: this.spec.env[OWNER_ENV] });
    if (!this.exitInfo) await Promise.race([this.exited, delay(Math.max(100, graceMs), true)]);
  }
}

/** hermes-agent's first frame: `{type: "gateway.ready", payload: {skin}}`, no pid (ours always has one). */
function speaksHermes(ev: GatewayEvent): boolean {
  const payload = ev.payload as Record<string, unknown> | undefined;
  return ev.pid === undefined && typeof payload === 'object' && payload !== null && 'skin' in payload;
}

/** What the program should have been (a `warden` gateway that is something else), for start errors. */
function expectedNote(spec: LaunchSpec): string {
  return spec.expected ? ` Expected ${spec.expected}.` : '';
}

/** The DESIGN event form is `method: "event", params: {type}`; a bare method name is tolerated. */
function toEvent(method: string, params: unknown): GatewayEvent | undefined {
  const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
  if (method === 'event') return typeof p.type === 'string' ? (p as GatewayEvent) : undefined;
  return { ...p, type: method };
}

