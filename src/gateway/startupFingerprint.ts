// The gateway's own fingerprint at start-up, waited for briefly: a descriptor table that is full
// when we start (EMFILE on /proc/self/stat) may free up in a moment, and until it does nothing —
// the ready event, a worker's --parent, the tags — can name us.
import { readSelfFingerprint, type FingerprintRead } from '../core/fingerprint';

/** How long start-up retries an unreadable own fingerprint before giving up. */
export const SELF_FINGERPRINT_WAIT_MS = 2000;
const RETRY_MS = 50;

/** Exit code of a gateway that could not read its own fingerprint (sysexits' EX_OSERR). */
export const EXIT_NO_SELF_FINGERPRINT = 71;

/**
 * Reads our own fingerprint, retrying every 50 ms for up to `waitMs` while the read proves
 * nothing ('unknown'). Blocks: it runs before anything else exists to run.
 */
export function waitForSelfFingerprint(waitMs: number): FingerprintRead {
  const deadline = Date.now() + waitMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const r = readSelfFingerprint();
    if (r.state !== 'unknown' || Date.now() >= deadline) return r;
    Atomics.wait(sleeper, 0, 0, Math.min(RETRY_MS, Math.max(1, deadline - Date.now())));
  }
}
