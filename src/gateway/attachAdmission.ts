// Admission of the attach endpoint's raw TCP connections, decided when one is accepted, before
// HTTP sees it: at most `maxPending` may be waiting to authenticate, each for at most
// `handshakeTimeoutMs` (a socket that never sends anything included), and at most
// `maxConnections` may be open in all. Anything over a cap is destroyed, so a flood of idle
// sockets costs a bounded number of descriptors.
// When the pending slots are full, the oldest pending socket that has sent nothing for
// SILENT_AFTER_MS makes room for the newcomer (a client sends its upgrade request at once; an idle
// flood never does). "Nothing read yet" alone is not silence: on a loaded machine a client that did
// write at once may not have been scheduled yet, or its bytes wait behind a batch of accepts — a
// socket just admitted must not be dropped for that (it was, in CI).
// When no pending socket is silent, who opened each socket decides (attachPeerUid.ts): another
// user's sockets could never authenticate (the token file is ours, 0600), so they are closed and
// our own user's take the freed slots — another user's sustained reconnect flood cannot keep our
// clients out. The newcomer waits (at most MAX_WAITING of them, each under the same deadline) for
// a triage: one read of the socket table for every waiting and pending socket, at most one per
// TRIAGE_INTERVAL_MS and within a time budget per second (a read costs in proportion to the
// machine's socket table; deciding per newcomer spent the budget in a fraction of a second under a
// flood). Past the budget, or where the uid cannot be read, the caps alone decide.
// Refusals are tallied and logged at most once per window, not once per socket (a flood must not
// become a flood of log lines).
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { PeerUid } from './attachPeerUid';

/** At most this much time per second goes to finding who opened sockets. */
const PEER_LOOKUP_BUDGET_MS = 100;
/** A pending socket that has sent nothing for this long may be dropped for a newcomer. */
const SILENT_AFTER_MS = 250;
/** Newcomers held for a triage while the pending slots are full; more are refused on arrival. */
export const MAX_WAITING = 128;
/** At most one triage (one read of the socket table) per this interval. */
const TRIAGE_INTERVAL_MS = 20;

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
  private readonly admittedAt = new WeakMap<Socket, { turn: number; at: number }>();
  /** Newcomers held for the next triage, each under its handshake deadline. */
  private readonly waiting = new Map<Socket, { deadline: NodeJS.Timeout; admitted: () => void }>();
  private triageTimer?: NodeJS.Timeout;
  private lastTriage = -Infinity;
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

  /**
   * A socket just accepted. `admitted` is called (now or after a triage) when it takes a pending
   * slot, to hand it to HTTP; a socket refused is destroyed and `admitted` never called.
   */
  admit(socket: Socket, admitted: () => void): void {
    socket.on('error', () => undefined); // a reset must never become an uncaught error
    if (this.open.size >= this.limits.maxConnections) {
      this.refuse(socket, 'over the connection cap');
      return;
    }
    if (this.pending.size >= this.limits.maxPending) {
      // A client of ours sends its upgrade request the moment it connects; a socket that has not
      // sent a byte while every slot is taken is the one to drop (the oldest such: Map order).
      const now = performance.now();
      const silent = [...this.pending.keys()].find((s) => this.silent(s, now));
      if (silent) this.refuse(silent, 'silent while the pending slots were full');
      else {
        this.wait(socket, admitted);
        return;
      }
    }
    this.takeSlot(socket, this.deadlineFor(socket));
    admitted();
  }

  private deadlineFor(socket: Socket): NodeJS.Timeout {
    const deadline = setTimeout(() => this.refuse(socket, 'past the handshake deadline'), this.limits.handshakeTimeoutMs);
    deadline.unref();
    socket.once('close', () => this.forget(socket));
    return deadline;
  }

  private takeSlot(socket: Socket, deadline: NodeJS.Timeout): void {
    this.open.add(socket);
    this.pending.set(socket, deadline);
    this.admittedAt.set(socket, { turn: this.turn, at: performance.now() });
    if (!this.turnEnding) {
      this.turnEnding = true;
      setImmediate(() => {
        this.turn++;
        this.turnEnding = false;
      }).unref();
    }
  }

  /**
   * Nothing read from it, for SILENT_AFTER_MS and since an earlier turn of the event loop (a socket
   * accepted in this turn has not been read yet, whatever its client sent).
   */
  private silent(socket: Socket, now: number): boolean {
    const at = this.admittedAt.get(socket);
    return socket.bytesRead === 0 && at !== undefined && at.turn < this.turn && now - at.at >= SILENT_AFTER_MS;
  }

  /** Holds a newcomer for the next triage (where a peer's uid can be read and there is room). */
  private wait(socket: Socket, admitted: () => void): void {
    if (this.ownUid === undefined || this.waiting.size >= MAX_WAITING) {
      this.refuse(socket, 'over the pending cap');
      return;
    }
    this.waiting.set(socket, { deadline: this.deadlineFor(socket), admitted });
    if (this.triageTimer) return;
    const wait = Math.max(0, this.lastTriage + TRIAGE_INTERVAL_MS - performance.now());
    this.triageTimer = setTimeout(() => this.triage(), wait);
    this.triageTimer.unref();
  }

  private lookupWindowStart = 0;
  private lookupSpentMs = 0;
  private readonly lookups = { count: 0, ms: 0, overBudget: 0 };

  /** Reads of the socket table under contention: how many, their total time, how many sockets the budget left unread. */
  peerLookups(): { count: number; ms: number; overBudget: number } {
    return { ...this.lookups, ms: Math.round(this.lookups.ms * 10) / 10 };
  }

  /**
   * One read of the socket table for every waiting and pending socket: another user's are closed;
   * the waiting then take the free slots, our own user's first, the rest in arrival order; those
   * left over (or all of them, past the budget) are refused.
   */
  private triage(): void {
    this.triageTimer = undefined;
    this.lastTriage = performance.now();
    const now = Date.now();
    if (now - this.lookupWindowStart >= 1000) {
      this.lookupWindowStart = now;
      this.lookupSpentMs = 0;
    }
    const waiting = [...this.waiting.keys()];
    const own = new Set<Socket>();
    if (this.lookupSpentMs >= PEER_LOOKUP_BUDGET_MS) this.lookups.overBudget += waiting.length;
    else {
      const sockets = [...waiting, ...this.pending.keys()];
      const t0 = performance.now();
      const uids = this.peerUids(sockets);
      const ms = performance.now() - t0;
      this.lookupSpentMs += ms;
      this.lookups.count++;
      this.lookups.ms += ms;
      const uidOf = (i: number) => (uids[i]?.state === 'found' ? (uids[i] as { uid: number }).uid : undefined);
      sockets.forEach((s, i) => {
        if (uidOf(i) === undefined) return;
        if (uidOf(i) === this.ownUid) own.add(s);
        else this.refuse(s, 'from another user');
      });
    }
    const order = [...this.waiting.keys()].sort((x, y) => Number(own.has(y)) - Number(own.has(x)));
    for (const socket of order) {
      const w = this.waiting.get(socket);
      if (!w) continue; // closed meanwhile
      if (this.pending.size >= this.limits.maxPending || this.open.size >= this.limits.maxConnections || socket.destroyed) {
        this.refuse(socket, 'over the pending cap'); // clears its deadline, then forgets it
        continue;
      }
      this.waiting.delete(socket);
      this.takeSlot(socket, w.deadline);
      w.admitted();
    }
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
    const deadline = this.pending.get(socket) ?? this.waiting.get(socket)?.deadline;
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

  get waitingCount(): number {
    return this.waiting.size;
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
    if (this.triageTimer) clearTimeout(this.triageTimer);
    this.triageTimer = undefined;
    for (const socket of [...this.open, ...this.waiting.keys()]) {
      this.forget(socket);
      socket.destroy();
    }
    if (this.logWindow) clearTimeout(this.logWindow);
    this.logWindow = undefined;
    this.flushLog();
  }

  private forget(socket: Socket): void {
    const deadline = this.pending.get(socket) ?? this.waiting.get(socket)?.deadline;
    if (deadline !== undefined) clearTimeout(deadline);
    this.pending.delete(socket);
    this.waiting.delete(socket);
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
