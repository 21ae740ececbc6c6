import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodedSize, fitBytes, fitOutput, fitTextLength, MAX_OUTPUT_BYTES, outputBudget } from '../../src/worker/outputFit';

const jsonBytes = (s: string) => Buffer.byteLength(JSON.stringify(s), 'utf8');

/** Strings of random UTF-16 units drawn from every class that encodes differently. */
function randomText(n: number): string {
  const pools = [
    () => 0x20 + Math.floor(Math.random() * 0x5f), // printable ASCII, " and \ included
    () => Math.floor(Math.random() * 0x20), // control characters
    () => 0x7f,
    () => 0x80 + Math.floor(Math.random() * 0x780), // 2 bytes
    () => 0x800 + Math.floor(Math.random() * 0xd000), // 3 bytes, below the surrogates
    () => 0xd800 + Math.floor(Math.random() * 0x400), // high surrogate (paired or not)
    () => 0xdc00 + Math.floor(Math.random() * 0x400), // low surrogate (paired or not)
    () => 0xe000 + Math.floor(Math.random() * 0x2000),
  ];
  const units: number[] = [];
  for (let i = 0; i < n; i++) units.push(pools[Math.floor(Math.random() * pools.length)]());
  return String.fromCharCode(...units);
}

test('encodedSize is exactly the UTF-8 size of JSON.stringify', () => {
  const fixed = [
    '', 'plain', '"quoted" \\ back', '\b\t\n\f\r', '\u0000\u0001\u001f\u007f', 'é€', '😀', 'a😀b',
    '\ud800', '\udc00', 'x\ud800', '\udc00\ud800', '\ud83d\ude00\ud83d', '\u2028\u2029', '\ufffd', '\u001b[31mred\u001b[0m',
  ];
  for (const s of fixed) assert.equal(encodedSize(s), jsonBytes(s), JSON.stringify(s));
  for (let i = 0; i < 300; i++) {
    const s = randomText(1 + Math.floor(Math.random() * 60));
    assert.equal(encodedSize(s), jsonBytes(s), JSON.stringify(s));
  }
});

test('fitTextLength: the longest prefix within the budget, never half a surrogate pair', () => {
  assert.equal(fitTextLength('abc', 5), 3, 'exactly the budget: all of it');
  assert.equal(fitTextLength('abc', 4), 2, 'one byte short: the last character goes');
  assert.equal(fitTextLength('abc', 2), 0, 'room for the quotes only');
  assert.equal(fitTextLength('abc', 1), 0);
  assert.equal(fitTextLength('\u0000\u0000', 13), 1, 'a NUL costs 6');
  // "a😀": 2 + 1 + 4. With 6 bytes the pair does not fit, and neither of its halves is kept.
  assert.equal(fitTextLength('a😀', 6), 1);
  assert.equal(fitTextLength('a😀', 7), 3);
  // A lone high surrogate costs 6 (\ud83d): it is a character of its own and may be cut after.
  assert.equal(fitTextLength('\ud83dz', 8), 1);
  for (let i = 0; i < 300; i++) {
    const s = randomText(1 + Math.floor(Math.random() * 80));
    const max = 2 + Math.floor(Math.random() * (encodedSize(s) + 4));
    const n = fitTextLength(s, max);
    const kept = s.slice(0, n);
    assert.ok(encodedSize(kept) <= max, `fits: ${JSON.stringify(s)} max ${max}`);
    if (n < s.length) {
      const pairAt = /[\ud800-\udbff]/.test(s[n]) && /[\udc00-\udfff]/.test(s[n + 1] ?? '');
      assert.ok(!(/[\ud800-\udbff]/.test(s[n - 1] ?? '') && /[\udc00-\udfff]/.test(s[n])), 'a pair is never split');
      assert.ok(encodedSize(s.slice(0, n + (pairAt ? 2 : 1))) > max, `maximal: ${JSON.stringify(s)} max ${max} kept ${n}`);
    }
  }
});

test('fitBytes: a prefix cut at a UTF-8 boundary, within the budget, and the longest such', () => {
  const inputs: [string, Buffer][] = [
    ['zeros', Buffer.alloc(3000)],
    ['\\x01', Buffer.alloc(3000, 1)],
    ['0xff (invalid)', Buffer.alloc(3000, 0xff)],
    ['random', randomBytes(3000)],
    ['2-, 3- and 4-byte characters', Buffer.from('é€😀'.repeat(300))],
    ['ANSI', Buffer.from('\u001b[31mred\u001b[0m\n'.repeat(200))],
    ['truncated sequences and stray continuations', Buffer.from([0xf0, 0x90, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0xe2, 0x82, 0x42, 0xc3].flatMap((b) => [b, b]))],
  ];
  for (const [name, raw] of inputs) {
    const full = raw.toString('utf8');
    for (const max of [2, 3, 7, 13, 100, 512, 2047, 4096, encodedSize(full) - 1, encodedSize(full)]) {
      const r = fitBytes(raw, max);
      assert.ok(jsonBytes(r.text) <= max, `${name} max ${max}: ${jsonBytes(r.text)} bytes`);
      assert.equal(r.text, raw.toString('utf8', 0, r.keptBytes), `${name}: the text is the decoded kept bytes`);
      assert.ok(full.startsWith(r.text), `${name} max ${max}: a prefix of the whole decoding (cut at a boundary)`);
      if (r.keptBytes < raw.length) {
        // The next character (whatever its byte length) would not have fitted.
        const next = [1, 2, 3, 4].map((n) => raw.toString('utf8', 0, r.keptBytes + n)).find((t) => full.startsWith(t) && t.length > r.text.length);
        if (next !== undefined) assert.ok(jsonBytes(next) > max, `${name} max ${max}: maximal (kept ${r.keptBytes})`);
      } else {
        assert.equal(encodedSize(full) <= max, true);
      }
    }
  }
  // Valid input is never cut inside a character: no replacement character appears.
  const emoji = Buffer.from('😀'.repeat(100));
  for (let max = 2; max < 60; max++) assert.ok(!fitBytes(emoji, max).text.includes('\ufffd'), `max ${max}`);
  // Only the start of the output: its end is no boundary, even when the bytes would fit.
  assert.equal(fitBytes(Buffer.from('abc'), 100, false).keptBytes, 2);
});

test('fitOutput: within the budget, truncation marked with the bytes dropped, the trailer kept', () => {
  const marker = /\[output truncated: (\d+) of (\d+) bytes dropped\]/;
  for (const budget of [512, 2048, MAX_OUTPUT_BYTES]) {
    for (const [raw, total] of [[Buffer.alloc(budget), 300_000], [Buffer.alloc(budget, 0xff), 300_000], [randomBytes(budget), 2_000_000]] as [Buffer, number][]) {
      for (const trailer of ['', '[exit code 1]']) {
        const out = fitOutput(raw, total, trailer, budget);
        assert.ok(jsonBytes(out) <= budget, `${jsonBytes(out)} <= ${budget}`);
        const m = marker.exec(out);
        assert.ok(m, 'marked');
        assert.equal(Number(m[2]), total);
        const kept = total - Number(m[1]);
        assert.ok(kept >= 0 && kept <= raw.length);
        assert.equal(out.slice(0, m.index).replace(/\n$/, ''), raw.toString('utf8', 0, kept).replace(/\n$/, ''), 'the kept bytes, then the marker');
        assert.ok(out.endsWith(trailer || m[0]));
      }
    }
  }
  // What fits is returned as it is (the trailer on its own line); nothing is marked.
  assert.equal(fitOutput(Buffer.from('hello'), 5, '[exit code 2]', 512), 'hello\n[exit code 2]');
  assert.equal(fitOutput(Buffer.from('hello\n'), 5 + 1, '', 512), 'hello\n');
  // Fits in raw bytes but not once encoded: 400 NULs are 2,400 bytes in JSON.
  assert.match(fitOutput(Buffer.alloc(400), 400, '', 512), /\[output truncated: \d+ of 400 bytes dropped\]$/);
  // Bytes the command wrote beyond the ones kept still count as dropped, even if the kept ones fit.
  assert.match(fitOutput(Buffer.from('abc'), 10, '', 512), /^ab\n\[output truncated: 8 of 10 bytes dropped\]$/);
});

test('outputBudget: half the line, at most 256 KiB', () => {
  assert.equal(outputBudget(1024), 512);
  assert.equal(outputBudget(4096), 2048);
  assert.equal(outputBudget(1024 * 1024), MAX_OUTPUT_BYTES);
  assert.equal(outputBudget(8 * 1024 * 1024), MAX_OUTPUT_BYTES);
});
