import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Orphan } from '../../src/core/orphans';
import { renderOrphanTable } from '../../src/core/report/reportMarkdown';
import { nullLog } from '../../src/host/seams';
import { clearOrphansFlow, foundMessage, OrphanSource, startupOrphanScan } from '../../src/ui/orphansFlow';
import type { OrphanView } from '../../src/ui/treeNodes';
import { fakeWindow } from './fakeVscode';

const o = (pid: number): OrphanView => ({ pid, startTime: pid * 10, ageMs: 60_000, rssBytes: 44 << 20, cmdline: `python -m tui_gateway.slash_worker --n ${pid}`, reason: 'owner host is dead' });

/** A log that counts how often it was opened. */
function logWithShow() {
  let opened = 0;
  return { ...nullLog, show: () => void opened++, opened: () => opened };
}
const quietLog = logWithShow();

function source(list: OrphanView[], incomplete?: string, logged?: number) {
  const cleared: number[][] = [];
  let aborted = false;
  const s: OrphanSource & { cleared: number[][]; aborted(): boolean } = {
    cleared,
    aborted: () => aborted,
    scan: async () => ({ items: list, incomplete, logged }),
    clear: async (items, opts) => {
      cleared.push(items.map((i) => i.pid));
      aborted = opts.signal?.aborted ?? false;
      return items.map((i, n) => {
        opts.onProgress?.(n + 1, items.length, i.pid);
        return aborted
          ? { pid: i.pid, ok: false, reason: 'cancelled' as const, message: 'cancelled before it was signalled' }
          : i.pid === 3 ? { pid: 3, ok: false, reason: 'other-user' as const, message: 'refused: other user' } : { pid: i.pid, ok: true, message: 'ended' };
      });
    },
  };
  return s;
}

test('clear orphans: all pre-selected with pid, age, memory, command line and reason; progress; summary names failures', async () => {
  const src = source([o(1), o(2), o(3)]);
  const window = fakeWindow({ pick: [(items: { picked: boolean }[]) => items.filter((i) => i.picked)] });
  const summary = await clearOrphansFlow(window, src, quietLog);
  const pick = window.shown.find((s) => s.kind === 'pick')!;
  const items = pick.items as { label: string; description: string; detail: string; picked: boolean }[];
  assert.ok(items.every((i) => i.picked), 'all pre-selected');
  assert.equal(items[0].label, 'pid 1');
  assert.match(items[0].description, /1m 0s old · 44 MB · owner host is dead/);
  assert.match(items[0].detail, /tui_gateway\.slash_worker --n 1/);
  assert.deepEqual(src.cleared, [[1, 2, 3]]);
  const progress = window.shown.find((s) => s.kind === 'progress')!;
  assert.equal((progress.items as unknown[]).length, 3, 'one progress report per orphan');
  assert.deepEqual(summary && { c: summary.cleared, f: summary.failed.map((f) => f.pid) }, { c: 2, f: [3] });
  assert.match(window.shown.at(-1)!.message, /Cleared 2 of 3 .* Not cleared: 3 \(refused: other user\)/);
  assert.equal(window.shown.at(-1)!.kind, 'warning');
});

test('clear orphans: unselecting keeps a process; cancelling the progress aborts the rest', async () => {
  const src = source([o(1), o(2)]);
  const window = fakeWindow({ pick: [(items: { o: OrphanView }[]) => items.filter((i) => i.o.pid === 2)] });
  window.cancelNextProgress();
  const summary = await clearOrphansFlow(window, src, quietLog);
  assert.deepEqual(src.cleared, [[2]]);
  assert.equal(src.aborted(), true, 'the cancellation token reached clearing as an AbortSignal');
  assert.equal(summary!.cancelled, true);
});

test('nothing found → an information message, no pick', async () => {
  const window = fakeWindow();
  assert.equal(await clearOrphansFlow(window, source([]), quietLog), undefined);
  assert.deepEqual(window.shown.map((s) => s.kind), ['info']);
});

test('nothing found by a scan that could not read the whole process table → a warning that says so, never "none"', async () => {
  const window = fakeWindow();
  assert.equal(await clearOrphansFlow(window, source([], 'EMFILE: too many open files'), quietLog), undefined);
  assert.deepEqual(window.shown.map((s) => s.kind), ['warning']);
  assert.match(String(window.shown[0].message), /^No orphaned processes found, but the process table could not be read in full \(EMFILE: too many open files\): some may not be listed\.$/);
});

test('a scan that logged problems says so, with Show Log — also when it found nothing (not a bare "none")', async () => {
  const log = logWithShow();
  const window = fakeWindow({ warning: ['Show Log'] });
  assert.equal(await clearOrphansFlow(window, source([], undefined, 2), log), undefined);
  assert.deepEqual(window.shown.map((s) => [s.kind, s.items]), [['warning', ['Show Log']]]);
  assert.match(String(window.shown[0].message), /^No orphaned processes found\. The scan logged 2 problems \(/);
  assert.equal(log.opened(), 1, 'Show Log opened the log');
  const both = fakeWindow();
  await clearOrphansFlow(both, source([], 'EMFILE: too many open files', 1), log);
  assert.match(String(both.shown[0].message), /could not be read in full \(EMFILE: too many open files\): some may not be listed\. The scan logged 1 problem \(/);
  const listed = fakeWindow();
  await clearOrphansFlow(listed, source([o(1)], undefined, 3), log);
  assert.equal(listed.shown.find((s) => s.kind === 'pick')?.title, 'Clear orphaned processes — 3 scan problems in the log');
  const clean = fakeWindow();
  await clearOrphansFlow(clean, source([o(1)]), log);
  assert.equal(clean.shown.find((s) => s.kind === 'pick')?.title, 'Clear orphaned processes');
});

test('start-up scan is retried once and keeps only what both scans saw (a reloading window is not an orphan)', async () => {
  const scans = [[o(1), o(2)], [o(2), o(5)]];
  const delays: number[] = [];
  const found = await startupOrphanScan({ scan: async () => ({ items: scans.shift()! }) }, 1500, async (ms) => void delays.push(ms));
  assert.deepEqual(found.items.map((x) => x.pid), [2]);
  assert.deepEqual(delays, [1500]);
  const none = await startupOrphanScan({ scan: async () => ({ items: [] }) }, 1500, async () => assert.fail('no retry when nothing was found'));
  assert.deepEqual(none.items, []);
  assert.equal(foundMessage(3), 'Found 3 orphaned processes from an earlier session');
  assert.equal(foundMessage(1), 'Found 1 orphaned process from an earlier session');
});

test('clear orphans from one orphan\'s row: only that one pre-selected, the rest listed unselected', async () => {
  const src = source([o(1), o(2), o(4)]);
  const window = fakeWindow({ pick: [(items: { picked: boolean }[]) => items.filter((i) => i.picked)] });
  await clearOrphansFlow(window, src, quietLog, 2);
  const items = window.shown.find((s) => s.kind === 'pick')!.items as { label: string; picked: boolean }[];
  assert.deepEqual(items.map((i) => [i.label, i.picked]), [['pid 1', false], ['pid 2', true], ['pid 4', false]]);
  assert.deepEqual(src.cleared, [[2]]);
});

test('clear orphans: "cancelled" is the reason code, not a word in the message (a refusal that mentions it is not a cancellation)', async () => {
  const src: OrphanSource = {
    scan: async () => ({ items: [o(7)] }),
    clear: async () => [{ pid: 7, ok: false, reason: 'other-user', message: 'refused: its owner cancelled nothing, it is another user\'s' }],
  };
  const window = fakeWindow({ pick: [(items: { picked: boolean }[]) => items.filter((i) => i.picked)] });
  const summary = await clearOrphansFlow(window, src, quietLog);
  assert.equal(summary!.cancelled, false);
  assert.deepEqual(summary!.failed.map((f) => f.reason), ['other-user']);
});

test('one orphan reads the same in the palette and in the CLI\'s table (they said "7m 3s old · 44 MB" and "7m03s  44.0 MB")', async () => {
  const view = { ...o(9), ageMs: 7 * 60_000 + 3000 };
  const window = fakeWindow({ pick: [() => undefined] });
  await clearOrphansFlow(window, source([view]), quietLog);
  const [item] = window.shown.find((s) => s.kind === 'pick')!.items as { description: string }[];
  const [age, memory] = item.description.split(' · ');
  const orphan: Orphan = {
    pid: 9, ppid: 1, fingerprint: { pid: 9, startTime: 90, bootId: 'b' }, reason: 'pattern-reparented', reasons: ['pattern-reparented'],
    reasonText: view.reason, command: view.cmdline, ageMs: view.ageMs, rss: view.rssBytes, descendants: [],
  };
  const { table, total } = renderOrphanTable([orphan], 200);
  const row = table.split('\n')[1].split(/ {2,}/);
  assert.deepEqual([`${row[1]} old`, row[2]], [age, memory]);
  assert.deepEqual([age, memory], ['7m 3s old', '44 MB']);
  assert.equal(total, '1 orphan(s), 1 process(es), 44 MB resident');
});
