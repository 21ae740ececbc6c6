// The command backend: any program (an agent CLI, an MCP server, a dev server) as the gateway's
// child, under every guard the gateway has. No sessions; process.tree and gateway.status show the
// program's live process tree, process.kill ends one node of it. The program is never restarted:
// when it exits, whatever it left behind is taken down (a warden keeps nothing running that its
// program no longer answers for) and gateway.status says how it ended.
// With cgroup containment the program runs in the tree's `program` leaf, and every teardown of it
// is that leaf's (programTeardown.ts).
import { delay } from '../../core/emitter';
import { Fingerprint } from '../../core/fingerprint';
import type { Target } from '../../core/kill';
import type { Containment } from '../cgroupContainment';
import type { GatewayOptions } from '../options';
import { Backend, BackendHost, GatewayCounts, KnownProcess, notSupported, ShutdownReason } from './backend';
import type { BackendSpec } from './backendOptions';
import { ForeignProgram, notStartedInfo } from './program';
import { endTreeWithHost, takeDownProgram, takeDownProgramSync } from './programTeardown';

/** A program still alive this long after its start counts as running (one that exits sooner failed). */
export const COMMAND_SETTLE_MS = 500;
/** SIGTERM grace for what an exited program left behind. */
const LEFTOVER_GRACE_MS = 500;

export class CommandBackend implements Backend {
  readonly name = 'command' as const;
  private program?: ForeignProgram;
  private startup?: Promise<void>;
  private stopping = false;

  constructor(
    private readonly spec: BackendSpec,
    private readonly options: GatewayOptions,
    private readonly ownerMarker: string,
    private readonly host: BackendHost,
    private readonly containment?: Containment,
  ) {}

  start(): Promise<void> {
    this.startup ??= this.doStart();
    return this.startup;
  }

  private async doStart(): Promise<void> {
    if (this.stopping) return; // shut down before it began
    const p = new ForeignProgram({
      backend: 'command',
      command: this.spec.command,
      cwd: this.spec.cwd,
      ownerMarker: this.ownerMarker,
      expected: 'a program that keeps running (the command backend watches it until the gateway stops)',
      logStdout: true,
      cgroupLeaf: this.containment?.programLeaf(),
      log: (m) => this.host.log(m),
    });
    this.program = p;
    p.onState(() => this.stateChanged(p));
    if (p.state === 'failed') {
      this.stateChanged(p);
      return;
    }
    this.host.log(`command: started ${p.what()} as pid ${p.pid}${p.cgroup ? ` in cgroup ${p.cgroup}` : ''}`);
    await Promise.race([p.exited, delay(COMMAND_SETTLE_MS)]);
    if (p.alive) p.markRunning();
    void p.exited.then(() => this.afterExit(p));
  }

  private stateChanged(p: ForeignProgram): void {
    const info = p.info();
    if (info.error) this.host.log(`command: ${info.error}`);
    else this.host.log(`command: ${p.display} is ${info.state}`);
    this.host.emit('backend.state', { backend: 'command', state: info.state, pid: info.pid, startTime: info.startTime, error: info.error, exit: info.exit });
  }

  /** The program exited on its own: what it started must not outlive it. */
  private async afterExit(p: ForeignProgram): Promise<void> {
    if (this.stopping) return;
    const r = await takeDownProgram([], LEFTOVER_GRACE_MS, this.roots(), this.leaves());
    if (r.processes > 0) this.host.log(`command: ${p.display} exited; took down ${r.processes} process(es) it left behind in ${r.elapsedMs} ms`);
  }

  private why(): string {
    return `it runs one program (${this.program ? `\`${this.program.display}\`` : 'none'}) and has no sessions; process.tree lists its processes and process.kill ends one`;
  }

  createSession(): Promise<{ sessionId: string }> {
    return Promise.reject(notSupported('command', 'session.create', this.why()));
  }

  closeSession(): Promise<boolean> {
    return Promise.resolve(false);
  }

  attachSession(): Promise<{ sessionId: string; attached: true }> {
    return Promise.reject(notSupported('command', 'session.attach', this.why()));
  }

  listSessions(): Promise<Record<string, unknown>> {
    return Promise.resolve({ sessions: [] });
  }

  exec(): Promise<Record<string, unknown>> {
    return Promise.reject(notSupported('command', 'slash.exec', this.why()));
  }

  killWorker(): Promise<Record<string, unknown>> {
    return Promise.reject(notSupported('command', 'worker.kill', this.why()));
  }

  call(): Promise<unknown> {
    return Promise.reject(notSupported('command', 'backend.call', 'the command backend does not speak to its program (it only watches its processes)'));
  }

  clientGone(): void {
    // No sessions to close.
  }

  sessionOwner(): undefined {
    return undefined;
  }

  counts(): GatewayCounts {
    return { limits: { maxSessions: this.options.maxSessions, maxWorkers: this.options.maxWorkers }, sessions: 0, workers: 0, busyWorkers: 0 };
  }

  statusExtras(): Record<string, unknown> {
    return { backend: 'command', program: this.program?.info() ?? notStartedInfo(this.spec.command, this.spec.cwd) };
  }

  /** The program, while it may still be alive (its fingerprint is checked before any signal). */
  private roots(): Fingerprint[] {
    return this.program?.fingerprint && this.program.pid !== null ? [this.program.fingerprint] : [];
  }

  /** The program's cgroup leaf as a teardown target, when it runs in one (else none). */
  private leaves(): Target[] {
    const dir = this.program?.cgroup;
    return dir && this.containment ? [this.containment.leafTarget(dir)] : [];
  }

  knownProcesses(): KnownProcess[] {
    const p = this.program;
    return p?.pid && p.fingerprint ? [{ pid: p.pid, startTime: p.fingerprint.startTime, role: 'program' }] : [];
  }

  stopAccepting(): void {
    this.stopping = true;
  }

  /**
   * Requested: stdin EOF first (many programs, MCP servers among them, exit on it), a short wait,
   * then the teardown. Lifeline: the teardown at once — with cgroups, the whole tree's end.
   */
  async shutdown(reason: ShutdownReason, workerGraceMs: number): Promise<void> {
    this.stopping = true;
    if (reason === 'lifeline') endTreeWithHost(this.containment, workerGraceMs, () => undefined, (m) => this.host.log(`command: ${m}`));
    const p = this.program;
    if (reason === 'shutdown' && p?.alive) {
      p.child?.stdin?.end();
      await Promise.race([p.exited, delay(workerGraceMs)]);
    }
    const r = await takeDownProgram([], workerGraceMs, this.roots(), this.leaves());
    this.host.log(`command: teardown (${reason}): ${r.processes} process(es) in ${r.elapsedMs} ms${r.hardKilled ? `, ${r.hardKilled} needed SIGKILL` : ''}`);
  }

  finalSweep(): void {
    takeDownProgramSync([], this.roots(), this.leaves());
  }
}
