// One slash worker as the gateway sees it: the child process (leader of its own group on
// POSIX), its JSON-RPC connection over the stdio pipes, and the one way to close it:
// a polite request, then SIGTERM, then SIGKILL on the worker's whole group, pipes destroyed.
import { delay } from '../core/emitter';
import { ChildProcess, spawn } from 'node:child_process';
import { Fingerprint, fingerprintOf, formatFingerprint, selfFingerprint } from '../core/fingerprint';
import { SMALL_HEAP_FLAGS } from '../core/heapFlags';
import { cgroupTarget, describeProblems, processGroup, processTree, Target, teardown, TeardownReport } from '../core/kill';
import { OWNER_ENV, PARENT_ENV } from '../core/ownerMarker';
import { PARENT_DEATH_SIGNAL, parentDeathSignalPrefix } from '../core/parentDeathSignal';
import { DEFAULT_MAX_LINE_BYTES, idForLog, JsonRpcConnection, RpcError, RpcErrorCode } from '../core/rpc';
import { markedBySync } from '../core/taggedProcesses';
import { DEFAULT_TIMEOUTS } from '../core/timeouts';
import { StderrTail } from './stderrTail';

export type WorkerState = 'starting' | 'ready' | 'closing' | 'exited';

export interface WorkerSpawnOptions {
  sessionId: string;
  workerPath: string;
  ownerMarker: string;
  owner?: Fingerprint;
  pollMs: number;
  idleTimeoutMs: number;
  /** The SIGTERM→SIGKILL gap the worker gives its children when a signal ends it (the shutdown grace). */
  exitGraceMs?: number;
  /** The line limit both ways on the worker's pipes; the worker fits its replies to it. */
  maxLineBytes?: number;
  /** The session's cgroup leaf the worker joins first thing (cgroup containment), and the directory its tree is in. */
  cgroup?: { leaf: string; parent: string };
  log(message: string): void;
}

export interface WorkerExit {
  code: number | null;
  signal: string | null;
}

export interface WorkerInfo {
  pid: number;
  startTime: number;
  pgid: number | null;
  state: WorkerState;
  lastActivityAt: number;
}

/** The worker guard mechanism is logged once per gateway. */
let loggedGuard = false;

const { workerPoliteCloseMs: POLITE_MS, workerCloseGraceMs: GROUP_GRACE_MS, workerCloseTimeoutMs: GROUP_TIMEOUT_MS } = DEFAULT_TIMEOUTS;

export class WorkerProcess {
  readonly pid: number;
  readonly fingerprint: Fingerprint;
  readonly pgid: number | null;
  state: WorkerState = 'starting';
  lastActivityAt = Date.now();
  exitInfo?: WorkerExit;
  readonly exited: Promise<WorkerExit>;
  readonly ready: Promise<void>;
  private readonly rpc: JsonRpcConnection;
  private readonly stderr = new StderrTail();
  private protocolError?: string;
  private closing?: Promise<TeardownReport | undefined>;
  /** A sweep over many groups (closeAll) that has this worker's: close() waits for it, and when it emptied the group only collects the exit. */
  private sweep?: Promise<boolean>;
  /** The sweep is a cgroup's emptied by the kernel (populated 0) with this worker in it: proof it has exited. */
  private sweepProvesExit = false;
  /** The worker said (ready) it is in its session's leaf: everything it starts is there. */
  contained = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly sessionId: string,
    private readonly log: (m: string) => void,
    maxLineBytes: number,
    readonly cgroup?: { leaf: string; parent: string },
  ) {
    this.pid = child.pid!;
    // Read at once: the fingerprint is what every later signal is checked against.
    this.fingerprint = fingerprintOf(this.pid) ?? { pid: this.pid, startTime: 0, bootId: '' };
    this.pgid = process.platform === 'win32' ? null : this.pid;
    child.stderr!.on('data', (c: Buffer) => this.stderr.push(c));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.state = 'exited';
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    this.rpc = new JsonRpcConnection(child.stdout!, child.stdin!, {
      maxLineBytes,
      log: (m) => log(`worker ${this.pid}: ${m}`),
      onUnexpectedResponse: (m) => {
        // A reply we never asked for means the worker's side of the protocol is broken: fail
        // everything in flight now rather than wait for timeouts, and retire the worker.
        this.protocolError = `worker ${this.pid} replied with an unexpected id ${idForLog(m.id)}`;
        log(this.protocolError);
        this.rpc.dispose(this.protocolError);
        void this.close();
      },
    });
    this.ready = new Promise<void>((resolve, reject) => {
      this.rpc.onNotification((method, params) => {
        if (method === 'ready') {
          this.contained = cgroup !== undefined && (params as { cgroup?: unknown } | undefined)?.cgroup === cgroup.leaf;
          if (cgroup && !this.contained) log(`worker ${this.pid}: not in its cgroup ${cgroup.leaf} (see its stderr); its group contains it`);
          if (this.state === 'starting') this.state = 'ready';
          resolve();
        }
      });
      void this.exited.then((e) => reject(this.deathError('while starting', e)));
    });
    this.ready.catch(() => undefined);
  }

  static spawn(opts: WorkerSpawnOptions): WorkerProcess {
    const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const args = [
      ...SMALL_HEAP_FLAGS,
      opts.workerPath,
      '--session', opts.sessionId,
      '--parent', formatFingerprint(selfFingerprint()),
      '--poll-ms', String(opts.pollMs),
      '--idle-timeout-ms', String(opts.idleTimeoutMs),
      '--max-line-bytes', String(maxLineBytes),
    ];
    if (opts.owner) args.push('--owner', formatFingerprint(opts.owner));
    if (opts.exitGraceMs !== undefined) args.push('--exit-grace-ms', String(opts.exitGraceMs));
    if (opts.cgroup) args.push('--cgroup', opts.cgroup.leaf);
    // Linux: the kernel SIGKILLs the worker when this process dies, however blocked its event
    // loop is; the worker is told so and starts no guard thread (see core/parentDeathSignal.ts).
    const { prefix: pdeathsig, why } = parentDeathSignalPrefix();
    if (!loggedGuard) {
      loggedGuard = true;
      opts.log(pdeathsig ? `workers start through ${why}: no guard thread in them` : `workers keep their blocked-loop guard thread (no parent-death signal: ${why})`);
    }
    if (pdeathsig) args.push('--parent-death-signal', PARENT_DEATH_SIGNAL);
    const argv = pdeathsig ? [...pdeathsig, process.execPath, ...args] : [process.execPath, ...args];
    const child = spawn(argv[0], argv.slice(1), {
      // POSIX: the worker leads its own group, so "the worker and everything it started" is one
      // signal away. Windows: not detached, so libuv's kill-on-close job keeps it tied to us.
      detached: process.platform !== 'win32',
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
      env: {
        ...process.env, // ELECTRON_RUN_AS_NODE and the test knobs come through here
        [OWNER_ENV]: opts.ownerMarker,
        [PARENT_ENV]: formatFingerprint(selfFingerprint()),
      },
    });
    if (child.pid === undefined) {
      child.on('error', () => undefined);
      throw new RpcError(RpcErrorCode.ServerError, `cannot start a worker (${process.execPath} ${opts.workerPath})`);
    }
    child.on('error', (e) => opts.log(`worker ${child.pid}: ${e.message}`));
    return new WorkerProcess(child, opts.sessionId, opts.log, maxLineBytes, opts.cgroup);
  }

  info(): WorkerInfo {
    return { pid: this.pid, startTime: this.fingerprint.startTime, pgid: this.pgid, state: this.state, lastActivityAt: this.lastActivityAt };
  }

  get stderrTail(): string {
    return this.stderr.value;
  }

  /** Waits for the worker's ready notification (or its death, or the timeout). */
  async waitReady(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RpcError(RpcErrorCode.RequestTimeout, `worker ${this.pid} did not start within ${timeoutMs} ms${this.tailNote()}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async exec(command: string, timeoutMs: number): Promise<string> {
    this.lastActivityAt = Date.now();
    try {
      const r = await this.rpc.request<{ output?: unknown }>('exec', { command }, { timeoutMs });
      return typeof r?.output === 'string' ? r.output : JSON.stringify(r?.output ?? null);
    } catch (e) {
      throw await this.explain(e, command, timeoutMs);
    } finally {
      this.lastActivityAt = Date.now();
    }
  }

  /** A sweep over this worker's group (with others) is under way; it resolves whether it emptied the group. */
  sweptBy(sweep: Promise<boolean>, exitProven = false): void {
    this.sweep = sweep;
    this.sweepProvesExit = exitProven;
  }

  /** What takes this worker down with everything it started: its group (POSIX) or its tree (Windows). */
  get target(): Target {
    return this.pgid !== null ? processGroup(this.pgid, this.fingerprint) : processTree(this.fingerprint);
  }

  /**
   * The same, with cgroup containment: its session's leaf (cgroup.kill, no /proc scan), emptied
   * and removed. A worker that never said it joined the leaf (not ready yet, or it could not)
   * started nothing in it yet or is outside: its group is taken too.
   */
  get targets(): Target[] {
    if (!this.cgroup) return [this.target];
    const leaf = cgroupTarget(this.cgroup.leaf, { parent: this.cgroup.parent });
    return this.contained ? [leaf] : [leaf, this.target];
  }

  /**
   * Without a cgroup, what the worker's /run commands started outside its group (setsid, a double
   * fork), found by the marker it lent them. Its own teardown would take them, but only in its
   * grace, and the group's SIGKILL comes at the end of ours, which began first: one that ignores
   * SIGTERM would outlive it. With a cgroup its leaf holds them.
   */
  private markedEscapees(): Target[] {
    if (this.cgroup || this.fingerprint.startTime <= 0) return [];
    return markedBySync(this.fingerprint).map((fp) => processTree(fp));
  }

  /**
   * Idempotent; resolves when the worker and its whole group are gone and the pipes closed, with
   * what the group teardown did (undefined when none was needed). `polite`: ask the worker to
   * exit first (it takes its own children down); worker.kill does not.
   */
  close(polite = true): Promise<TeardownReport | undefined> {
    this.closing ??= this.doClose(polite);
    return this.closing;
  }

  private async doClose(polite: boolean): Promise<TeardownReport | undefined> {
    if (this.state !== 'exited') this.state = 'closing';
    // Not a second teardown of the same group meanwhile (a worker exiting during the sweep closes itself).
    const groupGone = this.sweep ? await this.sweep : false;
    if (polite && !this.exitInfo && !this.rpc.isClosed && !groupGone) {
      // Polite: the worker takes its own children down and exits.
      await Promise.race([
        this.rpc.request('shutdown', {}, { timeoutMs: POLITE_MS }).then(() => this.exited).catch(() => undefined),
        this.exited,
        delay(POLITE_MS),
      ]);
    }
    let report: TeardownReport | undefined;
    // Swept already (closeAll): nothing left to signal, only the exit to collect. Otherwise,
    // whatever the leader did, escalate on the group until it is empty.
    if (!groupGone) {
      report = await teardown([...this.targets, ...this.markedEscapees()], { graceMs: GROUP_GRACE_MS, timeoutMs: GROUP_TIMEOUT_MS });
      const problems = describeProblems(report);
      if (problems) this.log(`worker ${this.pid}: group teardown: ${problems}`);
    }
    // (After a cgroup sweep that emptied its cgroup the worker has exited: its exit event is not waited for.)
    if (!this.exitInfo && !(groupGone && this.sweepProvesExit && this.contained)) await Promise.race([this.exited, delay(2000)]);
    this.rpc.dispose('worker closed');
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) s?.destroy();
    this.child.unref();
    return report;
  }

  private tailNote(): string {
    const t = this.stderr.value;
    return t ? `; worker stderr (tail):\n${t}` : '';
  }

  private deathError(when: string, e: WorkerExit): RpcError {
    const how = e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
    return new RpcError(RpcErrorCode.ServerError, `worker ${this.pid} died ${when} (${how})${this.tailNote()}`, {
      pid: this.pid, code: e.code, signal: e.signal, stderrTail: this.stderr.value,
    });
  }

  /** Turns a failed exec into a clear error: worker reply errors pass through, deaths explain. */
  private async explain(e: unknown, command: string, timeoutMs: number): Promise<RpcError> {
    const what = JSON.stringify(command.slice(0, 80));
    if (!(e instanceof RpcError)) return new RpcError(RpcErrorCode.InternalError, String(e));
    if (e.code === RpcErrorCode.RequestTimeout) {
      return new RpcError(RpcErrorCode.RequestTimeout, `slash command ${what} timed out after ${timeoutMs} ms; its worker ${this.pid} is being replaced`);
    }
    if (e.code !== RpcErrorCode.ConnectionClosed) return e; // the worker's own answer
    if (this.protocolError) {
      return new RpcError(RpcErrorCode.ServerError, `${this.protocolError} during ${what}; the worker was closed and the next command gets a fresh one${this.tailNote()}`, {
        pid: this.pid, stderrTail: this.stderr.value,
      });
    }
    // The pipe closed: give the exit status a moment to arrive so the message can name it.
    const exit = await Promise.race([this.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000))]);
    if (exit) return this.deathError(`during ${what}`, exit);
    return new RpcError(RpcErrorCode.ServerError, `lost the connection to worker ${this.pid} during ${what} (${e.message})${this.tailNote()}`);
  }
}
