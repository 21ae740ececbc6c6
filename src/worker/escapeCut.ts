// Where a cut through terminal output must move back to so it does not split an escape sequence.
// Output is cut to fit a reply (outputFit.ts); a cut inside `ESC [ 3 1 m` or an OSC hyperlink
// leaves a fragment that a terminal or ANSI renderer shows as garbage or, worse, keeps
// consuming the marker line after it as part of the sequence.

const ESC = 0x1b;
const BEL = 0x07;
/** How far back an open sequence is looked for: CSI and most OSC (titles, hyperlinks) are far shorter. */
const MAX_SEQUENCE_BYTES = 4096;

/**
 * The start of an escape sequence that raw[0, end) leaves unfinished, or `end` when there is none.
 * Sequences are parsed forward from the first ESC of the last MAX_SEQUENCE_BYTES (a string
 * sequence's terminator is itself an ESC, so the last ESC alone cannot tell).
 */
export function cutBeforeOpenEscape(raw: Buffer, end: number): number {
  let p = raw.indexOf(ESC, Math.max(0, end - MAX_SEQUENCE_BYTES));
  while (p !== -1 && p < end) {
    const after = sequenceEnd(raw, p, end);
    if (after === undefined) return p;
    p = raw.indexOf(ESC, after);
  }
  return end;
}

/** The position after the sequence that starts at raw[start] (an ESC), if it ends before `end`. */
function sequenceEnd(raw: Buffer, start: number, end: number): number | undefined {
  if (start + 1 >= end) return undefined;
  const kind = raw[start + 1];
  if (kind === 0x5b) {
    // CSI: parameter and intermediate bytes, then one final byte in 0x40–0x7e.
    for (let p = start + 2; p < end; p++) if (raw[p] >= 0x40 && raw[p] <= 0x7e) return p + 1;
    return undefined;
  }
  if (kind === 0x5d || kind === 0x50 || kind === 0x58 || kind === 0x5e || kind === 0x5f) {
    // OSC, DCS, SOS, PM, APC: a string ended by ST (ESC \), or BEL for OSC; an ESC that starts
    // anything else ends the string there (the next sequence is parsed from it).
    for (let p = start + 2; p < end; p++) {
      if (kind === 0x5d && raw[p] === BEL) return p + 1;
      if (raw[p] !== ESC) continue;
      if (p + 1 >= end) return undefined;
      return raw[p + 1] === 0x5c ? p + 2 : p;
    }
    return undefined;
  }
  // Any other: intermediate bytes 0x20–0x2f, then one final byte (ESC 7, ESC ( B, …).
  for (let p = start + 1; p < end; p++) {
    if (raw[p] === ESC) return p; // a bare ESC: the next sequence starts here
    if (raw[p] < 0x20 || raw[p] > 0x2f) return p + 1;
  }
  return undefined;
}
