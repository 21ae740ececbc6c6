// The one membership rule (ownedBy) on a plain table: what the engine's own target and the memory
// ceiling's samples both take. Markers come from the caller's reader, so no process is needed.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { descendants, indexTable, MarkerRead, Owner, ownedBy } from '../../../src/core/kill/members';
import type { Row } from '../../../src/core/kill/source';

const linux = process.platform === 'linux';

// The owner 100 (started at 1000, leads group 100, session 100, parent 50).
const rows: Row[] = [
  { pid: 1, ppid: 0, pgid: 1, sid: 1, startTime: 1 },
  { pid: 50, ppid: 1, pgid: 50, sid: 50, startTime: 500 },
  { pid: 100, ppid: 50, pgid: 100, sid: 100, startTime: 1000 },
  { pid: 101, ppid: 100, pgid: 100, sid: 100, startTime: 1001 }, // in its group
  { pid: 102, ppid: 101, pgid: 102, sid: 100, startTime: 1002 }, // left the group, still below it
  { pid: 110, ppid: 1, pgid: 110, sid: 110, startTime: 1010 }, // setsid double fork, marked
  { pid: 111, ppid: 110, pgid: 110, sid: 110, startTime: 1011 }, // below the marked one (not read)
  { pid: 120, ppid: 1, pgid: 120, sid: 120, startTime: 1020 }, // setsid, unmarked
  { pid: 130, ppid: 50, pgid: 130, sid: 130, startTime: 1030 }, // a sibling (parent 50), marked
  { pid: 140, ppid: 1, pgid: 140, sid: 140, startTime: 900 }, // marked but older than the owner
  { pid: 150, ppid: 1, pgid: 150, sid: 50, startTime: 1050 }, // marked, in another live session
];
const marks: Record<number, string> = { 110: 'A', 130: 'A', 140: 'A', 150: 'A', 120: 'B' };
const owner: Owner = { pid: 100, row: rows[2], startTime: 1000, leads: 100, marks: new Set(['A']), since: 0, siblingsOf: 50 };

function reader(): { read: MarkerRead; asked: number[] } {
  const asked: number[] = [];
  return { asked, read: (r) => (asked.push(r.pid), marks[r.pid]) };
}

test('descendants: parents before children, the starts left out, a refused child\'s subtree not entered', () => {
  const t = indexTable({ rows, complete: true });
  assert.deepEqual(descendants(t, [100]).map((r) => r.pid), [101, 102]);
  assert.deepEqual(descendants(t, [1]).map((r) => r.pid), [50, 110, 120, 140, 150, 100, 130, 111, 101, 102]);
  assert.deepEqual(descendants(t, [100], (r) => r.pid !== 101).map((r) => r.pid), []);
});

test('ownedBy: its group, its descendants, and the marked top of an escaped subtree with what is below it', { skip: !linux && 'markers are read on Linux only' }, () => {
  const t = indexTable({ rows, complete: true });
  const { read, asked } = reader();
  assert.deepEqual(ownedBy(t, owner, read).map((r) => r.pid).sort((a, b) => a - b), [101, 102, 110, 111]);
  // Read: only escapees' tops started after it, in their own session; not a sibling, not an older process, not one below another.
  assert.deepEqual(asked.sort((a, b) => a - b), [110, 120]);
});

test('ownedBy: no marker read when it gave its mark to none (since Infinity), nor without its start time; a dead owner\'s pid is not walked', () => {
  const t = indexTable({ rows, complete: true });
  const { read, asked } = reader();
  assert.deepEqual(ownedBy(t, { ...owner, since: Infinity }, read).map((r) => r.pid), [101, 102]);
  assert.deepEqual(ownedBy(t, { ...owner, startTime: undefined }, read).map((r) => r.pid), [101, 102]);
  assert.deepEqual(asked, []);
  assert.deepEqual(ownedBy(t, { ...owner, row: undefined, leads: undefined, since: Infinity }, read).map((r) => r.pid), [], 'its pid may name another process now');
  assert.deepEqual(ownedBy(t, { ...owner, row: undefined, leads: undefined, since: Infinity }, read, [110]).map((r) => r.pid), [111], 'known members are walked');
});

test('ownedBy: `skip` spares the read of a process already accounted for', { skip: !linux && 'markers are read on Linux only' }, () => {
  const t = indexTable({ rows, complete: true });
  const { read, asked } = reader();
  assert.deepEqual(ownedBy(t, owner, read, [], (pid) => pid === 110).map((r) => r.pid).sort((a, b) => a - b), [101, 102]);
  assert.deepEqual(asked, [120]);
});
