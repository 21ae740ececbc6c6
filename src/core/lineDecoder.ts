// Splits a byte stream into lines at '\n' (a trailing '\r' is dropped). A line longer than
// maxLineBytes is reported once and discarded up to its next newline, so one huge line can
// neither exhaust memory nor end the connection. Its first bytes are handed over with the report,
// so a JSON-RPC peer can still tell whose message it was (its id) and answer or fail just that one.

/** How much of an oversize line is kept for the report: enough for a JSON-RPC envelope's head. */
export const OVERSIZE_HEAD_BYTES = 512;

export interface LineDecoderHandlers {
  line(text: string): void;
  /** Called once per oversize line, as soon as it crosses the limit, with its first bytes. */
  oversize(limitBytes: number, head: string): void;
}

export class LineDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly handlers: LineDecoderHandlers,
  ) {}

  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) {
        this.append(buf.subarray(start));
        return;
      }
      this.append(buf.subarray(start, nl));
      this.finishLine();
      start = nl + 1;
    }
  }

  /** End of input: a last line without a newline still counts. */
  end(): void {
    if (this.size > 0 || this.discarding) this.finishLine();
  }

  private append(part: Buffer): void {
    if (this.discarding || part.length === 0) return;
    if (this.size + part.length > this.maxLineBytes) {
      // Buffer.concat copies only totalLength bytes; a character cut at the end becomes U+FFFD.
      const head = Buffer.concat([...this.parts, part], Math.min(this.size + part.length, OVERSIZE_HEAD_BYTES)).toString('utf8');
      this.discarding = true;
      this.parts = [];
      this.size = 0;
      this.handlers.oversize(this.maxLineBytes, head);
      return;
    }
    this.parts.push(part);
    this.size += part.length;
  }

  private finishLine(): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    let text = this.parts.length === 1 ? this.parts[0].toString('utf8') : Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.size = 0;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return;
    this.handlers.line(text);
  }
}
