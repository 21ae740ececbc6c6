// Fitting command output into a reply line. What counts is the ENCODED size: the bytes the text
// takes as a JSON string in the reply, where a control byte costs 6 (`\u0000`), an invalid UTF-8
// byte 3 (U+FFFD), `"` 2. Counting raw bytes let 256 KiB of NULs become a 1.5 MB line that the
// gateway dropped (the command then hung until its timeout).

import { cutBeforeOpenEscape } from './escapeCut';

/** The most output one reply carries, whatever the line limit. */
export const MAX_OUTPUT_BYTES = 256 * 1024;

/**
 * The encoded-size budget of a command's output for a peer that reads lines of up to
 * maxLineBytes: half the line at most, so the envelope (ids up to the other half, keys) always
 * fits — even at the smallest line limit the gateway accepts (1024 → 512).
 */
export function outputBudget(maxLineBytes: number): number {
  return Math.min(MAX_OUTPUT_BYTES, Math.floor(maxLineBytes / 2));
}

/** Bytes of JSON.stringify(text) in UTF-8, quotes included, without building it. */
export function encodedSize(text: string): number {
  let size = 2;
  for (let i = 0; i < text.length; i++) size += unitSize(text, i) || (i++, 4);
  return size;
}

/**
 * The length (UTF-16 units) of the longest prefix of text whose encoded size is at most
 * maxBytes. Never splits a surrogate pair.
 */
export function fitTextLength(text: string, maxBytes: number): number {
  let size = 2;
  for (let i = 0; i < text.length; ) {
    const u = unitSize(text, i);
    const [step, cost] = u === 0 ? [2, 4] : [1, u];
    if (size + cost > maxBytes) return i;
    size += cost;
    i += step;
  }
  return text.length;
}

/**
 * The encoded size of text[i] alone; 0 for the high half of a valid surrogate pair (the pair
 * encodes to 4 bytes as one character).
 */
function unitSize(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0x80) {
    if (c >= 0x20) return c === 0x22 || c === 0x5c ? 2 : 1;
    return c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6;
  }
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdbff) {
    const next = text.charCodeAt(i + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return 0;
    return 6; // a lone surrogate: JSON.stringify writes \udXXX
  }
  if (c >= 0xdc00 && c <= 0xdfff) return 6;
  return 3;
}

export interface FittedBytes {
  text: string;
  /** How many of the raw bytes the text stands for (a prefix cut at a character boundary). */
  keptBytes: number;
}

/**
 * Decodes raw output (UTF-8; invalid sequences become U+FFFD) and keeps the longest prefix,
 * cut at a character boundary of the raw bytes, whose encoded size is at most maxBytes.
 * `complete: false` says raw is only the start of the output: its end is then no boundary.
 */
export function fitBytes(raw: Buffer, maxBytes: number, complete = true): FittedBytes {
  if (complete) {
    const whole = raw.toString('utf8');
    if (encodedSize(whole) <= maxBytes) return { text: whole, keptBytes: raw.length };
  }
  // Decoding a prefix that ends at a boundary gives a prefix of the whole decoding, so the encoded
  // size grows with the cut: binary search for the largest cut that fits.
  const fits = (cut: number) => encodedSize(raw.toString('utf8', 0, cut)) <= maxBytes;
  let lo = 0; // fits (an empty text, unless maxBytes < 2: then nothing fits and nothing is kept)
  let hi = raw.length; // does not fit (or is not a boundary)
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (fits(boundaryAtOrBefore(raw, mid))) lo = mid;
    else hi = mid;
  }
  const cut = boundaryAtOrBefore(raw, lo);
  return { text: raw.toString('utf8', 0, cut), keptBytes: cut };
}

/** The largest position ≤ at (and ≥ at - 3: a character is at most four bytes) that is a boundary. */
function boundaryAtOrBefore(raw: Buffer, at: number): number {
  let p = at;
  while (p > 0 && !isBoundary(raw, p)) p--;
  return p;
}

/**
 * Whether a UTF-8 decoder (WHATWG rules, as Buffer#toString) is between characters before raw[p]:
 * then decoding raw[0, p) gives a prefix of decoding all of raw. It is not only when p is inside
 * a sequence that is valid so far and that raw[p] continues.
 */
function isBoundary(raw: Buffer, p: number): boolean {
  if (p <= 0 || p >= raw.length) return true;
  for (let k = 1; k <= 3 && p - k >= 0; k++) {
    const lead = raw[p - k];
    if ((lead & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 1;
    if (k >= length) return true; // its character (or its invalid start) ended before p
    for (let j = 1; j < k; j++) if (!continues(lead, j, raw[p - k + j])) return true; // cut short earlier
    return !continues(lead, k, raw[p]);
  }
  return true; // three continuation bytes before p: no open sequence can reach p
}

/** Whether byte is a valid index-th byte (1-based after the lead) of a sequence led by lead. */
function continues(lead: number, index: number, byte: number): boolean {
  if (index === 1) {
    if (lead === 0xe0) return byte >= 0xa0 && byte <= 0xbf;
    if (lead === 0xed) return byte >= 0x80 && byte <= 0x9f;
    if (lead === 0xf0) return byte >= 0x90 && byte <= 0xbf;
    if (lead === 0xf4) return byte >= 0x80 && byte <= 0x8f;
  }
  return (byte & 0xc0) === 0x80;
}

/**
 * A command's raw output as reply text of at most `budget` encoded bytes: the output (cut at a
 * character boundary outside any escape sequence when it does not fit, and then marked with how
 * many bytes were dropped), followed by `trailer` (e.g. "[exit code 1]", may be empty) on its own line. `totalBytes` is
 * how much the command wrote; `raw` may hold only its start.
 */
export function fitOutput(raw: Buffer, totalBytes: number, trailer: string, budget: number): string {
  if (raw.length >= totalBytes) {
    const whole = withLines(raw.toString('utf8'), [trailer]);
    if (encodedSize(whole) <= budget) return whole;
  }
  // Room for the marker at its longest (every byte dropped) and the trailer, each on a new line.
  const reserve = encodedSize(`\n${truncationNote(totalBytes, totalBytes)}\n${trailer}`) - 2;
  const fitted = fitBytes(raw, budget - reserve, false);
  // An escape sequence cut in two would garble the marker after it: the cut moves before it.
  const kept = cutBeforeOpenEscape(raw, fitted.keptBytes);
  const keptText = kept === fitted.keptBytes ? fitted.text : raw.toString('utf8', 0, kept);
  const text = withLines(keptText, [truncationNote(totalBytes - kept, totalBytes), trailer]);
  // Only a trailer longer than the budget itself gets here; the bound holds all the same.
  return encodedSize(text) <= budget ? text : text.slice(0, fitTextLength(text, budget));
}

function truncationNote(droppedBytes: number, totalBytes: number): string {
  return `[output truncated: ${droppedBytes} of ${totalBytes} bytes dropped]`;
}

/** text, then each non-empty line on a line of its own. */
function withLines(text: string, lines: readonly string[]): string {
  let out = text;
  for (const line of lines) if (line) out += (out && !out.endsWith('\n') ? '\n' : '') + line;
  return out;
}
