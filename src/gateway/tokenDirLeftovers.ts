// Token directories left behind by dead gateways. A gateway SIGKILLed (with its host, or alone)
// never removes its private token directory, so every such death left one more
// `gateway-warden-…/token` in $XDG_RUNTIME_DIR or the temp dir. A directory names its gateway
// (pid, start time, boot id) in its name; a starting gateway removes those whose gateway is
// provably dead — and nothing else: only our own uid's directories of mode 0700 holding exactly
// one small regular `token` file and nothing more, never following a link, never removing
// recursively, a bounded number per start within one time budget.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatFingerprint, livenessOf, type Fingerprint } from '../core/fingerprint';

export const TOKEN_DIR_PREFIX = 'gateway-warden-';
export const TOKEN_NAME = 'token';

/** How long one start may spend on leftovers, all of them together (like the empty cgroup trees). */
export const LEFTOVER_BUDGET_MS = 1000;
/** At most this many leftovers are removed per start; the next start goes on. */
export const MAX_LEFTOVERS_REMOVED = 64;
/** A token file is 64 hex digits and a newline: anything much larger is not one of ours. */
const MAX_TOKEN_BYTES = 1024;

const NAMED = /^gateway-warden-(\d+)\.(\d+)\.([A-Za-z0-9-]+)-[A-Za-z0-9]{6}$/;

/**
 * The mkdtemp prefix that records `owner` in the directory's name: `gateway-warden-PID.START.BOOT-`
 * (mkdtemp adds six random characters). A fingerprint whose boot id cannot be put in a name gets
 * the bare prefix: such a directory names nobody and is never removed by anyone else.
 */
export function tokenDirPrefix(owner: Fingerprint | undefined): string {
  if (!owner || !/^[A-Za-z0-9-]+$/.test(owner.bootId)) return TOKEN_DIR_PREFIX;
  return `${TOKEN_DIR_PREFIX}${owner.pid}.${owner.startTime}.${owner.bootId}-`;
}

/** The gateway a token directory's name records, or undefined when it names none. */
export function tokenDirOwner(name: string): Fingerprint | undefined {
  const m = NAMED.exec(name);
  if (!m) return undefined;
  const pid = Number(m[1]);
  const startTime = Number(m[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !Number.isSafeInteger(startTime)) return undefined;
  return { pid, startTime, bootId: m[3] };
}

/** Why `dir` (a name under base) is not a leftover we may remove, or undefined when it is. */
function notRemovable(dir: string, uid: number): string | undefined {
  const st = fs.lstatSync(dir); // never follows: a link named like ours is not a directory
  if (!st.isDirectory()) return 'not a directory';
  if (st.uid !== uid) return `owned by uid ${st.uid}`;
  if ((st.mode & 0o7777) !== 0o700) return `mode ${(st.mode & 0o7777).toString(8)}, not 700`;
  const entries = fs.readdirSync(dir);
  if (entries.length !== 1 || entries[0] !== TOKEN_NAME) return `holds ${entries.length === 0 ? 'nothing' : entries.slice(0, 3).join(', ')}, not exactly its token`;
  const token = fs.lstatSync(path.join(dir, TOKEN_NAME));
  if (!token.isFile()) return 'its token is not a regular file';
  if (token.uid !== uid) return `its token is owned by uid ${token.uid}`;
  if (token.mode & 0o077) return `its token is open to others (mode ${(token.mode & 0o7777).toString(8)})`;
  if (token.size > MAX_TOKEN_BYTES) return `its token is ${token.size} bytes`;
  return undefined;
}

export interface LeftoverSweep {
  removed: string[];
  /** Leftovers of dead gateways left for the next start (the count or time bound was reached). */
  stoppedEarly: boolean;
}

/**
 * Removes, under `base`, the token directories of provably dead gateways (not `self`'s). Only on
 * POSIX (owners and modes prove the directory is ours). Never throws; a directory that cannot be
 * judged is left alone.
 */
export function removeDeadTokenDirs(
  base: string, self: Fingerprint | undefined, log: (m: string) => void,
  limits: { budgetMs?: number; maxRemoved?: number } = {},
): LeftoverSweep {
  const sweep: LeftoverSweep = { removed: [], stoppedEarly: false };
  const uid = process.getuid?.();
  if (uid === undefined) return sweep;
  const deadline = Date.now() + (limits.budgetMs ?? LEFTOVER_BUDGET_MS);
  const maxRemoved = limits.maxRemoved ?? MAX_LEFTOVERS_REMOVED;
  let listing: fs.Dir | undefined;
  try {
    listing = fs.opendirSync(base);
    // One entry at a time: a temp dir may hold many thousands; the budget bounds the walk too.
    for (let entry = listing.readSync(); entry !== null; entry = listing.readSync()) {
      const owner = entry.name.startsWith(TOKEN_DIR_PREFIX) ? tokenDirOwner(entry.name) : undefined;
      if (!owner || (self && owner.pid === self.pid && owner.startTime === self.startTime)) continue;
      if (sweep.removed.length >= maxRemoved || Date.now() >= deadline) {
        sweep.stoppedEarly = true;
        break;
      }
      const dir = path.join(base, entry.name);
      try {
        if (notRemovable(dir, uid) !== undefined) continue;
        if (livenessOf(owner).state !== 'dead') continue; // alive, or cannot tell: keep it
        fs.unlinkSync(path.join(dir, TOKEN_NAME));
        fs.rmdirSync(dir); // fails if anything appeared meanwhile: then it stays
        sweep.removed.push(dir);
      } catch {
        // gone meanwhile, or unreadable: not ours to judge now
      }
    }
  } catch (e) {
    log(`attach: could not look for token directories of dead gateways under ${base}: ${(e as Error).message}`);
  } finally {
    try {
      listing?.closeSync();
    } catch {
      // closed
    }
  }
  if (sweep.removed.length) {
    const owners = sweep.removed.map((d) => formatFingerprint(tokenDirOwner(path.basename(d))!));
    log(`attach: removed ${sweep.removed.length} token director${sweep.removed.length === 1 ? 'y' : 'ies'} of dead gateways (${owners.slice(0, 5).join(', ')}${owners.length > 5 ? ', …' : ''})`);
  }
  if (sweep.stoppedEarly) log('attach: more token directories of dead gateways than one start removes; the next start goes on');
  return sweep;
}
