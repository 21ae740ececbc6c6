// The on-disk form of a ProcessRegistry: one JSON file per owner (extension host), named after
// the owner's fingerprint, written atomically (temp file in the same directory, mode 0600,
// fsync, rename) so a reader never sees half a file. A reader that finds a broken file moves it
// aside (`*.corrupt`) and carries on: a crashed window must never stop the next one from starting.
// Only files that can be ours are read at all (privateFiles): a regular file, owned by this user,
// not writable by anyone else, in a directory likewise; anything else is skipped with a reason.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_CGROUP_PATH_CHARS } from './cgroup/cgroupNames';
import { Fingerprint, formatFingerprint, isFingerprint, sameFingerprint } from './fingerprint';
import { MAX_MACHINE_ID_CHARS, readMachineId } from './machineId';
import { UntrustedFileError, directoryProblem, ensurePrivateDirSync, readPrivateFileSync, tightenPrivateDirSync, writeAllSync } from './privateFiles';
import type { ProcessRecord } from './registry';

export const CHECKPOINT_VERSION = 1;

/** Sub-directory of the extension's global storage that holds the checkpoints. */
export const CHECKPOINT_SUBDIR = 'registry';

/** A checkpoint larger than this is not read (ours hold at most a few hundred records). */
export const MAX_CHECKPOINT_BYTES = 4 * 1024 * 1024;

/** At most this many checkpoint files are read from one directory. */
export const MAX_CHECKPOINT_FILES = 1000;

/** What is stored in a checkpoint file. */
export interface CheckpointData {
  version: typeof CHECKPOINT_VERSION;
  /** The host whose processes these are. */
  owner: Fingerprint;
  /** Epoch ms of the write. */
  writtenAt: number;
  /**
   * The machine the owner runs on (machineId.ts). Optional within format 1: an older writer
   * did not say, and its file is taken for this machine's, as before.
   */
  machine?: string;
  records: ProcessRecord[];
}

/** A checkpoint as loaded from disk. */
export interface Checkpoint extends CheckpointData {
  /** Absolute path of the file it was read from. */
  file: string;
}

export interface LoadCheckpointsResult {
  /** The checkpoints of this machine (and of writers that did not say which machine). */
  checkpoints: Checkpoint[];
  /**
   * Checkpoints that may be another machine's (a directory shared over NFS): their boot ids
   * prove nothing here, so nobody may judge their owners dead, act on their records or delete
   * them as stale (pruneStaleCheckpoints ages them out instead).
   */
  elsewhere: Checkpoint[];
  /** One human-readable line per file that could not be used (and what was done with it). */
  problems: string[];
}

/** `<pid>_<startTime>_<bootId>.json` — the file name of an owner's checkpoint. */
export function checkpointFileName(owner: Fingerprint): string {
  return `${formatFingerprint(owner).replace(/:/g, '_')}.json`;
}

export function checkpointPath(dir: string, owner: Fingerprint): string {
  return path.join(dir, checkpointFileName(owner));
}

let tempCounter = 0;

/**
 * Writes `data` to `file` atomically: a temp file in the same directory (so the rename cannot
 * cross file systems) created with mode 0600, fsynced, then renamed over the target.
 * Synchronous on purpose: the file is a few KB, and exit paths need the same code.
 */
export function writeCheckpointSync(file: string, data: CheckpointData): void {
  const dir = path.dirname(file);
  ensurePrivateDirSync(dir);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++tempCounter}.tmp`);
  const text = `${JSON.stringify(data)}\n`;
  let fd: number | undefined;
  let created = false;
  try {
    fd = fs.openSync(temp, 'wx', 0o600);
    created = true;
    // All of it, or the old file stays: a short write renamed over it would be a corrupt checkpoint.
    writeAllSync(fd, text);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, file);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    // Only a temp file we made: with EEXIST the one there is somebody else's.
    if (created) fs.rmSync(temp, { force: true });
    throw e;
  }
  syncDirectory(dir);
}

/** Makes the rename durable (POSIX); best effort, not possible on Windows. */
function syncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // some file systems refuse fsync on a directory; the data itself is already synced
  }
}

const ROLES = new Set(['gateway', 'worker', 'child']);

/** Why `v` is not a valid record, or undefined when it is one. */
export function recordProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not an object';
  const r = v as Record<string, unknown>;
  if (typeof r.role !== 'string' || !ROLES.has(r.role)) return `bad role ${JSON.stringify(r.role)}`;
  if (!isFingerprint(r.fingerprint)) return 'bad fingerprint';
  if (typeof r.command !== 'string') return 'command is not a string';
  if (!Number.isFinite(r.startedAt)) return 'startedAt is not a number';
  if (r.pgid !== undefined && !(Number.isSafeInteger(r.pgid) && (r.pgid as number) > 0)) return 'bad pgid';
  if (r.sessionId !== undefined && typeof r.sessionId !== 'string') return 'sessionId is not a string';
  // Optional (added within format 1: an older reader ignores it, an older file lacks it).
  if (r.cgroup !== undefined && (typeof r.cgroup !== 'string' || r.cgroup.length > MAX_CGROUP_PATH_CHARS)) return 'bad cgroup';
  if (r.exitedAt !== undefined && !Number.isFinite(r.exitedAt)) return 'exitedAt is not a number';
  if (r.exitCode !== undefined && r.exitCode !== null && !Number.isInteger(r.exitCode)) return 'bad exitCode';
  if (r.exitSignal !== undefined && r.exitSignal !== null && typeof r.exitSignal !== 'string') return 'bad exitSignal';
  return undefined;
}

/** Why `v` is not valid checkpoint data, or undefined when it is. */
export function checkpointProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const c = v as Record<string, unknown>;
  if (c.version !== CHECKPOINT_VERSION) return `unsupported version ${JSON.stringify(c.version)} (expected ${CHECKPOINT_VERSION})`;
  if (!isFingerprint(c.owner)) return 'owner is not a fingerprint';
  if (!Number.isFinite(c.writtenAt)) return 'writtenAt is not a number';
  if (c.machine !== undefined && (typeof c.machine !== 'string' || !c.machine || c.machine.length > MAX_MACHINE_ID_CHARS)) return 'bad machine';
  if (!Array.isArray(c.records)) return 'records is not an array';
  for (let i = 0; i < c.records.length; i++) {
    const p = recordProblem(c.records[i]);
    if (p) return `record ${i}: ${p}`;
  }
  return undefined;
}

/**
 * Reads one checkpoint file; throws an Error with a clear message when it is unusable, and an
 * UntrustedFileError (without reading it) when it is not a private regular file of ours.
 */
export function readCheckpointFile(file: string): Checkpoint {
  const text = readPrivateFileSync(file, MAX_CHECKPOINT_BYTES).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`not valid JSON (${text.length} bytes; ${(e as Error).message})`);
  }
  const version = (parsed as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && Number.isInteger(version) && version > CHECKPOINT_VERSION) {
    throw new NewerVersionError(`written by a newer version (format ${version}; this one reads ${CHECKPOINT_VERSION})`);
  }
  const problem = checkpointProblem(parsed);
  if (problem) throw new Error(`wrong shape: ${problem}`);
  return { ...(parsed as CheckpointData), file };
}

class NewerVersionError extends Error {}

/** Temp files older than this were left by a writer that died mid-write. */
const ABANDONED_TEMP_MS = 60_000;

function removeAbandonedTemp(file: string): void {
  try {
    if (Date.now() - fs.lstatSync(file).mtimeMs > ABANDONED_TEMP_MS) fs.rmSync(file, { force: true });
  } catch {
    // raced with its writer's rename, or not ours to remove: harmless either way
  }
}

/** Renames a broken file aside to `<file>.corrupt` (or `.corrupt.N` if that exists). */
export function quarantine(file: string): string {
  let target = `${file}.corrupt`;
  for (let n = 1; fs.existsSync(target); n++) target = `${file}.corrupt.${n}`;
  fs.renameSync(file, target);
  return target;
}

export interface LoadCheckpointsOptions {
  /** Leave out this owner's own checkpoint (a host reading its neighbours). */
  exclude?: Fingerprint;
  /**
   * The directory is our own registry: when it lets group or others in, tighten it to 0700 (and
   * say so in `problems`) instead of refusing its files. Never for a directory someone named.
   */
  tighten?: boolean;
}

/**
 * Every checkpoint in `dir`. Never throws, never blocks: a missing directory is empty; a
 * directory or file that is not ours alone (another user's, group- or world-writable, a FIFO, a
 * device, a symlink, too large) is skipped unread and reported in `problems`; a truncated,
 * garbage or wrong-shaped file of ours is quarantined and reported.
 */
export function loadCheckpoints(dir: string, opts: LoadCheckpointsOptions = {}): LoadCheckpointsResult {
  const checkpoints: Checkpoint[] = [];
  const elsewhere: Checkpoint[] = [];
  const problems: string[] = [];
  const here = readMachineId();
  try {
    if (opts.tighten) {
      const tightened = tightenPrivateDirSync(dir);
      if (tightened) problems.push(`checkpoint directory: ${tightened} (checkpoints name this user's processes: only this user may read or write them)`);
    }
    const why = directoryProblem(dir);
    if (why) {
      problems.push(`skipped checkpoint directory ${dir}: ${why}; no file in it is read (only a directory of this user, not writable by others, is trusted)`);
      return { checkpoints, elsewhere, problems };
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problems.push(`skipped checkpoint directory ${dir}: ${(e as Error).message}`);
    return { checkpoints, elsewhere, problems };
  }
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problems.push(`cannot list checkpoint directory ${dir}: ${(e as Error).message}`);
    return { checkpoints, elsewhere, problems };
  }
  let read = 0;
  for (const name of names.sort()) {
    if (name.startsWith('.') && name.endsWith('.tmp')) {
      removeAbandonedTemp(path.join(dir, name));
      continue;
    }
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    if (++read > MAX_CHECKPOINT_FILES) {
      problems.push(`skipped the rest of ${dir}: more than ${MAX_CHECKPOINT_FILES} checkpoint files`);
      break;
    }
    const file = path.join(dir, name);
    let cp: Checkpoint;
    try {
      cp = readCheckpointFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // deleted by its owner between readdir and read
      if (e instanceof UntrustedFileError) {
        // Not ours to read, nor to move: left where it is, unread.
        problems.push(`skipped checkpoint ${file}: ${e.message}; only a regular file of this user, not writable by others, is trusted`);
      } else if (code !== undefined) {
        problems.push(`cannot read checkpoint ${file}: ${(e as Error).message}`);
      } else if (e instanceof NewerVersionError) {
        // Another window runs a newer extension: its file is fine, just not ours to read.
        problems.push(`skipped checkpoint ${file}: ${e.message}`);
      } else {
        problems.push(quarantineMessage(file, (e as Error).message));
      }
      continue;
    }
    if (opts.exclude && sameFingerprint(cp.owner, opts.exclude)) continue;
    if (cp.machine === undefined || (here.state === 'known' && cp.machine === here.id)) checkpoints.push(cp);
    else elsewhere.push(cp);
  }
  if (here.state === 'unknown' && elsewhere.length) {
    problems.push(`cannot tell which machine wrote ${elsewhere.length} checkpoint(s) in ${dir} (${here.why}): left unjudged until this machine's id can be read`);
  }
  return { checkpoints, elsewhere, problems };
}

function quarantineMessage(file: string, why: string): string {
  try {
    const moved = quarantine(file);
    return `corrupt checkpoint ${file} (${why}); moved aside to ${path.basename(moved)}`;
  } catch (e) {
    return `corrupt checkpoint ${file} (${why}); could not move it aside: ${(e as Error).message}`;
  }
}

/** Removes an owner's checkpoint file; true when a file was removed. */
export function deleteCheckpointFile(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
