// The last lines of a log file, read from its end with a bound on bytes: the report's "Log"
// section (the extension's output channel is a file VS Code writes under the extension's log
// directory). Never throws: a file that cannot be read says why.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const LOG_TAIL_LINES = 200;
/** At most this much of the file's end is read (200 lines of 1 KiB each, and then some). */
export const LOG_TAIL_BYTES = 256 * 1024;
/** A longer line is cut (a gateway may log a whole JSON-RPC line). */
export const MAX_LOG_LINE_CHARS = 2000;

export type LogTail = { lines: string[]; file: string } | { problem: string; file?: string };

export function readLogTail(file: string, maxLines = LOG_TAIL_LINES, maxBytes = LOG_TAIL_BYTES): LogTail {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { problem: `${file} is not a regular file`, file };
    const length = Math.min(st.size, maxBytes);
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, buf, got, length - got, st.size - length + got);
      if (n === 0) break;
      got += n;
    }
    let lines = buf.toString('utf8', 0, got).split(/\r?\n/);
    if (length < st.size) lines = lines.slice(1); // the first one is cut at the read's start
    if (lines.at(-1) === '') lines.pop();
    return {
      file,
      lines: lines.slice(-maxLines).map((l) => (l.length > MAX_LOG_LINE_CHARS ? `${l.slice(0, MAX_LOG_LINE_CHARS)}…` : l)),
    };
  } catch (e) {
    return { problem: `cannot read ${file}: ${(e as Error).message}`, file };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * The log file of an output channel named `channel` in `dir` (VS Code names it `<channel>.log`,
 * some versions with a numeric prefix): the newest match among at most 200 entries.
 */
export function findChannelLog(dir: string, channel: string): string | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(dir).slice(0, 200);
  } catch {
    return undefined;
  }
  let best: { file: string; mtime: number } | undefined;
  for (const n of names) {
    if (!n.endsWith('.log') || !n.includes(channel)) continue;
    try {
      const st = fs.lstatSync(path.join(dir, n));
      if (st.isFile() && (!best || st.mtimeMs > best.mtime)) best = { file: path.join(dir, n), mtime: st.mtimeMs };
    } catch {
      // gone meanwhile
    }
  }
  return best?.file;
}
