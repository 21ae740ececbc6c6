// Just enough of the ZIP format to read a VSIX without an `unzip` binary: the central directory
// (names and sizes) and stored or deflated entries. No ZIP64, no encryption — vsce writes neither
// for a package this small; anything else is a clear error.
import * as fs from 'node:fs';
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

export function zipEntries(buf: Buffer): ZipEntry[] {
  // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a ZIP file (no end-of-central-directory record)');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(at) !== CENTRAL_SIG) throw new Error(`bad central directory entry ${i}`);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    entries.push({
      method: buf.readUInt16LE(at + 10),
      compressedSize: buf.readUInt32LE(at + 20),
      size: buf.readUInt32LE(at + 24),
      localHeaderOffset: buf.readUInt32LE(at + 42),
      name: buf.toString('utf8', at + 46, at + 46 + nameLen),
    });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The uncompressed bytes of one entry (stored or deflated). */
export function zipRead(buf: Buffer, e: ZipEntry): Buffer {
  const at = e.localHeaderOffset;
  if (buf.readUInt32LE(at) !== LOCAL_SIG) throw new Error(`bad local header for ${e.name}`);
  const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
  const data = buf.subarray(start, start + e.compressedSize);
  if (e.method === 0) return Buffer.from(data);
  if (e.method === 8) return inflateRawSync(data);
  throw new Error(`${e.name}: unsupported compression method ${e.method}`);
}

/** Writes every file entry of the archive under `dir`, refusing paths that escape it. */
export function zipExtract(file: string, dir: string): ZipEntry[] {
  const buf = fs.readFileSync(file);
  const entries = zipEntries(buf);
  for (const e of entries) {
    if (e.name.endsWith('/')) continue;
    if (e.name.split('/').includes('..') || e.name.startsWith('/')) throw new Error(`unsafe path in archive: ${e.name}`);
    const out = `${dir}/${e.name}`;
    fs.mkdirSync(out.slice(0, out.lastIndexOf('/')), { recursive: true });
    fs.writeFileSync(out, zipRead(buf, e));
  }
  return entries;
}
