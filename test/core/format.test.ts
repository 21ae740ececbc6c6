// The one set of display helpers (core/format.ts): each figure in one form, wherever it is shown.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatBytes, formatCpuPercent, formatCpuTime, formatDuration, formatMegabytes, formatWorkerCount, renderTable, truncate } from '../../src/core/format';

test('durations: whole seconds up, two units at most; "?" for what is unknown or impossible', () => {
  assert.deepEqual(
    [850, 42_000, 7 * 60_000 + 3000, 5 * 3_600_000 + 2 * 60_000, 3 * 86_400_000 + 4 * 3_600_000].map((ms) => formatDuration(ms)),
    ['850ms', '42s', '7m 3s', '5h 2m', '3d 4h'],
  );
  for (const bad of [undefined, null, NaN, -1, Infinity]) assert.equal(formatDuration(bad), '?', String(bad));
  assert.deepEqual(
    [0, 850, 59_999, 60_000, 7 * 60_000 + 3000, 5 * 3_600_000 + 2 * 60_000 + 5000, 3 * 86_400_000 + 4 * 3_600_000].map((ms) => formatDuration(ms, 'minute')),
    ['<1m', '<1m', '<1m', '1m', '7m', '5h 2m', '3d 4h'],
  );
  assert.equal(formatDuration(-1, 'minute'), '?');
});

test('sizes: bytes, then one decimal below 10 of a unit, whole above; MB settings in whole MB', () => {
  assert.deepEqual([512, 2048, 512 * 1024, 44 * 1024 * 1024, 1.5 * 1024 ** 3].map(formatBytes), ['512 B', '2.0 KB', '512 KB', '44 MB', '1.5 GB']);
  for (const bad of [undefined, null, NaN, -1]) assert.equal(formatBytes(bad), '?', String(bad));
  assert.equal(formatMegabytes(64 * 1024 * 1024), '64 MB');
  assert.equal(formatMegabytes(4096 * 1024 * 1024), '4096 MB', 'the setting\'s unit, never "4.0 GB"');
});

test('CPU as a share and as time used; worker counts; cut text; aligned tables', () => {
  assert.deepEqual([formatCpuPercent(7.53), formatCpuPercent(13.4), formatCpuPercent(undefined)], ['7.5% CPU', '13% CPU', undefined]);
  assert.deepEqual([formatCpuTime(1250), formatCpuTime(65_000), formatCpuTime(null)], ['1.25s', '1m 5s', '?']);
  assert.deepEqual([formatWorkerCount(1, undefined), formatWorkerCount(3, 16)], ['1 worker', '3 of 16 workers']);
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(renderTable(['A', 'LONG'], [['xx', 'y'], ['z', 'w']], 80), 'A   LONG\nxx  y\nz   w');
});
