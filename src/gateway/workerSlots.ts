// Slots for live worker processes. A slot is taken when a start is decided and given back only
// when that worker process has exited — not when its close begins — so the process table never
// holds more than `max` workers, counting those still starting or already closing. A start that
// waits for a slot (an evicted or closing worker is on its way out) is handed the next release
// directly, so nobody can take it in between.
import { RpcError } from '../core/rpc';

export class WorkerSlots {
  private held = 0;
  private readonly waiters: { grant(): void; fail(e: Error): void }[] = [];

  constructor(readonly max: number) {}

  /** Slots taken: workers alive plus starts decided but not yet spawned. */
  get inUse(): number {
    return this.held;
  }

  /** Starts waiting for a release. */
  get waiting(): number {
    return this.waiters.length;
  }

  tryTake(): boolean {
    if (this.held >= this.max) return false;
    this.held++;
    return true;
  }

  /**
   * Waits for the next release, which is then this caller's slot. Only for a caller that knows a
   * release is coming (a worker is closing); `timeout` is the error if none comes in time.
   */
  waitForRelease(timeoutMs: number, timeout: () => RpcError): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
        fail: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(entry);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(timeout());
      }, timeoutMs);
      this.waiters.push(entry);
    });
  }

  /** A worker exited (or a taken slot went unused): the first waiter gets it, else it is free. */
  release(): void {
    const next = this.waiters.shift();
    if (next) next.grant();
    else if (this.held > 0) this.held--;
  }

  /** Every waiter fails with `e` (shutdown). */
  failWaiters(e: Error): void {
    for (const w of this.waiters.splice(0)) w.fail(e);
  }
}
