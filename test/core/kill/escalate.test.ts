// The escalate-until-empty loop with real processes and real signals: groups, trees, several
// targets in one call, and a process's own processes. (The hard bound with members that cannot
// be checked is in test/core/liveness.test.ts; a reused leader pid in pidReuse.test.ts.)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as path from 'node:path';
import { fingerprintOf, formatFingerprint } from '../../../src/core/fingerprint';
import { describeProblems, groupMembers, ownProcessGroup, processGroup, processTree, teardown, teardownSync } from '../../../src/core/kill';
import { OWNER_ENV } from '../../../src/core/ownerMarker';
import { isAlive, killTracked, readLineMatching, spawnNode, spawnTracked, testMarker, track, waitFor } from '../../support/processes';
import { orphanedStubbornGroup, politeGroup } from '../../support/groups';

after(killTracked);
const posix = process.platform !== 'win32';
const linux = process.platform === 'linux';
const isRoot = process.getuid?.() === 0;

const signalsOf = (r: { signals: { signal: string }[] }) => r.signals.map((s) => s.signal);

// ---- one group --------------------------------------------------------------------------------

test('a group is escalated on after its leader exited: a SIGTERM- and SIGHUP-ignoring member dies', { skip: !posix }, async () => {
  const g = await orphanedStubbornGroup();
  const r = await teardown([processGroup(g.pgid)], { graceMs: 200 });
  assert.deepEqual(r.refusals, []);
  assert.equal(r.signals[0].signal, 'SIGTERM');
  assert.equal(r.signals[0].pgid, g.pgid);
  assert.ok(r.signals[0].members.includes(g.members[0]), 'the SIGTERM step lists the member');
  assert.ok(signalsOf(r).slice(1).includes('SIGKILL'), `escalated to SIGKILL: ${JSON.stringify(r.signals)}`);
  assert.deepEqual(r.survivors, []);
  assert.equal(r.processes.find((p) => p.pid === g.members[0])?.outcome, 'killed');
  assert.equal(isAlive(g.members[0]), false);
  assert.deepEqual(groupMembers(g.pgid), []);
});

/**
 * A group whose recorded leader has exited, its member (a sleeper) still running; both with `env`.
 * The leader waits on its stdin until it has been recorded.
 */
async function leaderlessGroup(env: NodeJS.ProcessEnv) {
  const leader = spawnTracked('sh', ['-c', 'sleep 1000 & echo $!; read x'], { detached: true, stdio: ['pipe', 'pipe', 'ignore'], env });
  const member = await readLineMatching(leader.stdout!, (l) => Number(l) || undefined);
  track(member);
  const recorded = await waitFor(() => fingerprintOf(leader.pid!), 'the leader to be recorded');
  leader.stdin!.end();
  await waitFor(() => !isAlive(leader.pid!), 'the leader to exit');
  return { pgid: leader.pid!, recorded, member };
}

test('a group whose recorded leader has exited is signalled only while every member carries our owner marker (once empty, its pgid is anyone\'s)', { skip: !linux }, async () => {
  const marker = testMarker('leaderless');
  const { [OWNER_ENV]: _inherited, ...bare } = process.env;
  for (const env of [bare, { ...bare, [OWNER_ENV]: testMarker('another-host') }]) {
    const g = await leaderlessGroup(env);
    const r = await teardown([processGroup(g.pgid, g.recorded)], { graceMs: 50, timeoutMs: 500, ownerMarker: marker });
    assert.deepEqual(r.signals, [], 'nothing sent');
    assert.match(describeProblems(r) ?? '', new RegExp(`group ${g.pgid}: its leader .* has exited, and pid ${g.member} carries (no|another) ${OWNER_ENV}.*may be another's`));
    assert.ok(isAlive(g.member), 'the member was not signalled');
    // No marker to corroborate with at all: the same.
    const none = teardownSync([processGroup(g.pgid, g.recorded)], { firstSignal: 'SIGKILL', timeoutMs: 300 });
    assert.deepEqual(none.signals, []);
    assert.ok(isAlive(g.member));
    process.kill(g.member, 'SIGKILL');
  }
  const ours = await leaderlessGroup({ ...bare, [OWNER_ENV]: marker });
  const r = await teardown([processGroup(ours.pgid, ours.recorded)], { graceMs: 50, timeoutMs: 2000, ownerMarker: marker });
  assert.deepEqual(r.refusals, []);
  assert.deepEqual(r.survivors, []);
  assert.equal(isAlive(ours.member), false, 'ours (it carries the marker) is taken');
});

test('teardownSync does the same without yielding to the event loop', { skip: !posix }, async () => {
  const g = await orphanedStubbornGroup();
  const r = teardownSync([processGroup(g.pgid)], { graceMs: 200 });
  assert.deepEqual(signalsOf(r).slice(0, 2), ['SIGTERM', 'SIGKILL']);
  assert.deepEqual(r.survivors, []);
  assert.deepEqual(groupMembers(g.pgid), []);
});

test('a group whose SIGTERM-ignoring member keeps forking is emptied', { skip: !posix }, async () => {
  const leader = spawnTracked('sh', ['-c', 'trap "" TERM HUP; while :; do sleep 1000 & sleep 0.02; done'], { detached: true, stdio: 'ignore' });
  const pgid = leader.pid!;
  await waitFor(() => (groupMembers(pgid)?.length ?? 0) >= 5, 'a few forked sleepers');
  const r = await teardown([processGroup(pgid)], { graceMs: 200 });
  assert.deepEqual(r.refusals, []);
  assert.ok(signalsOf(r).includes('SIGKILL'));
  assert.deepEqual(r.survivors, []);
  assert.deepEqual(groupMembers(pgid), []);
});

test('firstSignal SIGKILL (the exit paths) sends nothing else and empties a stubborn group', { skip: !posix }, async () => {
  const g = await orphanedStubbornGroup();
  const r = teardownSync([processGroup(g.pgid)], { firstSignal: 'SIGKILL', timeoutMs: 1000 });
  assert.ok(signalsOf(r).length > 0 && signalsOf(r).every((s) => s === 'SIGKILL'), JSON.stringify(r.signals));
  assert.deepEqual(r.survivors, []);
  assert.equal(isAlive(g.members[0]), false);
});

test('a well-behaved group goes with SIGTERM alone, async and sync', { skip: !posix }, async () => {
  const g = await politeGroup(2);
  const r = await teardown([processGroup(g.pgid, fingerprintOf(g.pgid))], { graceMs: 5000 });
  assert.deepEqual(signalsOf(r), ['SIGTERM']);
  assert.deepEqual([...r.signals[0].members].sort(), [...g.members].sort());
  assert.deepEqual(r.survivors, []);
  assert.ok(r.elapsedMs < 4000, `well inside the grace: ${r.elapsedMs} ms`);
  for (const pid of g.members) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
  const h = await politeGroup(2);
  const rs = teardownSync([processGroup(h.pgid)], { graceMs: 5000 });
  assert.deepEqual(signalsOf(rs), ['SIGTERM']);
  assert.deepEqual(rs.survivors, []);
});

test('a leader pid that now names another process: refused, nothing sent; the true leader is accepted', { skip: !posix }, async () => {
  const g = await politeGroup(1);
  const real = fingerprintOf(g.pgid)!;
  const wrong = processGroup(g.pgid, { ...real, startTime: real.startTime + 1 });
  for (const r of [await teardown([wrong]), teardownSync([wrong])]) {
    assert.equal(r.refusals[0]?.reason, 'reused');
    assert.match(r.refusals[0].message, /another process/);
    assert.deepEqual(r.signals, []);
    for (const pid of g.members) assert.ok(isAlive(pid), `pid ${pid} untouched`);
  }
  const ok = await teardown([processGroup(g.pgid, real)]);
  assert.deepEqual(ok.refusals, []);
  assert.deepEqual(ok.survivors, []);
});

test('a group with another user\'s member is refused whole', { skip: !isRoot && 'needs root to start a process as uid 65534' }, async () => {
  const g = await orphanedStubbornGroup({ uid: 65534, gid: 65534 });
  const r = await teardown([processGroup(g.pgid)], { graceMs: 100 });
  assert.equal(r.refusals[0]?.reason, 'other-user');
  assert.deepEqual(r.signals, []);
  assert.ok(isAlive(g.members[0]));
});

test('a refused member is reported once, not taken in again at every scan of the grace', { skip: (!isRoot || !linux) && 'needs root to start a process as uid 65534' }, async () => {
  // A tree whose root ignores SIGTERM (so the grace runs its scans) and whose child is another user's.
  const root = spawnNode(
    "process.on('SIGTERM', () => {}); const c = require('child_process').spawn('sleep', ['30'], { uid: 65534, gid: 65534, stdio: 'ignore' });" +
    'console.log(c.pid); setInterval(() => {}, 1000)',
  );
  const child = Number(await readLineMatching(root.stdout!, (l) => (/^\d+$/.test(l.trim()) ? l.trim() : undefined)));
  track(child);
  const r = await teardown([processTree(fingerprintOf(root.pid!)!)], { graceMs: 300 });
  assert.deepEqual(r.processes.filter((p) => p.pid === child).map((p) => [p.outcome, p.reason]), [['refused', 'other-user']]);
  assert.equal(r.refusals.filter((x) => x.pid === child).length, 1, JSON.stringify(r.refusals));
  assert.equal(r.processes.find((p) => p.pid === root.pid)?.outcome, 'killed');
  assert.ok(isAlive(child), 'the other user\'s process is untouched');
});

test('pgid <= 1, garbage, our own group and bad options are refused; nothing is sent', { skip: !posix }, async () => {
  for (const bad of [1, 0, -4, NaN, 2.5]) {
    const r = await teardown([processGroup(bad)]);
    assert.equal(r.refusals.length, 1, `pgid ${bad} refused`);
    assert.deepEqual(r.signals, []);
  }
  const own = ownProcessGroup()!;
  const r = teardownSync([processGroup(own)], { graceMs: 0 });
  assert.match(r.refusals[0]?.message ?? '', /own group/);
  assert.deepEqual(r.signals, []);
  assert.match((await teardown([processGroup(12345)], { graceMs: -1 })).refusals[0]?.message ?? '', /graceMs/);
  assert.match((await teardown([processGroup(12345)], { firstSignal: 'SIGNOPE' as NodeJS.Signals })).refusals[0]?.message ?? '', /SIGNOPE/);
});

test('an empty group: nothing sent, no survivors, and no scan needed', { skip: !posix }, async () => {
  const g = await politeGroup(1);
  process.kill(-g.pgid, 'SIGKILL');
  await waitFor(() => groupMembers(g.pgid)?.length === 0, 'the group to empty');
  await waitFor(() => { try { process.kill(-g.pgid, 0); return false; } catch { return true; } }, 'the zombies to be reaped');
  const r = await teardown([processGroup(g.pgid)]);
  assert.deepEqual(r.signals, []);
  assert.deepEqual(r.processes, [], 'no member was ever looked at');
  assert.deepEqual(r.survivors, []);
});

// ---- several targets in one call --------------------------------------------------------------

/** A detached leader with one child in its group; `ignoreTerm` makes both ignore SIGTERM. */
async function nodeGroup(ignoreTerm: boolean): Promise<{ pgid: number; child: number }> {
  const ign = ignoreTerm ? "process.on('SIGTERM', () => {});" : '';
  const leader = spawnNode(
    `${ign} const c = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(`${ign} setInterval(() => {}, 1000)`)}], { stdio: 'ignore' });` +
    'console.log(c.pid); setInterval(() => {}, 1000)',
    { detached: true },
  );
  const child = await readLineMatching(leader.stdout!, (l) => Number(l) || undefined);
  track(child);
  return { pgid: leader.pid!, child };
}

test('one call ends several groups, one of them ignoring SIGTERM, and refuses a bad one without stopping', { skip: !posix }, async () => {
  const a = await nodeGroup(false);
  const b = await nodeGroup(true);
  const r = await teardown([processGroup(a.pgid, fingerprintOf(a.pgid)), processGroup(b.pgid, fingerprintOf(b.pgid)), processGroup(0)], { graceMs: 200, timeoutMs: 5000 });
  assert.deepEqual(r.survivors, []);
  assert.equal(r.refusals.length, 1, JSON.stringify(r.refusals));
  assert.ok(r.signals.some((s) => s.pgid === b.pgid && s.signal === 'SIGKILL'), 'b needed SIGKILL');
  assert.ok(!r.signals.some((s) => s.pgid === a.pgid && s.signal === 'SIGKILL'), 'a went with SIGTERM');
  for (const pid of [a.pgid, a.child, b.pgid, b.child]) await waitFor(() => !isAlive(pid), `pid ${pid} gone`);
});

test('graceMs 0: SIGKILL first, no SIGTERM pass (a SIGTERM with no time to act on it would only cost one)', { skip: !posix }, async () => {
  const g = await nodeGroup(false);
  const r = await teardown([processGroup(g.pgid, fingerprintOf(g.pgid))], { graceMs: 0, timeoutMs: 5000 });
  assert.deepEqual(r.survivors, []);
  assert.deepEqual(r.signals.map((s) => s.signal), ['SIGKILL'], JSON.stringify(r.signals));
  for (const pid of [g.pgid, g.child]) await waitFor(() => !isAlive(pid), `pid ${pid} gone`);
  // An explicit first signal still goes first, whatever the grace.
  const h = await nodeGroup(false);
  const t = await teardown([processGroup(h.pgid, fingerprintOf(h.pgid))], { graceMs: 0, firstSignal: 'SIGTERM', timeoutMs: 5000 });
  assert.equal(t.signals[0]?.signal, 'SIGTERM', JSON.stringify(t.signals));
  for (const pid of [h.pgid, h.child]) await waitFor(() => !isAlive(pid), `pid ${pid} gone`);
});

// ---- trees ------------------------------------------------------------------------------------

// root ─┬─ a: `sh` in its own session ── grand: `sleep` (a's group, not root's)
//       └─ b: node in its own session, ignores SIGTERM (needs SIGKILL)
const TREE = `
const { spawn } = require('child_process');
const a = spawn('sh', ['-c', 'sleep 1000 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
a.stdout.once('data', (grand) => {
  const b = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)"],
    { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  b.stdout.once('data', () => console.log(JSON.stringify({ a: a.pid, grand: Number(String(grand).trim()), b: b.pid })));
});
setInterval(() => {}, 1000);
`;

test('a tree spread over several sessions is ended, root first; an unrelated process is left alone', { skip: !posix }, async () => {
  const unrelated = spawnTracked('sleep', ['1000'], { stdio: 'ignore' });
  const root = spawnNode(TREE);
  const t = await readLineMatching(root.stdout!, (l) => (l.startsWith('{') ? JSON.parse(l) as { a: number; grand: number; b: number } : undefined));
  track(t.a, true);
  track(t.grand);
  track(t.b, true);
  const r = await teardown([processTree(fingerprintOf(root.pid!)!)], { graceMs: 200 });
  assert.deepEqual(r.refusals, []);
  assert.deepEqual(r.survivors, []);
  assert.equal(r.processes[0].pid, root.pid, 'root first');
  const byPid = new Map(r.processes.map((p) => [p.pid, p]));
  for (const pid of [root.pid!, t.a, t.grand, t.b]) {
    assert.equal(byPid.get(pid)?.outcome, 'killed', `pid ${pid}: ${JSON.stringify(byPid.get(pid))}`);
    await waitFor(() => !isAlive(pid), `pid ${pid} to be gone`, 2000);
  }
  assert.deepEqual(byPid.get(t.b)!.signals.slice(0, 2), ['SIGTERM', 'SIGKILL'], 'the SIGTERM-ignoring child needed SIGKILL');
  assert.equal(byPid.get(t.grand)!.signals[0], 'SIGTERM');
  assert.ok(!byPid.has(unrelated.pid!));
  assert.ok(isAlive(unrelated.pid!));
});

test('a tree root whose pid belongs to another process now is not signalled', { skip: !posix }, async () => {
  const innocent = spawnTracked('sleep', ['1000'], { stdio: 'ignore' });
  const fp = await waitFor(() => fingerprintOf(innocent.pid!), 'the sleeper to start');
  const r = await teardown([processTree({ ...fp, startTime: fp.startTime + 7 })], { graceMs: 100 });
  assert.equal(r.processes.length, 1);
  assert.deepEqual([r.processes[0].outcome, r.processes[0].reason], ['already-gone', 'reused']);
  assert.deepEqual(r.signals, []);
  assert.ok(isAlive(innocent.pid!));
});

test('a tree rooted at this process or pid 1 is refused; garbage too', async () => {
  const self = await teardown([processTree(fingerprintOf(process.pid)!)]);
  assert.equal(self.processes[0]?.reason, 'protected');
  assert.match(self.refusals[0]?.message ?? '', /this process/);
  const init = await teardown([processTree({ pid: 1, startTime: fingerprintOf(1)?.startTime ?? 0, bootId: fingerprintOf(1)?.bootId ?? 'x' })]);
  assert.equal(init.processes[0]?.reason, 'protected');
  const junk = await teardown([processTree({ pid: 'x' } as never)]);
  assert.match(junk.refusals[0]?.message ?? '', /not a process fingerprint/);
});

test('a tree also loses children forked after the first look (a parent that spawns on SIGTERM)', { skip: !posix }, async () => {
  const root = spawnNode(`
    const { spawn } = require('child_process');
    process.on('SIGTERM', () => {
      const late = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
      console.log('late ' + late.pid);
    });
    console.log('ready');
    setInterval(() => {}, 1000);
  `);
  await readLineMatching(root.stdout!, (l) => (l === 'ready' ? true : undefined));
  const latePid = readLineMatching(root.stdout!, (l) => (l.startsWith('late ') ? Number(l.slice(5)) : undefined));
  // The root survives SIGTERM (its handler) until the grace ends in SIGKILL; the grace is its time
  // to spawn the late child, and 300 ms was too little for a slow event loop on a loaded machine.
  const r = await teardown([processTree(fingerprintOf(root.pid!)!)], { graceMs: 2000 });
  const late = await latePid;
  track(late, true);
  assert.deepEqual(r.survivors, []);
  const entry = r.processes.find((p) => p.pid === late);
  assert.ok(entry, `the late child ${late} was taken in: ${JSON.stringify(r.processes)}`);
  assert.equal(entry.outcome, 'killed');
  await waitFor(() => !isAlive(late), 'the late child to be gone', 2000);
});

// root ─┬─ plain: `sleep`
//       └─ owned: node carrying a live host's marker ── below: `sleep`
const TREE_WITH_LIVE_OWNER = `
const { spawn } = require('child_process');
const plain = spawn('sleep', ['1000'], { stdio: 'ignore' });
const owned = spawn(process.execPath, ['-e', "const c = require('child_process').spawn('sleep', ['1000'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000)"],
  { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, GATEWAY_WARDEN_OWNER: process.argv[1] } });
owned.stdout.once('data', (below) => console.log(JSON.stringify({ plain: plain.pid, owned: owned.pid, below: Number(String(below).trim()) })));
setInterval(() => {}, 1000);
`;

test('a tree spares a vetoed descendant and its whole subtree (another live host\'s processes)', { skip: !linux && 'owner markers are read from /proc' }, async () => {
  const liveHost = formatFingerprint(fingerprintOf(process.pid)!);
  const root = spawnNode(TREE_WITH_LIVE_OWNER, { args: [liveHost] });
  const pids = await readLineMatching(root.stdout!, (l) => (l.startsWith('{') ? JSON.parse(l) as { plain: number; owned: number; below: number } : undefined));
  track(pids.plain);
  track(pids.owned);
  track(pids.below);
  const asked: number[] = [];
  const r = await teardown([processTree(fingerprintOf(root.pid!)!, (p) => {
    asked.push(p.pid);
    return p.owner === liveHost ? 'owned by a live host' : undefined;
  })], { graceMs: 200 });
  assert.equal(isAlive(root.pid!), false);
  assert.equal(isAlive(pids.plain), false);
  assert.ok(isAlive(pids.owned), 'the live host\'s process survives');
  assert.ok(isAlive(pids.below), 'and so does everything below it');
  const owned = r.processes.find((e) => e.pid === pids.owned);
  assert.deepEqual([owned?.outcome, owned?.reason], ['refused', 'protected']);
  assert.match(owned!.message, /owned by a live host/);
  assert.ok(!r.processes.some((e) => e.pid === pids.below && e.signals.length), 'nothing below the spared one was signalled');
  assert.ok(!asked.includes(root.pid!), 'the root is the caller\'s decision');
});

// ---- a process's own processes ----------------------------------------------------------------

// Runs detached (it leads its own group): a SIGTERM-ignoring member of its group, a double fork
// that left group and tree but carries its marker, and one that left without the marker. Then
// its own teardown; it must survive it and say what it did.
const OWN = `
const { spawn } = require('child_process');
const { teardown, teardownSync, ownProcesses, processGroup } = require(process.argv[1]);
const { formatFingerprint, selfFingerprint } = require(process.argv[2]);
const sync = process.argv[3] === 'sync';
const marker = formatFingerprint(selfFingerprint());
// Says when its trap is set: the teardown must not SIGTERM it before it ignores SIGTERM.
const member = spawn('sh', ['-c', 'trap "" TERM HUP; echo trapped; while :; do sleep 1; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
const trapped = new Promise((resolve) => member.stdout.once('data', resolve));
const escape = (env) => new Promise((resolve) => {
  const sh = spawn('sh', ['-c', 'setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'], env });
  sh.stdout.once('data', (d) => sh.once('exit', () => resolve(Number(String(d).trim()))));
});
(async () => {
  await trapped;
  const marked = await escape({ ...process.env, GATEWAY_WARDEN_PARENT: marker });
  const { GATEWAY_WARDEN_PARENT, ...rest } = process.env;
  const unmarked = await escape(rest);
  console.log(JSON.stringify({ member: member.pid, marked, unmarked }));
  await new Promise((r) => setTimeout(r, 50));
  const ownGroup = await teardown([processGroup(process.pid)], { graceMs: 0 });
  const r = sync ? teardownSync([ownProcesses()], { graceMs: 200 }) : await teardown([ownProcesses()], { graceMs: 200 });
  console.log(JSON.stringify({ ownGroup, r }));
})();
`;

for (const mode of ['async', 'sync'] as const) {
  test(`own processes (${mode}): its group until empty, and what carries its marker outside group and tree; never itself`, { skip: !linux && 'markers are read from /proc' }, async () => {
    const src = path.resolve(__dirname, '../../../src/core');
    const child = spawnNode(OWN, { args: [path.join(src, 'kill/index.js'), path.join(src, 'fingerprint.js'), mode], detached: true });
    const pids = await readLineMatching(child.stdout!, (l) => (l.includes('member') ? JSON.parse(l) as { member: number; marked: number; unmarked: number } : undefined));
    for (const pid of Object.values(pids)) track(pid, true);
    const out = await readLineMatching(child.stdout!, (l) => (l.includes('ownGroup') ? JSON.parse(l) : undefined), 20_000);
    assert.match(out.ownGroup.refusals[0]?.message ?? '', /own group/, 'its own group is never signalled as a group');
    assert.deepEqual(out.ownGroup.signals, []);
    const byPid = new Map((out.r.processes as { pid: number; outcome: string; signals: string[] }[]).map((p) => [p.pid, p]));
    assert.equal(byPid.get(pids.member)?.outcome, 'killed');
    assert.deepEqual(byPid.get(pids.member)?.signals.slice(0, 2), ['SIGTERM', 'SIGKILL'], 'the SIGTERM-ignoring member needed SIGKILL');
    assert.equal(byPid.get(pids.marked)?.outcome, 'killed', 'the marked double fork was found and killed');
    assert.ok(!byPid.has(pids.unmarked), 'the unmarked one is not ours to kill');
    assert.deepEqual(out.r.survivors, []);
    await waitFor(() => !isAlive(pids.member) && !isAlive(pids.marked), 'member and marked escapee gone', 2000);
    assert.ok(isAlive(pids.unmarked), 'the unmarked escapee is untouched');
    const [code, signal] = await once(child, 'exit');
    assert.deepEqual([code, signal], [0, null], 'the caller was never signalled');
  });
}
