// The detection rules on synthetic snapshots: pure functions of a table and checkpoints, so the
// edge cases (init-like parents, zombies, other users, nesting) can be pinned exactly. Nothing is
// signalled here; the same rules run on real processes in test/process/orphans.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Checkpoint } from '../../src/core/checkpoint';
import { Fingerprint, formatFingerprint } from '../../src/core/fingerprint';
import { detectOrphans, detectOrphansDetailed } from '../../src/core/orphans';
import { ageFromStartTicks } from '../../src/core/orphansAge';
import { linuxBootId } from '../../src/core/procfs';
import type { ProcessInfo } from '../../src/core/processTable';

const linux = process.platform === 'linux';
const uid = process.getuid?.() ?? 0;
const boot = linux ? linuxBootId() : 'boot';
// Pids far above pid_max's default so the synthetic table cannot be mistaken for real processes.
const P = 9_000_000;

function proc(pid: number, ppid: number, cmdline: string, extra: Partial<ProcessInfo> = {}): ProcessInfo {
  return { pid, ppid, pgid: pid, uid, startTime: pid * 10, state: 'S', name: cmdline.split(' ')[0], cmdline, ...extra };
}
const fp = (p: ProcessInfo): Fingerprint => ({ pid: p.pid, startTime: p.startTime!, bootId: boot });
const deadHost: Fingerprint = { pid: P + 999, startTime: 1, bootId: boot };

const init = proc(1, 0, '/sbin/init');
const systemdUser = proc(P + 1, 1, '/usr/lib/systemd/systemd --user', { name: 'systemd' });
const shell = proc(P + 2, 1, 'bash');

test('pattern rule: adopted by PID 1 or an init-like subreaper counts; a live, non-init parent does not', { skip: !linux }, () => {
  const a = proc(P + 10, 1, 'python -m tui_gateway.slash_worker --session 1');
  const b = proc(P + 11, systemdUser.pid, 'python -m tui_gateway.entry');
  const c = proc(P + 12, shell.pid, 'python -m tui_gateway.slash_worker --session 2');
  const d = proc(P + 13, b.pid, 'python -m tui_gateway.slash_worker --session 3'); // under an orphaned gateway
  const e = proc(P + 14, P + 55, 'python -m tui_gateway.slash_worker --session 4'); // custom subreaper
  const reaper = proc(P + 55, 1, 'my-supervisor');
  const table = [init, systemdUser, shell, a, b, c, d, e, reaper];
  const found = detectOrphans({ table, markers: false });
  assert.deepEqual(found.map((o) => o.pid), [a.pid, b.pid]);
  assert.deepEqual(found[1].descendants.map((x) => x.pid), [d.pid], 'the worker of an orphaned gateway is nested');
  assert.match(found[1].reasonText, /re-parented to systemd \(pid \d+\)/);
  assert.deepEqual(detectOrphans({ table, markers: false, reapers: [reaper.pid] }).map((o) => o.pid), [a.pid, b.pid, e.pid]);
  assert.deepEqual(detectOrphans({ table, markers: false, patterns: [] }), [], 'no patterns, no pattern rule');
  // A /g pattern keeps lastIndex between test() calls; detection must not skip every other match.
  assert.equal(detectOrphans({ table, markers: false, patterns: [/tui_gateway/g] }).length, 2);
});

test('zombies, other users\' processes and our own ancestry are never orphans', { skip: !linux }, () => {
  const zombie = proc(P + 20, 1, 'python -m tui_gateway.entry', { state: 'Z' });
  const other = proc(P + 21, 1, 'python -m tui_gateway.entry', { uid: uid + 1 });
  const me = proc(P + 22, 1, 'python -m tui_gateway.entry');
  const child = proc(P + 23, me.pid, 'node cli.js');
  const found = detectOrphans({ table: [init, zombie, other, me, child], markers: false, selfPid: child.pid });
  assert.deepEqual(found, []);
});

test('marker rule: a dead owner makes an orphan, a live one protects, unparseable markers are ignored', { skip: !linux }, () => {
  const host = proc(P + 30, 1, 'code --type=extensionHost');
  const live = proc(P + 31, 1, 'sleep 1', { owner: formatFingerprint(fp(host)) });
  const dead = proc(P + 32, 1, 'sleep 2', { owner: formatFingerprint(deadHost) });
  const deadChild = proc(P + 33, dead.pid, 'sleep 3', { owner: formatFingerprint(deadHost) });
  const junk = proc(P + 34, 1, 'sleep 4', { owner: 'not-a-fingerprint' });
  const reused = proc(P + 35, 1, 'sleep 5', { owner: formatFingerprint({ ...fp(host), startTime: host.startTime! + 1 }) });
  const table = [init, host, live, dead, deadChild, junk, reused];
  const found = detectOrphans({ table, patterns: [] });
  assert.deepEqual(found.map((o) => o.pid), [dead.pid, reused.pid], 'a reused owner pid is a dead owner');
  assert.deepEqual(found[0].descendants.map((d) => d.pid), [deadChild.pid]);
  assert.deepEqual(found[0].owner, deadHost);
  assert.deepEqual(detectOrphans({ table, patterns: [], owners: [deadHost] }).map((o) => o.pid), [dead.pid], 'scoped to one owner');
  assert.deepEqual(detectOrphans({ table, patterns: [], markers: false }), []);
});

test('checkpoint rule: only records whose fingerprint still matches; a live checkpoint protects its records', { skip: !linux }, () => {
  const host = proc(P + 40, 1, 'code --type=extensionHost');
  const deadMarker = { owner: formatFingerprint(deadHost) };
  const gw = proc(P + 41, 1, 'node gateway.js', deadMarker);
  const worker = proc(P + 42, gw.pid, 'node worker.js', { pgid: P + 42, ...deadMarker });
  const grandchild = proc(P + 43, worker.pid, 'sh -c make', { pgid: P + 42, ...deadMarker });
  const innocent = proc(P + 44, 1, 'vim');
  const keptByLive = proc(P + 45, 1, 'node gateway.js');
  const cp = (owner: Fingerprint, recs: Fingerprint[], file: string): Checkpoint => ({
    version: 1, owner, writtenAt: 0, file,
    records: recs.map((f) => ({ role: 'worker', fingerprint: f, command: 'x', startedAt: 0 })),
  });
  const checkpoints = [
    cp(deadHost, [fp(gw), fp(worker), { ...fp(innocent), startTime: 7 }, fp(keptByLive)], '/d/dead.json'),
    cp(fp(host), [fp(keptByLive)], '/d/live.json'),
  ];
  const found = detectOrphans({ table: [init, host, gw, worker, grandchild, innocent, keptByLive], checkpoints, markers: false, patterns: [] });
  assert.deepEqual(found.map((o) => o.pid), [gw.pid]);
  assert.deepEqual(found[0].descendants.map((d) => d.pid), [worker.pid, grandchild.pid], 'parents first');
  assert.equal(found[0].checkpointFile, '/d/dead.json');
  assert.equal(found[0].reason, 'dead-owner-checkpoint');
});

test('checkpoint rule needs corroboration: a record naming a live process without the host\'s marker is reported, never an orphan', { skip: !linux }, () => {
  const other: Fingerprint = { pid: P + 998, startTime: 2, bootId: boot };
  const gw = proc(P + 70, 1, 'node gateway.js', { owner: formatFingerprint(deadHost) });
  const innocent = proc(P + 71, 1, 'sleep 600'); // its real fingerprint, copied from /proc by a forger
  const strangeMarker = proc(P + 72, 1, 'sleep 601', { owner: 'junk' });
  const otherMarker = proc(P + 73, 1, 'sleep 602', { owner: formatFingerprint(other) });
  const table = [init, gw, innocent, strangeMarker, otherMarker];
  const checkpoints: Checkpoint[] = [{
    version: 1, owner: deadHost, writtenAt: 0, file: '/d/forged.json',
    records: [gw, innocent, strangeMarker, otherMarker].map((p) => ({ role: 'worker' as const, fingerprint: fp(p), command: p.cmdline, startedAt: 0 })),
  }];
  // Scoped to deadHost: otherMarker's own (dead) owner is out of scope, so only the record speaks for it.
  const r = detectOrphansDetailed({ table, checkpoints, patterns: [], owners: [deadHost] });
  assert.deepEqual(r.orphans.map((o) => o.pid), [gw.pid], 'the exact command line is no evidence on Linux');
  assert.equal(r.orphans[0].recordedCommand, 'node gateway.js');
  assert.deepEqual(r.notCorroborated.map((n) => n.pid), [innocent.pid, strangeMarker.pid, otherMarker.pid]);
  const [a, b, c] = r.notCorroborated;
  assert.match(a.why, /carries no GATEWAY_WARDEN_OWNER marker/);
  assert.match(b.why, /marker is "junk", not the recording host's/);
  assert.match(c.why, new RegExp(`marker is "${formatFingerprint(other)}", not the recording host's ${formatFingerprint(deadHost)}`));
  assert.deepEqual(a.owner, deadHost);
  assert.equal(a.checkpointFile, '/d/forged.json');
  assert.deepEqual(a.fingerprint, fp(innocent));

  // Where the environment cannot be read, the recorded command line must match exactly.
  const byCommand = detectOrphansDetailed({ table, checkpoints, patterns: [], markers: false, corroborate: 'command', owners: [deadHost] });
  assert.deepEqual(byCommand.orphans.map((o) => o.pid), [gw.pid, innocent.pid, strangeMarker.pid, otherMarker.pid]);
  const renamed: Checkpoint[] = [{ ...checkpoints[0], records: [{ ...checkpoints[0].records[1], command: 'node worker.js' }] }];
  const mismatch = detectOrphansDetailed({ table, checkpoints: renamed, patterns: [], markers: false, corroborate: 'command' });
  assert.deepEqual(mismatch.orphans, []);
  assert.match(mismatch.notCorroborated[0].why, /command line "sleep 600" is not the recorded "node worker\.js"/);
});

test('default hermes rules match the interpreter invocation, never a command line that mentions the module', { skip: !linux }, () => {
  const argvProc = (pid: number, argv: string[]) => proc(pid, 1, argv.join(' '), { argv });
  const hits = [
    argvProc(P + 80, ['python3', '-m', 'tui_gateway.slash_worker', '--session', '1']),
    argvProc(P + 81, ['/home/u/hermes/.venv/bin/python', '-u', '-m', 'tui_gateway.entry']),
    argvProc(P + 82, ['python3.11', '/opt/hermes/tui_gateway/slash_worker.py']),
  ];
  const mentions = [
    argvProc(P + 90, ['less', 'tui_gateway.slash_worker.log']),
    argvProc(P + 91, ['grep', 'tui_gateway.slash_worker']),
    argvProc(P + 92, ['vim', 'tui_gateway/slash_worker.py']),
    argvProc(P + 93, ['python3', '-c', 'import tui_gateway.slash_worker']),
    argvProc(P + 94, ['python3', 'tail.py', '-m', 'tui_gateway.slash_worker']),
  ];
  const found = detectOrphans({ table: [init, ...hits, ...mentions], markers: false });
  assert.deepEqual(found.map((o) => o.pid), hits.map((p) => p.pid));
});

test('an orphan\'s group goes with it, and a candidate reached through a group is not listed twice', { skip: !linux }, () => {
  const gw = proc(P + 50, 1, 'python -m tui_gateway.entry');
  const escaped = proc(P + 51, 1, 'sleep 600', { pgid: gw.pid, owner: formatFingerprint(deadHost) }); // double fork
  const joined = proc(P + 52, shell.pid, 'sleep 601', { pgid: gw.pid }); // joined from outside
  const stranger = proc(P + 53, 1, 'sleep 602', { pgid: P + 53 });
  const [o, ...rest] = detectOrphans({ table: [init, shell, gw, escaped, joined, stranger] });
  assert.deepEqual(rest, [], 'the escaped member (a marker orphan itself) is nested, not listed again');
  assert.equal(o.pid, gw.pid);
  assert.deepEqual(o.descendants.map((d) => d.pid).sort(), [escaped.pid, joined.pid].sort());

  // A leader nested under another orphan brings its own group along, listed under the top one.
  const top = proc(P + 60, 1, 'python -m tui_gateway.entry');
  const leader = proc(P + 61, top.pid, 'python -m tui_gateway.slash_worker', { pgid: P + 61 });
  const member = proc(P + 62, 1, 'sleep 603', { pgid: leader.pid, owner: formatFingerprint(deadHost) });
  const found = detectOrphans({ table: [init, top, leader, member] });
  assert.deepEqual(found.map((x) => x.pid), [top.pid]);
  assert.deepEqual(found[0].descendants.map((d) => d.pid), [leader.pid, member.pid]);
});

test('age from start ticks (display only; formatted by core/format.ts)', () => {
  const age = ageFromStartTicks(1000, 100); // 1000 s since boot, 100 ticks/s
  assert.equal(age(90_000), 100_000, 'started at 900 s → 100 s old');
  assert.equal(age(undefined), undefined);
});
