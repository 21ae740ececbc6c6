// The foreign program behind the hermes and command backends: started as the gateway's child in
// the gateway's own process group (so every group teardown of the gateway reaches it), stdio
// piped, the owner marker and the gateway's tag in its environment (so a descendant that left the
// group or the tree is still found), its stderr logged line by line and its tail kept for errors.
// It is never restarted: a failure is kept, with what was expected and what was run.
// With cgroup containment it runs in the tree's `program` leaf, joined before it runs anything (a
// shell moves itself there, then execs it: core/cgroup/cgroupJoinArgv.ts), so everything it ever
// starts is in the kernel's list of that leaf, whatever it does to its group or environment.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { displayArgv } from '../../core/argvText';
import { isJoinFailure, JOIN_FAILED_EXIT, joinLeafArgv } from '../../core/cgroup/cgroupJoinArgv';
import { findExecutable } from '../../core/executablePath';
import { Fingerprint, fingerprintOf, formatFingerprint, selfFingerprint } from '../../core/fingerprint';
import { ownProcessGroup } from '../../core/kill';
import { LineDecoder } from '../../core/lineDecoder';
import { OWNER_ENV } from '../../core/ownerMarker';
import { StderrTail } from '../stderrTail';
import { BACKEND_ENV, BackendName } from './backendOptions';

/** The gateway's fingerprint, in the environment of everything its program starts. */
export const GATEWAY_TAG_ENV = 'GATEWAY_WARDEN_GATEWAY';

export type ProgramState = 'starting' | 'running' | 'failed' | 'exited';

export interface ProgramExit {
  code: number | null;
  signal: string | null;
}

export interface ProgramInfo {
  pid: number | null;
  startTime: number | null;
  pgid: number | null;
  command: string[];
  display: string;
  cwd: string;
  state: ProgramState;
  startedAt: number;
  /** Set when it failed (or exited): what was expected, what was run, and what happened. */
  error: string | null;
  exit: ProgramExit | null;
  stderrTail: string;
  /** The cgroup leaf it runs in (cgroup containment), or null: in the gateway's own group only. */
  cgroup: string | null;
}

export interface ProgramOptions {
  backend: BackendName;
  command: readonly string[];
  cwd?: string;
  ownerMarker: string;
  /** What the program should be, for error messages ("the hermes-agent gateway"). */
  expected: string;
  /** More to say when it fails (what its stdout said), appended to the message. */
  outputNote?: () => string;
  /** Log its stdout line by line (the command backend); else the caller reads it (hermes). */
  logStdout?: boolean;
  /** The cgroup leaf to run it in (joined before it runs anything); absent: no cgroup of its own. */
  cgroupLeaf?: string;
  log(message: string): void;
}

/** Stderr lines longer than this are cut in the log (the tail keeps what fits). */
const MAX_LOG_LINE = 8 * 1024;
/** How long an exit that may be the cgroup wrapper's failed move waits for the rest of its stderr. */
const STDERR_END_WAIT_MS = 500;

export class ForeignProgram {
  readonly command: string[];
  readonly display: string;
  readonly cwd: string;
  readonly startedAt = Date.now();
  readonly stderr = new StderrTail();
  readonly child?: ChildProcess;
  readonly pid: number | null = null;
  readonly fingerprint?: Fingerprint;
  readonly cgroup: string | null;
  state: ProgramState = 'starting';
  error: string | null = null;
  exitInfo: ProgramExit | null = null;
  /** Resolves when the process has exited, or at once when it never started. */
  readonly exited: Promise<ProgramExit>;
  private readonly stateListeners: ((p: ForeignProgram) => void)[] = [];

  constructor(private readonly opts: ProgramOptions) {
    this.command = [...opts.command];
    this.display = displayArgv(this.command[0] ?? '', this.command.slice(1));
    this.cwd = opts.cwd ?? process.cwd();
    this.cgroup = opts.cgroupLeaf ?? null;
    let resolveExit!: (e: ProgramExit) => void;
    this.exited = new Promise((r) => (resolveExit = r));
    const problem = this.preflight();
    if (problem) {
      this.fail(problem);
      resolveExit({ code: null, signal: null });
      return;
    }
    const env = programEnv(opts.ownerMarker);
    // In a leaf the shell execs the program: a missing one would be its exit 127, so it is looked
    // up first for the same clear error as spawn's own ENOENT/EACCES.
    const lookup = this.cgroup === null ? undefined : findExecutable(this.command[0], env, this.cwd);
    if (lookup && !lookup.ok) {
      this.fail(this.spawnFailure(Object.assign(new Error(lookup.code), { code: lookup.code }), this.command[0]));
      resolveExit({ code: null, signal: null });
      return;
    }
    const argv = this.cgroup === null ? this.command : joinLeafArgv(this.cgroup, this.command);
    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), {
        cwd: this.cwd,
        env,
        // Not detached: the program stays in the gateway's group, so the host's teardown of that
        // group reaches it, and the gateway's own final sweep does too.
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (e) {
      this.fail(this.spawnFailure(e as NodeJS.ErrnoException, argv[0]));
      resolveExit({ code: null, signal: null });
      return;
    }
    this.child = child;
    child.on('error', (e: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES) arrive here with no pid; later errors are only logged.
      if (child.pid === undefined) {
        this.fail(this.spawnFailure(e, argv[0]));
        resolveExit({ code: null, signal: null });
      } else opts.log(`${opts.backend} program ${child.pid}: ${e.message}`);
    });
    child.stdin!.on('error', () => undefined); // EPIPE once it is gone: its exit says why
    if (child.pid === undefined) return; // the 'error' event follows
    this.pid = child.pid;
    // Read at once: every later signal to it is checked against this.
    this.fingerprint = fingerprintOf(child.pid) ?? { pid: child.pid, startTime: 0, bootId: '' };
    const decoder = this.logLines('stderr');
    child.stderr!.on('data', (c: Buffer) => {
      this.stderr.push(c);
      decoder.push(c);
    });
    if (opts.logStdout) {
      // Read, or a chatty program blocks on a full pipe.
      const out = this.logLines('stdout');
      child.stdout!.on('data', (c: Buffer) => out.push(c));
    }
    child.on('exit', (code, signal) => {
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        clearTimeout(bound);
        this.exitInfo = { code, signal };
        if (this.state === 'starting' && this.cgroup !== null && isJoinFailure(code, this.stderr.value)) {
          this.fail(`cannot start ${this.what()} in its cgroup leaf ${this.cgroup}: the move into it failed, so it was not run${this.tailNote()}`);
        } else if (this.state === 'starting') this.fail(`${this.what()} exited (${howEnded(this.exitInfo)}) ${Date.now() - this.startedAt} ms after it started, before ${opts.expected}${opts.outputNote?.() ?? ''}${this.tailNote()}`);
        else if (this.state === 'running') this.setState('exited');
        resolveExit(this.exitInfo);
      };
      // The wrapper's failed move is told by its stderr line, which may arrive after the exit: read
      // to its end first (bounded: a descendant may hold the pipe).
      const bound = code === JOIN_FAILED_EXIT && this.cgroup !== null && this.state === 'starting' && !child.stderr!.readableEnded
        ? setTimeout(settle, STDERR_END_WAIT_MS) : undefined;
      if (bound) child.stderr!.once('end', settle);
      else settle();
    });
  }

  private logLines(stream: 'stdout' | 'stderr'): LineDecoder {
    const prefix = () => `${this.opts.backend}[${this.pid}]${stream === 'stdout' ? ' stdout:' : ''}`;
    return new LineDecoder(MAX_LOG_LINE, {
      line: (text) => this.opts.log(`${prefix()} ${text}`),
      oversize: (limit) => this.opts.log(`${prefix()} (a ${stream} line longer than ${limit} bytes, not logged)`),
    });
  }

  /** Registers a listener for state changes (running, failed, exited). */
  onState(listener: (p: ForeignProgram) => void): void {
    this.stateListeners.push(listener);
  }

  get alive(): boolean {
    return this.pid !== null && this.exitInfo === null;
  }

  markRunning(): void {
    if (this.state === 'starting') this.setState('running');
  }

  /** It did not come up as expected: recorded (the caller takes it down). */
  fail(message: string): void {
    if (this.state === 'failed' || this.state === 'exited') return;
    this.error = message;
    this.setState('failed');
  }

  info(): ProgramInfo {
    return {
      pid: this.pid,
      startTime: this.fingerprint?.startTime ?? null,
      pgid: this.pid === null ? null : ownProcessGroup() ?? null,
      command: this.command,
      display: this.display,
      cwd: this.cwd,
      state: this.state,
      startedAt: this.startedAt,
      error: this.error ?? (this.state === 'exited' && this.exitInfo ? `${this.what()} exited (${howEnded(this.exitInfo)})` : null),
      exit: this.exitInfo,
      stderrTail: this.stderr.value,
      cgroup: this.cgroup,
    };
  }

  /** `the hermes gateway \`python3 -m …\` (cwd /x)` — for messages. */
  what(): string {
    return `\`${this.display}\` (cwd ${this.cwd})`;
  }

  tailNote(): string {
    const t = this.stderr.value;
    return t ? `; its stderr ended with:\n${t.split('\n').slice(-8).join('\n')}` : '';
  }

  private setState(s: ProgramState): void {
    this.state = s;
    for (const l of this.stateListeners) {
      try {
        l(this);
      } catch (e) {
        this.opts.log(`program state listener threw: ${(e as Error).message}`);
      }
    }
  }

  private preflight(): string | undefined {
    if (this.command.length === 0 || !this.command[0]) return `no command to run: the ${this.opts.backend} backend needs one, e.g. \`node gateway.js --backend ${this.opts.backend} -- PROGRAM ARGS\``;
    try {
      if (!fs.statSync(this.cwd).isDirectory()) return `cannot start \`${this.display}\`: its working directory ${this.cwd} is not a directory`;
    } catch (e) {
      return `cannot start \`${this.display}\`: its working directory ${this.cwd} cannot be used (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    }
    return undefined;
  }

  /** `file`: what was spawned (the program, or the shell that joins its leaf). */
  private spawnFailure(e: NodeJS.ErrnoException, file: string): string {
    const why = e.code === 'ENOENT' ? `${file} was not found (ENOENT; not on PATH, or no such file)`
      : e.code === 'EACCES' ? `${file} is not executable (EACCES)`
      : e.message;
    return `cannot start ${this.what()}: ${why}; expected ${this.opts.expected}`;
  }
}

/** ProgramInfo before the program is started (gateway.ready comes first). */
export function notStartedInfo(command: readonly string[], cwd: string | undefined): ProgramInfo {
  return {
    pid: null, startTime: null, pgid: null, command: [...command], display: displayArgv(command[0] ?? '', command.slice(1)),
    cwd: cwd ?? process.cwd(), state: 'starting', startedAt: Date.now(), error: null, exit: null, stderrTail: '', cgroup: null,
  };
}

/**
 * The program's environment: ours, with the owner marker and our tag, without our own settings —
 * nor ELECTRON_RUN_AS_NODE, which the host sets so that VS Code's runtime runs this gateway as
 * node; an Electron-based program inheriting it would start as a bare node instead of itself.
 */
function programEnv(ownerMarker: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, [OWNER_ENV]: ownerMarker, [GATEWAY_TAG_ENV]: formatFingerprint(selfFingerprint()) };
  for (const name of Object.values(BACKEND_ENV)) delete env[name];
  delete env.ELECTRON_RUN_AS_NODE;
  return env;
}

export function howEnded(e: ProgramExit): string {
  return e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
}
