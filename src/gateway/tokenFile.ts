// The attach endpoint's token file, written only where nobody else can put, swap or read it.
// By default a fresh private directory (mode 0700, unpredictable name from mkdtemp that records
// our fingerprint: see tokenDirLeftovers.ts) under
// $XDG_RUNTIME_DIR when that directory is ours and closed to others, else under os.tmpdir().
// The file itself is created exclusively (O_EXCL | O_NOFOLLOW), mode 0600. An explicit path is
// created the same way: whatever is already there — a file, a link, a FIFO — is refused, never
// followed or replaced (a predictable name another user pre-created must not be trusted).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSelfFingerprint } from '../core/fingerprint';
import { ownershipProblem, writeAllSync } from '../core/privateFiles';
import { removeDeadTokenDirs, TOKEN_NAME, tokenDirPrefix } from './tokenDirLeftovers';

export interface TokenFile {
  path: string;
  /** The private directory we created for it (removed with the file), if any. */
  dir?: string;
  /** Removes the file (only while it is still the one we wrote) and our directory. Idempotent. */
  remove(): void;
}

const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;

/** Why `dir` is not a safe place for our private directory, or undefined when it is. */
function notPrivate(dir: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    return (e as Error).message;
  }
  return st.isDirectory() ? ownershipProblem(st) : 'not a directory';
}

/** Why the directory an explicit path lives in lets others swap the file, or undefined. */
function unsafeParent(dir: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    return (e as Error).message;
  }
  if (!st.isDirectory()) return 'not a directory';
  if (uid === undefined) return undefined;
  if (st.uid !== uid && st.uid !== 0) return `owned by uid ${st.uid}`;
  // World-writable is fine only with the sticky bit (/tmp): then only we may rename or delete ours.
  if (st.mode & 0o022 && !(st.mode & 0o1000)) return `writable by others without the sticky bit (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

function describe(file: string): string {
  try {
    const st = fs.lstatSync(file);
    if (st.isSymbolicLink()) return 'a symbolic link';
    if (st.isDirectory()) return 'a directory';
    if (st.isFIFO()) return 'a FIFO';
    if (st.isSocket()) return 'a socket';
    if (st.isFile()) return `a file owned by uid ${st.uid}`;
    return 'something';
  } catch {
    return 'something';
  }
}

/** Creates `file` exclusively with mode 0600 and writes `text`; returns its identity. */
function writeExclusive(file: string, text: string): fs.BigIntStats {
  // O_NOFOLLOW is redundant with O_CREAT|O_EXCL on Linux but states the intent; 0 where absent.
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0);
  let fd: number;
  try {
    fd = fs.openSync(file, flags, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`${file} already exists (${describe(file)}); it is never followed or replaced: remove it or choose another path`);
    }
    throw new Error(`cannot create ${file}: ${(e as Error).message}`);
  }
  try {
    if (uid !== undefined) fs.fchmodSync(fd, 0o600); // exactly 0600, whatever the umask
    writeAllSync(fd, text);
    return fs.fstatSync(fd, { bigint: true });
  } catch (e) {
    fs.rmSync(file, { force: true });
    throw new Error(`cannot write ${file}: ${(e as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** The base for our private directory: $XDG_RUNTIME_DIR when it is safe, else the temp dir. */
function privateBase(env: NodeJS.ProcessEnv, log: (m: string) => void): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && path.isAbsolute(runtime)) {
    const why = notPrivate(runtime);
    if (why === undefined) return runtime;
    log(`attach: not using XDG_RUNTIME_DIR ${runtime} for the token (${why}); using a private directory under ${os.tmpdir()}`);
  }
  return os.tmpdir();
}

/**
 * Writes `token` to a new token file: `explicitPath`, or `token` in a new private directory.
 * Throws an Error that says why when it cannot be done safely; leaves nothing behind then.
 */
export function createTokenFile(token: string, explicitPath: string | undefined, env: NodeJS.ProcessEnv, log: (m: string) => void): TokenFile {
  let dir: string | undefined;
  let file: string;
  if (explicitPath !== undefined) {
    file = path.resolve(explicitPath);
    const why = unsafeParent(path.dirname(file));
    if (why !== undefined) throw new Error(`refusing --token-file ${file}: its directory is unsafe (${why})`);
  } else {
    const base = privateBase(env, log);
    // The directory's name records its gateway, so that once it is dead (SIGKILLed: it never
    // removed its directory) a later gateway can prove it and remove the leftover.
    const me = readSelfFingerprint();
    const self = me.state === 'alive' ? me.fingerprint : undefined;
    removeDeadTokenDirs(base, self, log);
    try {
      dir = fs.mkdtempSync(path.join(base, tokenDirPrefix(self)));
    } catch (e) {
      throw new Error(`cannot create a private directory under ${base}: ${(e as Error).message}`);
    }
    if (uid !== undefined) fs.chmodSync(dir, 0o700);
    const why = notPrivate(dir);
    if (why !== undefined) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`the new token directory ${dir} is not private (${why})`);
    }
    file = path.join(dir, TOKEN_NAME);
  }
  let written: fs.BigIntStats;
  try {
    written = writeExclusive(file, token + '\n');
  } catch (e) {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let removed = false;
  return {
    path: file,
    dir,
    remove() {
      if (removed) return;
      removed = true;
      try {
        // Inode numbers are reused at once: the change time tells a new file in its place apart.
        const st = fs.lstatSync(file, { bigint: true });
        if (st.dev === written.dev && st.ino === written.ino && st.ctimeNs === written.ctimeNs) fs.unlinkSync(file);
      } catch {
        // already gone
      }
      if (dir) {
        try {
          fs.rmdirSync(dir);
        } catch {
          // not empty or gone: never remove what is not ours
        }
      }
    },
  };
}
