// Files we wrote ourselves, and only those: a file that another user, or anyone through a loose
// mode, could have written is not evidence of anything. The checks run on the opened descriptor
// (fstat), so a file swapped after the lstat is still caught; opening never follows a symlink and
// never blocks (O_NOFOLLOW | O_NONBLOCK: a FIFO or a device is refused, not read forever).
import * as fs from 'node:fs';

/** A file or directory that is not ours alone; `message` says why (it is never read). */
export class UntrustedFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UntrustedFileError';
  }
}

// Absent on Windows, where the lstat alone rules out links and there are no FIFOs to block on.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);

/** What a non-regular file is, in words. */
function kindOf(st: fs.Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Why `st` is not ours alone: owned by another uid, or writable by group or others. Undefined on
 * Windows (no POSIX owners or modes) and when it is ours.
 */
export function ownershipProblem(st: fs.Stats): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  if (st.uid !== uid) return `owned by uid ${st.uid}, not by this user (uid ${uid})`;
  if (st.mode & 0o022) return `writable by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${octal(st.mode)})`;
  return undefined;
}

/**
 * Reads `file` only if it is a regular file of at most `maxBytes`, owned by this user and not
 * writable by group or others. Throws UntrustedFileError (never following or blocking) when it
 * is not; errno errors (ENOENT, EACCES, …) pass through.
 */
export function readPrivateFileSync(file: string, maxBytes: number): Buffer {
  const before = fs.lstatSync(file);
  if (!before.isFile()) throw new UntrustedFileError(`it is ${kindOf(before)}`);
  const problem = ownershipProblem(before);
  if (problem) throw new UntrustedFileError(`it is ${problem}`);
  if (before.size > maxBytes) throw new UntrustedFileError(`it is larger than ${maxBytes} bytes (${before.size})`);
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (e) {
    // O_NOFOLLOW: a symlink put in its place after the lstat.
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new UntrustedFileError('it was replaced by a symbolic link');
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new UntrustedFileError(`it was replaced by ${kindOf(st)}`);
    if (st.ino !== before.ino || st.dev !== before.dev) throw new UntrustedFileError('it was replaced while being opened');
    const late = ownershipProblem(st);
    if (late) throw new UntrustedFileError(`it is ${late}`);
    // Read until EOF, but never more than one byte past the cap: a file that grew meanwhile is
    // refused, not slurped.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new UntrustedFileError(`it is larger than ${maxBytes} bytes`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Why the files in `dir` cannot be trusted (not a directory, another user's, writable by group or
 * others), or undefined when it is ours alone. ENOENT and other errno errors pass through.
 */
export function directoryProblem(dir: string): string | undefined {
  const st = fs.statSync(dir);
  if (!st.isDirectory()) return `it is ${kindOf(st)}`;
  const problem = ownershipProblem(st);
  return problem ? `it is ${problem}` : undefined;
}

/**
 * Our own private directory: created with mode 0700 when missing; when it exists, is ours and lets
 * group or others in, tightened to 0700. Returns a sentence when it tightened something. Throws
 * when it is not a directory, belongs to another user or cannot be created or tightened.
 */
export function ensurePrivateDirSync(dir: string): string | undefined {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return tightenPrivateDirSync(dir);
}

/** ensurePrivateDirSync without creating: a missing directory is left missing (undefined). */
export function tightenPrivateDirSync(dir: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (!st.isDirectory()) throw new UntrustedFileError(`${dir} is ${kindOf(st)}, not a directory`);
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  if (st.uid !== uid) throw new UntrustedFileError(`${dir} is owned by uid ${st.uid}, not by this user (uid ${uid})`);
  if ((st.mode & 0o077) === 0) return undefined;
  fs.chmodSync(dir, 0o700);
  return `tightened ${dir} from mode ${octal(st.mode)} to 0700`;
}

/**
 * Writes all of `text` to `fd`. One write(2) may write less than asked (a full disk, a quota, a
 * file-size limit) without an error: a file then left short would be taken for a whole one.
 */
export function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let off = 0; off < bytes.length;) {
    const n = fs.writeSync(fd, bytes, off, bytes.length - off);
    if (n <= 0) throw new Error(`short write: ${off} of ${bytes.length} bytes written`);
    off += n;
  }
}
