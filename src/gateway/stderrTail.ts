// Keeps the last few KB a child wrote to stderr, for error messages about its death.
export class StderrTail {
  private text = '';
  constructor(private readonly maxChars = 4096) {}

  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > this.maxChars * 2) this.text = this.text.slice(-this.maxChars);
  }

  /** The tail: at most maxChars, starting at a line boundary where possible. */
  get value(): string {
    let t = this.text.slice(-this.maxChars);
    if (this.text.length > this.maxChars) {
      const nl = t.indexOf('\n');
      if (nl >= 0 && nl < t.length - 1) t = t.slice(nl + 1);
    }
    return t.trimEnd();
  }
}
