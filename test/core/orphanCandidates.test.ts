// The cheap orphan scan's candidate rule (orphanCandidates.ts) on made-up stat rows: which
// processes get their environment read, and what is read after detection (the closure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adoptedBy, candidateRoots, descendantClosure } from '../../src/core/orphanCandidates';
import type { ProcessInfo } from '../../src/core/processSource';

function row(pid: number, ppid: number, pgid = pid, sid = pgid, state = 'S', startTime = pid): ProcessInfo {
  return { pid, ppid, pgid, sid, state, startTime, name: `p${pid}`, cmdline: '' };
}

// A made-up machine: init (1), kthreadd (2) with a kernel thread, a terminal session with its
// shell and a job, a subreaper (50, systemd --user) with an app, a tini (60) with a child, our
// "reaper" (70) with a child, a double-forked escapee on PID 1, a job whose group leader died,
// a session whose leader died, a zombie on PID 1, and a normal child of a live process.
const commands = new Map<number, string>([
  [1, '/sbin/init'], [50, '/usr/lib/systemd/systemd --user'], [60, '/usr/bin/tini -- app'], [70, 'node runner.js'], [10, 'bash'],
]);
const table: ProcessInfo[] = [
  row(1, 0), row(2, 0, 0, 0), row(3, 2, 0, 0, 'I'),
  row(10, 1), row(11, 10, 11, 10), row(12, 11, 11, 10),
  row(50, 1), row(51, 50),
  row(60, 1), row(61, 60, 61, 61),
  row(70, 10, 70, 10), row(71, 70, 71, 10),
  row(80, 1, 80, 80),
  row(90, 10, 89, 10), // group 89's leader is gone
  row(95, 10, 95, 94), // session 94's leader is gone
  row(96, 1, 96, 96, 'Z'),
  row(100, 10, 10, 10), row(101, 100, 10, 10),
];

test('adopted: ppid 1, a given reaper, or an init-like parent command line', () => {
  const reapers = new Set([70]);
  assert.equal(adoptedBy(1, undefined, reapers), true);
  assert.equal(adoptedBy(70, 'node runner.js', reapers), true);
  assert.equal(adoptedBy(50, '/usr/lib/systemd/systemd --user', reapers), true);
  assert.equal(adoptedBy(60, 'tini -- app', reapers), true);
  assert.equal(adoptedBy(10, 'bash', reapers), false);
  assert.equal(adoptedBy(10, undefined, reapers), false);
  assert.equal(adoptedBy(10, 'systemd-resolved', reapers), false, 'a name that merely starts like init');
});

test('candidate roots: re-parented, leaderless, pinned — never kernel threads, zombies, or children of live parents', () => {
  const asked: number[] = [];
  const roots = candidateRoots(table, {
    reapers: [70],
    pinned: [101, 999],
    cmdlineOf: (pid) => {
      asked.push(pid);
      return commands.get(pid);
    },
  });
  assert.deepEqual([...roots].sort((a, b) => a - b), [10, 50, 51, 60, 61, 71, 80, 90, 95, 101]);
  // Each distinct parent's command line is read at most once, and only for parents other than PID 1.
  assert.equal(new Set(asked).size, asked.length, `asked twice: ${asked}`);
  assert.ok(!asked.includes(1), 'PID 1 adopts whatever its command line');
  assert.ok(!roots.has(3), 'kernel thread');
  assert.ok(!roots.has(96), 'zombie');
  assert.ok(!roots.has(12) && !roots.has(11) && !roots.has(100), 'children of live parents in live groups and sessions');
  assert.ok(!roots.has(999), 'a pinned pid that does not exist');
});

test('a double-forked escapee (ppid 1, its own group and session) is a root; a normal job is not', () => {
  const t = [row(1, 0), row(200, 1, 200, 200), row(300, 1), row(301, 300, 301, 300), row(302, 301, 301, 300)];
  const roots = candidateRoots(t, { cmdlineOf: () => 'bash' });
  assert.deepEqual([...roots].sort(), [200, 300]);
});

test('closure: descendants and a group leader\'s escaped members, recursively; stale parent links are not followed', () => {
  const t = [
    row(1, 0),
    row(20, 1, 20, 20), row(21, 20, 20, 20), row(22, 21, 22, 20),
    row(23, 1, 20, 20), // left the tree (double fork) but not the group of 20
    row(24, 23, 24, 24), // its child, in a new session
    row(30, 1), row(31, 30),
    row(40, 20, 40, 40, 'S', 10), // claims parent 20 but started before it: a reused pid's stale link
  ];
  const c = descendantClosure(t, [20]);
  assert.deepEqual([...c].sort((a, b) => a - b), [20, 21, 22, 23, 24]);
  assert.deepEqual([...descendantClosure(t, [])], []);
});
