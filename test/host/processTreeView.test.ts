import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childrenByParent, MAX_TREE_PROCESSES, parseProcessTree } from '../../src/host/processTreeView';

test('parseProcessTree: checks every field, skips unusable rows and duplicates, bounds texts and the count; not a tree → undefined', () => {
  assert.equal(parseProcessTree(undefined), undefined);
  assert.equal(parseProcessTree({ processes: 'x' }), undefined);
  const t = parseProcessTree({
    processes: [
      { pid: 1, ppid: 0, startTime: 5, name: 'node', command: 'node gateway.js', role: 'gateway', rssBytes: 100, cpuPercent: 1.5 },
      { pid: 2, ppid: 1, startTime: 6, name: 'sh', command: 'x'.repeat(10_000), role: 'program', escaped: true, pgid: 1, rssBytes: -1, cpuPercent: Infinity },
      { pid: 2, ppid: 1, startTime: 7, name: 'dup' },
      { pid: -3, ppid: 1, startTime: 1 },
      { pid: 4, ppid: 1 },
      null,
      'junk',
    ],
    truncated: false,
    takenAt: 42,
  }, 99)!;
  assert.deepEqual(t.processes.map((p) => p.pid), [1, 2]);
  assert.equal(t.takenAt, 42);
  assert.equal(t.processes[1].escaped, true);
  assert.equal(t.processes[1].command.length, 4097);
  assert.deepEqual([t.processes[1].rssBytes, t.processes[1].cpuPercent], [undefined, undefined]);
  const many = parseProcessTree({ processes: Array.from({ length: MAX_TREE_PROCESSES + 5 }, (_, i) => ({ pid: i + 1, ppid: 0, startTime: 1 })) })!;
  assert.equal(many.processes.length, MAX_TREE_PROCESSES);
  assert.equal(many.truncated, true);
  const kids = childrenByParent(parseProcessTree({ processes: [{ pid: 9, ppid: 1, startTime: 1 }, { pid: 3, ppid: 1, startTime: 1 }, { pid: 1, ppid: 0, startTime: 1 }] })!);
  assert.deepEqual(kids.get(1)!.map((p) => p.pid), [3, 9]);
});
