// Admission of the attach endpoint's raw TCP connections, decided the moment one is accepted,
// before it sends a byte: at most `maxPending` may be waiting to authenticate, each for at most
// `handshakeTimeoutMs` (a socket that never sends anything included), and at most
// `maxConnections` may be open in all. Anything over a cap is destroyed at once, so a flood of
// idle sockets costs a bounded number of descriptors. Refusals are tallied and logged at most
// once per window, not once per socket (a flood must not become a flood of log lines).
import type { Socket } from 'node:net';

export interface AdmissionLimits {
  handshakeTimeoutMs: number;
  maxPending: number;
  maxConnections: number;
}

export type RefusalReason =
  | 'over the connection cap'
  | 'over the pending cap'
  | 'past the handshake deadline'
  | 'with a browser Origin'
  | 'without a valid token';

/** How long a refused socket may take to flush its HTTP answer before it is destroyed. */
const ANSWER_FLUSH_MS = 1000;

export class AttachAdmission {
  private readonly pending = new Map<Socket, NodeJS.Timeout>();
  private readonly open = new Set<Socket>();
  private readonly refusedCounts = new Map<RefusalReason, number>();
  private readonly totals = new Map<RefusalReason, number>();
  private logWindow?: NodeJS.Timeout;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly log: (m: string) => void,
    private readonly logWindowMs = 10_000,
  ) {}

  /** A socket just accepted: true when admitted (pending until authenticated); false: destroyed. */
  admit(socket: Socket): boolean {
    socket.on('error', () => undefined); // a reset must never become an uncaught error
    if (this.open.size >= this.limits.maxConnections) return this.refuse(socket, 'over the connection cap');
    if (this.pending.size >= this.limits.maxPending) return this.refuse(socket, 'over the pending cap');
    this.open.add(socket);
    const deadline = setTimeout(() => this.refuse(socket, 'past the handshake deadline'), this.limits.handshakeTimeoutMs);
    deadline.unref();
    this.pending.set(socket, deadline);
    socket.once('close', () => this.forget(socket));
    return true;
  }

  /** The socket completed an authenticated upgrade: no deadline any more. False if it is gone. */
  authenticated(socket: Socket): boolean {
    const deadline = this.pending.get(socket);
    if (deadline === undefined) return false;
    clearTimeout(deadline);
    this.pending.delete(socket);
    return !socket.destroyed;
  }

  /**
   * Refuses a socket: with an HTTP answer when given (it stays counted until it has closed,
   * at most ANSWER_FLUSH_MS), else destroyed at once.
   */
  refuse(socket: Socket, reason: RefusalReason, answer?: string): false {
    this.count(reason);
    const deadline = this.pending.get(socket);
    if (deadline !== undefined) clearTimeout(deadline);
    if (answer === undefined || socket.destroyed) {
      this.forget(socket);
      socket.destroy();
      return false;
    }
    socket.once('finish', () => socket.destroy());
    setTimeout(() => socket.destroy(), ANSWER_FLUSH_MS).unref();
    socket.end(answer);
    return false;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get openCount(): number {
    return this.open.size;
  }

  /** Refusals since start, by reason. */
  refusals(): Record<string, number> {
    return Object.fromEntries(this.totals);
  }

  /** Destroys every socket still open (shutdown). */
  closeAll(): void {
    for (const socket of [...this.open]) {
      this.forget(socket);
      socket.destroy();
    }
    if (this.logWindow) clearTimeout(this.logWindow);
    this.logWindow = undefined;
    this.flushLog();
  }

  private forget(socket: Socket): void {
    const deadline = this.pending.get(socket);
    if (deadline !== undefined) clearTimeout(deadline);
    this.pending.delete(socket);
    this.open.delete(socket);
  }

  /** The first refusal in a quiet spell is logged at once; later ones as one line per window. */
  private count(reason: RefusalReason): void {
    this.totals.set(reason, (this.totals.get(reason) ?? 0) + 1);
    if (this.logWindow === undefined) {
      this.log(`attach: refused a connection ${reason}`);
      this.openLogWindow();
      return;
    }
    this.refusedCounts.set(reason, (this.refusedCounts.get(reason) ?? 0) + 1);
  }

  private openLogWindow(): void {
    this.logWindow = setTimeout(() => {
      this.logWindow = undefined;
      if (this.flushLog()) this.openLogWindow();
    }, this.logWindowMs);
    this.logWindow.unref();
  }

  /** Logs the tally of the window that just ended; true if there was anything to log. */
  private flushLog(): boolean {
    if (this.refusedCounts.size === 0) return false;
    const parts = [...this.refusedCounts].map(([reason, n]) => `${n} ${reason}`);
    const total = [...this.refusedCounts.values()].reduce((a, b) => a + b, 0);
    this.refusedCounts.clear();
    this.log(`attach: refused ${total} more connection(s) within ${this.logWindowMs / 1000} s: ${parts.join(', ')}`);
    return true;
  }
}
