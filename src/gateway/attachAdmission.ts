// Admission of the attach endpoint's raw TCP connections, decided the moment one is accepted,
// before it sends a byte: at most `maxPending` may be waiting to authenticate, each for at most
// `handshakeTimeoutMs` (a socket that never sends anything included), and at most
// `maxConnections` may be open in all. Anything over a cap is destroyed at once, so a flood of
// idle sockets costs a bounded number of descriptors.
// When the pending slots are full, the oldest pending socket that has not sent a byte makes room
// for the newcomer (a client sends its upgrade request at once; an idle flood never does). When
// every pending socket has sent something, who opened each socket decides (attachPeerUid.ts, one read
// of the socket table for the newcomer and every pending socket): another user's sockets could
// never authenticate (the token file is ours, 0600), so they are closed and our own user's
// newcomer takes the freed slot — another user's sustained reconnect flood cannot keep our
// clients out. Those reads cost time in proportion to the machine's socket table, so they are
// made only under contention and within a time budget per second; past it, the caps alone decide.
// Refusals are tallied and logged at most once per window, not once per socket (a flood must not
// become a flood of log lines).
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { PeerUid } from './attachPeerUid';

/** At most this much time per second goes to finding who opened sockets. */
const PEER_LOOKUP_BUDGET_MS = 100;

export interface AdmissionLimits {
  handshakeTimeoutMs: number;
  maxPending: number;
  maxConnections: number;
}

export type RefusalReason =
  | 'from another user'
  | 'over the connection cap'
  | 'over the pending cap'
  | 'silent while the pending slots were full'
  | 'past the handshake deadline'
  | 'with a browser Origin'
  | 'without a valid token';

/** How long a refused socket may take to flush its HTTP answer before it is destroyed. */
const ANSWER_FLUSH_MS = 1000;

export class AttachAdmission {
  private readonly pending = new Map<Socket, NodeJS.Timeout>();
  private readonly admittedTurn = new WeakMap<Socket, number>();
  private turn = 0;
  private turnEnding = false;
  private readonly open = new Set<Socket>();
  private readonly refusedCounts = new Map<RefusalReason, number>();
  private readonly totals = new Map<RefusalReason, number>();
  private logWindow?: NodeJS.Timeout;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly log: (m: string) => void,
    private readonly logWindowMs = 10_000,
    /** Who opened each socket (one look for all); 'unknown' leaves the decision to the caps and the token. */
    private readonly peerUids: (sockets: readonly Socket[]) => PeerUid[] = (ss) => ss.map(() => ({ state: 'unknown', why: 'not asked' })),
    private readonly ownUid = process.getuid?.(),
  ) {}

  /** A socket just accepted: true when admitted (pending until authenticated); false: destroyed. */
  admit(socket: Socket): boolean {
    socket.on('error', () => undefined); // a reset must never become an uncaught error
    if (this.open.size >= this.limits.maxConnections) return this.refuse(socket, 'over the connection cap');
    if (this.pending.size >= this.limits.maxPending) {
      // A client of ours sends its upgrade request the moment it connects; a socket that has not
      // sent a byte while every slot is taken is the one to drop (the oldest such: Map order).
      const silent = [...this.pending.keys()].find((s) => s.bytesRead === 0 && (this.admittedTurn.get(s) ?? this.turn) < this.turn);
      if (silent) this.refuse(silent, 'silent while the pending slots were full');
      else if (!this.freeSlotFor(socket)) return socket.destroyed ? false : this.refuse(socket, 'over the pending cap');
    }
    this.open.add(socket);
    const deadline = setTimeout(() => this.refuse(socket, 'past the handshake deadline'), this.limits.handshakeTimeoutMs);
    deadline.unref();
    this.pending.set(socket, deadline);
    this.admittedTurn.set(socket, this.turn);
    if (!this.turnEnding) {
      // A socket accepted in this turn of the event loop has not been read yet, whatever its
      // client sent: only those admitted in an earlier turn can be told silent.
      this.turnEnding = true;
      setImmediate(() => {
        this.turn++;
        this.turnEnding = false;
      }).unref();
    }
    socket.once('close', () => this.forget(socket));
    return true;
  }

  private lookupWindowStart = 0;
  private lookupSpentMs = 0;
  private readonly lookups = { count: 0, ms: 0, overBudget: 0 };

  /** Reads of the socket table under contention: how many, their total time, how many the budget skipped. */
  peerLookups(): { count: number; ms: number; overBudget: number } {
    return { ...this.lookups, ms: Math.round(this.lookups.ms * 10) / 10 };
  }

  /**
   * The pending slots are full: closes the pending sockets another user opened and, when
   * `socket` is not one of theirs (refused then) and a slot is free, says so.
   */
  private freeSlotFor(socket: Socket): boolean {
    const now = Date.now();
    if (now - this.lookupWindowStart >= 1000) {
      this.lookupWindowStart = now;
      this.lookupSpentMs = 0;
    }
    if (this.ownUid === undefined) return false;
    if (this.lookupSpentMs >= PEER_LOOKUP_BUDGET_MS) {
      this.lookups.overBudget++;
      return false;
    }
    const sockets = [socket, ...this.pending.keys()];
    const t0 = performance.now();
    const uids = this.peerUids(sockets);
    const ms = performance.now() - t0;
    this.lookupSpentMs += ms;
    this.lookups.count++;
    this.lookups.ms += ms;
    const stranger = (i: number) => uids[i]?.state === 'found' && (uids[i] as { uid: number }).uid !== this.ownUid;
    for (let i = 1; i < sockets.length; i++) if (stranger(i)) this.refuse(sockets[i], 'from another user');
    if (stranger(0)) {
      this.refuse(socket, 'from another user');
      return false;
    }
    return this.pending.size < this.limits.maxPending;
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
   * at most ANSWER_FLUSH_MS), else reset at once: a reset leaves no TIME_WAIT socket behind,
   * so a flood does not grow the socket table (which the peer lookups read) by thousands of rows.
   */
  refuse(socket: Socket, reason: RefusalReason, answer?: string): false {
    this.count(reason);
    const deadline = this.pending.get(socket);
    if (deadline !== undefined) clearTimeout(deadline);
    if (answer === undefined || socket.destroyed) {
      this.forget(socket);
      if (socket.destroyed) return false;
      try {
        socket.resetAndDestroy();
      } catch {
        socket.destroy(); // not connected any more: nothing to reset
      }
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
