import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cutBeforeOpenEscape } from '../../src/worker/escapeCut';
import { fitOutput } from '../../src/worker/outputFit';

/** For each cut position of text: where the cut moves to. */
function cuts(text: string): number[] {
  const raw = Buffer.from(text, 'latin1');
  return Array.from({ length: raw.length + 1 }, (_, end) => cutBeforeOpenEscape(raw, end));
}

/** Positions [from, to) move to `at`; every other position stays. */
function expectOpen(text: string, spans: [from: number, to: number, at: number][]): void {
  cuts(text).forEach((got, end) => {
    const span = spans.find(([from, to]) => end > from && end < to);
    assert.equal(got, span ? span[2] : end, `cut at ${end} of ${JSON.stringify(text)}`);
  });
}

test('a cut inside a CSI sequence (colour, cursor) moves before its ESC; before or after it, the cut stays', () => {
  // 'ab' ESC [ 3 1 m 'cd': ESC at 2, final 'm' at 6.
  expectOpen('ab\x1b[31mcd', [[2, 7, 2]]);
  expectOpen('\x1b[2J\x1b[1;1H', [[0, 4, 0], [4, 10, 4]]);
});

test('a cut inside an OSC or DCS string moves before it, also between the ESC and backslash of its terminator', () => {
  // OSC 8 hyperlink: ESC ] 8 ; ; u r l ESC \  then 'link'.
  const link = '\x1b]8;;url\x1b\\link';
  expectOpen(link, [[0, 10, 0]]);
  // OSC title ended by BEL.
  expectOpen('\x1b]0;title\x07x', [[0, 10, 0]]);
  // DCS ended by ST.
  expectOpen('\x1bPq#0\x1b\\.', [[0, 7, 0]]);
  // A string cut off by another sequence ends there; that one is parsed on its own. Cut right
  // after that ESC, it may still be the string's terminator: the cut goes before the string.
  expectOpen('\x1b]0;t\x1b[1mx', [[0, 7, 0], [6, 9, 5]]);
});

test('short sequences (ESC 7, ESC ( B) and a bare ESC', () => {
  expectOpen('a\x1b7b', [[1, 3, 1]]);
  expectOpen('a\x1b(Bb', [[1, 4, 1]]);
  expectOpen('a\x1b\x1b[mb', [[1, 3, 1], [2, 5, 2]]);
});

test('an ESC further back than 4096 bytes is not looked for: the cut stays', () => {
  const raw = Buffer.concat([Buffer.from('\x1b]0;'), Buffer.alloc(5000, 0x61)]);
  assert.equal(cutBeforeOpenEscape(raw, raw.length), raw.length);
  assert.equal(cutBeforeOpenEscape(raw, 100), 0);
});

test('fitOutput never leaves a sequence open before its truncation marker, whatever the budget', () => {
  const lines = Array.from({ length: 400 }, (_, i) => `\x1b[32mline ${i}\x1b[0m \x1b]8;;https://example.invalid/${i}\x1b\\link\x1b]8;;\x1b\\\n`).join('');
  const raw = Buffer.from(lines);
  for (let budget = 600; budget < 900; budget++) {
    const out = fitOutput(raw, raw.length, '[exit code 0]', budget);
    const m = /\n?\[output truncated: (\d+) of (\d+) bytes dropped\]\n\[exit code 0\]$/.exec(out);
    assert.ok(m, `marked at budget ${budget}`);
    const kept = raw.length - Number(m[1]);
    assert.equal(raw.toString('utf8', 0, kept).replace(/\n$/, ''), out.slice(0, m.index), 'the kept bytes, then the marker');
    assert.equal(cutBeforeOpenEscape(raw, kept), kept, `nothing open at budget ${budget}: ${JSON.stringify(out.slice(m.index - 40, m.index))}`);
  }
});
