// The teardown engine's cgroup target on the real kernel: members from cgroup.procs (a setsid,
// double-forked escapee included), SIGTERM by pid with a grace, one cgroup.kill for the rest,
// the emptied leaf removed; a process inside the leaf takes the others down by pid and keeps it;
// a directory that is not ours is refused; a fork loop racing the kill, with cgroup.kill and with
// the freeze + SIGKILL fallback; a member of another uid refuses the kill. Skipped (with the reason) where cgroup v2 is not
// writable here.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCgroupFile } from '../../../src/core/cgroup/cgroupFiles';
import { listMembers } from '../../../src/core/cgroup/cgroupMembers';
import { probeCgroups } from '../../../src/core/cgroup/cgroupProbe';
import { moveInto } from '../../../src/core/cgroup/cgroupTree';
import { cgroupTarget, teardown, teardownSync } from '../../../src/core/kill';
import { readProcStat } from '../../../src/core/procfs';
import { cgroupsUnavailable, cleanupCgroupTrees, pidLine, shellInLeaf, startCgroupGateway } from '../../support/cgroups';
import { isAlive, killTracked, readLineMatching, spawnNode, startOtherUsersSleep, track, waitFor } from '../../support/processes';

const skip = cgroupsUnavailable();
if (skip) console.log(`# cgroup target tests skipped: ${skip}`);

afterEach(cleanupCgroupTrees);
after(() => {
  cleanupCgroupTrees();
  killTracked();
});

async function leafOf(sessionId = `k${Date.now()}`) {
  const gw = await startCgroupGateway();
  const leaf = await gw.request<{ ok: boolean; path: string; why?: string }>({ op: 'leaf', sessionId });
  assert.ok(leaf.ok, leaf.why);
  return { gw, leaf: leaf.path };
}

/** A SIGTERM-ignoring shell in `leaf` with a setsid, double-forked escapee; returns both pids. */
async function stubbornWithEscapee(leaf: string): Promise<{ shell: number; escapee: number }> {
  const sh = shellInLeaf(leaf, "trap '' TERM HUP; setsid sh -c 'trap \"\" TERM; sleep 1000 & echo $!' </dev/null; while :; do sleep 1; done");
  const escapee = await pidLine(sh);
  await waitFor(() => readProcStat(escapee)?.ppid !== sh.pid && readProcStat(escapee)?.sid !== readProcStat(sh.pid!)?.sid, 'the escapee to be re-parented in its own session');
  return { shell: sh.pid!, escapee };
}

/**
 * The cgroup.kill writes of a report: at least one, all on `leaf`, and any later one only for a
 * newcomer (the stubborn shell's `sleep` loop can fork between the member list and the write:
 * that fork is killed by the first write too, but listed after it, so it is written for again).
 */
function cgroupKills(r: { signals: Array<{ signal: string; cgroup?: string; members?: number[] }> }, leaf: string) {
  const kills = r.signals.filter((s) => s.signal === 'cgroup.kill');
  assert.ok(kills.length >= 1, `a cgroup.kill: ${JSON.stringify(r.signals)}`);
  for (const k of kills) assert.equal(k.cgroup, leaf);
  const seen = new Set(kills[0].members);
  for (const k of kills.slice(1)) {
    assert.ok(k.members!.some((p) => !seen.has(p)), `a repeated cgroup.kill is for a newcomer only: ${JSON.stringify(kills)}`);
    for (const p of k.members!) seen.add(p);
  }
  return kills;
}

test('a cgroup target: SIGTERM by pid, the grace, one cgroup.kill for what ignored it, the leaf removed', { skip }, async () => {
  const { leaf } = await leafOf();
  const { shell, escapee } = await stubbornWithEscapee(leaf);
  const r = await teardown([cgroupTarget(leaf)], { graceMs: 150, timeoutMs: 10_000 });
  assert.deepEqual(r.refusals, []);
  assert.deepEqual(r.survivors, []);
  const pids = r.processes.map((p) => p.pid);
  assert.ok(pids.includes(shell) && pids.includes(escapee), `both members taken in from cgroup.procs: ${pids}`);
  const kinds = r.signals.map((s) => s.signal);
  assert.ok(kinds.includes('SIGTERM'), 'SIGTERM first');
  const kills = cgroupKills(r, leaf);
  assert.ok(kills[0].members!.includes(shell), 'the SIGTERM-ignoring shell is killed by the cgroup.kill');
  assert.ok(!kinds.includes('SIGKILL'), 'no SIGKILL by pid');
  assert.deepEqual(r.cgroups, [{ path: leaf, outcome: 'empty', method: 'cgroup.kill', removed: true }]);
  assert.equal(isAlive(shell) || isAlive(escapee), false);
  assert.equal(fs.existsSync(leaf), false);
});

test('a cgroup target whose members honour SIGTERM needs no cgroup.kill; SIGKILL first skips the grace', { skip }, async () => {
  const a = await leafOf('polite');
  const sh = shellInLeaf(a.leaf, 'echo $$; exec sleep 1000');
  const pid = await pidLine(sh);
  const r = await teardown([cgroupTarget(a.leaf)], { graceMs: 5000, timeoutMs: 10_000 });
  assert.deepEqual(r.signals.map((s) => s.signal), ['SIGTERM']);
  assert.equal(r.cgroups?.[0].outcome, 'empty');
  assert.equal(isAlive(pid), false);
  const b = await leafOf('hard');
  const { shell } = await stubbornWithEscapee(b.leaf);
  const k = teardownSync([cgroupTarget(b.leaf)], { firstSignal: 'SIGKILL', timeoutMs: 10_000 });
  assert.deepEqual([...new Set(k.signals.map((s) => s.signal))], ['cgroup.kill'], 'blocking driver, straight to cgroup.kill');
  assert.ok(cgroupKills(k, b.leaf)[0].members!.includes(shell));
  assert.equal(k.cgroups?.[0].removed, true);
  assert.equal(isAlive(shell), false);
});

test('several leaves honouring SIGTERM: the grace ends once the kernel says every leaf is empty (the first one last), each removed, no cgroup.kill', { skip }, async () => {
  const { gw, leaf: slow } = await leafOf('slow');
  // The first leaf's member takes 400 ms to honour SIGTERM: the leaves after it, empty long
  // before, are read only once it is (one populated read per poll), and are still proven empty.
  const leaves = [slow];
  for (const id of ['f1', 'f2', 'f3', 'f4']) {
    const l = await gw.request<{ ok: boolean; path: string; why?: string }>({ op: 'leaf', sessionId: id });
    assert.ok(l.ok, l.why);
    leaves.push(l.path);
  }
  const pids: number[] = [];
  for (const [i, leaf] of leaves.entries()) {
    // (node, not a shell trap: a trap's `sleep` would be a newcomer the engine SIGTERMs too.)
    // It prints its pid once its handler is in place.
    const script = i === 0 ? `exec "${process.execPath}" -e "process.on('SIGTERM', () => setTimeout(() => process.exit(0), 400)); setInterval(() => {}, 1e9); console.log(process.pid)"` : 'echo $$; exec sleep 1000';
    pids.push(await pidLine(shellInLeaf(leaf, script)));
  }
  const t0 = Date.now();
  const r = await teardown(leaves.map((l) => cgroupTarget(l)), { graceMs: 8000, timeoutMs: 15_000 });
  const ms = Date.now() - t0;
  assert.deepEqual(r.refusals, []);
  assert.deepEqual(r.survivors, []);
  assert.deepEqual([...new Set(r.signals.map((s) => s.signal))], ['SIGTERM'], 'SIGTERM only: nothing needed cgroup.kill');
  assert.ok(ms >= 300 && ms < 6000, `ended when the slow member exited, long before the 8 s grace (${ms} ms)`);
  for (const p of pids) assert.ok(r.processes.some((x) => x.pid === p && x.outcome === 'killed'), `pid ${p} killed: ${JSON.stringify(r.processes)}`);
  assert.deepEqual(r.cgroups?.map((c) => [c.outcome, c.removed]), leaves.map(() => ['empty', true]));
  for (const l of leaves) assert.equal(fs.existsSync(l), false, `${l} removed`);
  assert.equal(pids.some(isAlive), false);
});

test('an empty or missing leaf is done at once; a directory that is not ours is refused', { skip }, async () => {
  const { leaf } = await leafOf('empty');
  const e = await teardown([cgroupTarget(leaf)]);
  assert.deepEqual(e.signals, []);
  assert.deepEqual(e.cgroups, [{ path: leaf, outcome: 'empty', method: 'none', removed: true }]);
  const g = await teardown([cgroupTarget(leaf)]);
  assert.equal(g.cgroups?.[0].outcome, 'gone');
  const tmp = fs.mkdtempSync('/tmp/gateway-warden-1-');
  try {
    const n = await teardown([cgroupTarget(path.join(tmp, 's-x'))]);
    assert.equal(n.refusals.length, 1);
    assert.equal(n.cgroups?.[0].outcome, 'refused');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a member of the leaf takes the others down by pid (no cgroup.kill: it would die too) and keeps the leaf', { skip }, async () => {
  const { leaf } = await leafOf('self');
  const kill = JSON.stringify(path.resolve(__dirname, '../../../src/core/kill/index.js'));
  const child = spawnNode(`
const fs = require('fs');
const { spawn } = require('child_process');
fs.writeFileSync(${JSON.stringify(leaf)} + '/cgroup.procs', String(process.pid));
const sh = spawn('setsid', ['sh', '-c', 'trap "" TERM; sleep 1000 & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'] });
sh.stdout.once('data', (d) => {
  console.log('ESCAPEE ' + d.toString().trim());
  setTimeout(() => {
    console.log('MEMBERS ' + fs.readFileSync(${JSON.stringify(leaf)} + '/cgroup.procs', 'utf8').split('\\n').filter(Boolean).join(' '));
    const r = require(${kill}).teardownSync([{ kind: 'cgroup', path: ${JSON.stringify(leaf)} }], { graceMs: 100, timeoutMs: 5000 });
    console.log('REPORT ' + JSON.stringify(r));
  }, 100);
});
setInterval(() => undefined, 1000);
`, { stdio: ['ignore', 'pipe', 'inherit'] });
  const escapee = await readLineMatching(child.stdout!, (l) => (l.startsWith('ESCAPEE ') ? Number(l.slice(8)) : undefined));
  track(escapee);
  const report = await readLineMatching(child.stdout!, (l) => (l.startsWith('REPORT ') ? JSON.parse(l.slice(7)) : undefined), 20_000);
  assert.deepEqual(report.refusals, []);
  assert.ok(report.processes.some((p: { pid: number }) => p.pid === escapee));
  assert.ok(!report.signals.some((s: { signal: string }) => s.signal === 'cgroup.kill'));
  assert.deepEqual(report.cgroups, [{ path: leaf, outcome: 'empty', method: 'by-pid', removed: false }]);
  assert.equal(isAlive(escapee), false, 'the escapee is gone');
  assert.equal(isAlive(child.pid!), true, 'the member that ran it is not');
  assert.ok(fs.existsSync(leaf), 'its own leaf is kept');
  child.kill('SIGKILL');
});

/** A shell in `leaf` that ignores SIGTERM/SIGHUP and keeps forking short-lived children that inherit that. */
function forkLoop(leaf: string) {
  return shellInLeaf(leaf, "trap '' TERM HUP; echo $$; while :; do sleep 0.2 & sleep 0.005; done");
}

function memberCount(dir: string): number {
  const m = listMembers(dir);
  return m.state === 'found' ? m.value.pids.length : 0;
}

test('cgroup.kill takes a SIGTERM-ignoring fork loop down in one write, forks racing it included', { skip: skip ?? (!(probeCgroups({}) as { killFile?: boolean }).killFile && 'no cgroup.kill (Linux < 5.14)') }, async () => {
  const { leaf } = await leafOf('forks');
  const loopPid = await pidLine(forkLoop(leaf));
  await waitFor(() => memberCount(leaf) >= 10, 'the fork loop to have children');
  const r = await teardown([cgroupTarget(leaf)], { graceMs: 150, timeoutMs: 10_000 });
  assert.deepEqual(r.survivors, []);
  assert.deepEqual(r.refusals, []);
  assert.equal(r.signals.filter((s) => s.signal === 'cgroup.kill').length, 1, `one cgroup.kill: ${JSON.stringify(r.signals.map((s) => s.signal))}`);
  assert.deepEqual(r.cgroups, [{ path: leaf, outcome: 'empty', method: 'cgroup.kill', removed: true }]);
  assert.equal(isAlive(loopPid), false);
});

test('without cgroup.kill (forced): the cgroup is frozen, its members SIGKILLed by pid, and thawed', { skip }, async () => {
  const { leaf } = await leafOf('frozen');
  const loopPid = await pidLine(forkLoop(leaf));
  await waitFor(() => memberCount(leaf) >= 10, 'the fork loop to have children');
  const r = teardownSync([cgroupTarget(leaf, { killFile: false, remove: false })], { graceMs: 100, timeoutMs: 10_000 });
  assert.deepEqual(r.survivors, []);
  assert.deepEqual(r.refusals, []);
  assert.deepEqual(r.cgroups, [{ path: leaf, outcome: 'empty', method: 'freeze+SIGKILL', removed: false }]);
  const kinds = new Set(r.signals.map((s) => s.signal));
  assert.ok(!kinds.has('cgroup.kill') && kinds.has('SIGKILL'), JSON.stringify([...kinds]));
  assert.equal(isAlive(loopPid), false);
  assert.equal(memberCount(leaf), 0);
  const freeze = readCgroupFile(path.join(leaf, 'cgroup.freeze'));
  assert.equal(freeze.state === 'found' && freeze.value.trim(), '0', 'the leaf is not left frozen');
});

test('a member of another uid refuses the cgroup.kill (and the freeze): nothing of it is signalled, the cgroup is kept', { skip }, async () => {
  const { leaf } = await leafOf('nobody');
  const nobody = await startOtherUsersSleep();
  assert.deepEqual(moveInto(leaf, nobody.pid!), { ok: true });
  for (const killFile of [undefined, false] as const) {
    const r = teardownSync([cgroupTarget(leaf, killFile === false ? { killFile } : {})], { graceMs: 50, timeoutMs: 2000 });
    assert.ok(r.refusals.some((x) => x.reason === 'other-user'), JSON.stringify(r.refusals));
    assert.ok(!r.signals.some((s) => s.signal === 'cgroup.kill'), 'no cgroup.kill');
    assert.deepEqual(r.processes.map((p) => [p.pid, p.outcome, p.reason]), [[nobody.pid, 'refused', 'other-user']]);
    assert.equal(r.cgroups?.[0].removed, false);
    assert.notEqual(r.cgroups?.[0].method, 'freeze+SIGKILL', 'a cgroup holding another uid\'s process is never frozen');
    assert.ok(isAlive(nobody.pid!), 'the other uid\'s sleep was not signalled');
  }
  nobody.kill('SIGKILL');
  await waitFor(() => !isAlive(nobody.pid!), 'the other uid\'s sleep to die');
});

/**
 * A node process that joins `leaf`, starts `script` (sh) there, prints its first line as
 * `MEMBER <line>`, then tears the leaf down as an `endsSelf` target (the host-gone end):
 * `MEMBERS <pid> …` (the leaf's cgroup.procs) right before it, as the teardown starts on them;
 * beforeSelfEnd prints LAST; REPORT is printed only if the teardown returned.
 */
function ownLeafEnder(leaf: string, script: string, opts: { graceMs: number; throwingLastWords?: boolean; killFile?: false }) {
  const kill = JSON.stringify(path.resolve(__dirname, '../../../src/core/kill/index.js'));
  return spawnNode(`
const fs = require('fs');
const { spawn } = require('child_process');
fs.writeFileSync(${JSON.stringify(leaf)} + '/cgroup.procs', String(process.pid));
const sh = spawn('sh', ['-c', ${JSON.stringify(script)}], { stdio: ['ignore', 'pipe', 'ignore'] });
sh.stdout.once('data', (d) => {
  console.log('MEMBER ' + d.toString().trim());
  setTimeout(() => {
    console.log('MEMBERS ' + fs.readFileSync(${JSON.stringify(leaf)} + '/cgroup.procs', 'utf8').split('\\n').filter(Boolean).join(' '));
    const r = require(${kill}).teardownSync([{ kind: 'cgroup', path: ${JSON.stringify(leaf)}, endsSelf: true${opts.killFile === false ? ', killFile: false' : ''} }], {
      graceMs: ${opts.graceMs}, timeoutMs: ${opts.graceMs} + 60000, beforeSelfEnd: () => { fs.writeSync(1, 'LAST\\n'); if (${opts.throwingLastWords === true}) throw new Error('last words failed'); },
    });
    console.log('REPORT ' + JSON.stringify(r));
  }, 100);
});
setInterval(() => undefined, 1000);
`, { stdio: ['ignore', 'pipe', 'inherit'] });
}

function exitSignal(child: ReturnType<typeof spawnNode>): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.signalCode);
    else child.once('exit', (_code, signal) => resolve(signal));
  });
}

test('an endsSelf cgroup none of whose members handles SIGTERM ends at once with one cgroup.kill, the process running it included, its last words first', { skip }, async () => {
  const { leaf } = await leafOf('ends-self');
  // A SIGTERM-ignoring shell and its setsid escapee (ignored, not handled: SIGTERM would change
  // nothing for them); the grace is a minute, so their end before it proves no SIGTERM phase ran.
  const child = ownLeafEnder(leaf, "trap '' TERM; setsid sh -c 'sleep 1000 & echo $!' </dev/null; while :; do sleep 1; done", { graceMs: 60_000 });
  const died = exitSignal(child);
  // Every line from the start: MEMBER, MEMBERS and LAST can come in one read.
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts.filter(Boolean));
  });
  const lineAfter = (prefix: string) => waitFor(() => lines.find((l) => l.startsWith(prefix))?.slice(prefix.length), `the ${prefix.trim()} line`);
  const escapee = Number(await lineAfter('MEMBER '));
  track(escapee);
  // The leaf as the ender saw it when its teardown began (read here, it could be emptied already).
  const members = (await lineAfter('MEMBERS ')).split(' ').map(Number);
  assert.ok(members.length >= 3 && members.includes(child.pid!) && members.includes(escapee), `the ender, its shell and the escapee in the leaf: ${JSON.stringify(members)}`);
  // Half the grace is a deadline a loaded machine meets by far: a SIGTERM phase would last it all.
  const early = await Promise.race([died, new Promise<'late'>((r) => setTimeout(r, 30_000, 'late').unref())]);
  assert.equal(early, 'SIGKILL', 'the process running the teardown was ended by it (the kernel\'s SIGKILL), long before the grace would have ended');
  assert.ok(lines.includes('LAST'), `beforeSelfEnd ran before the end: ${JSON.stringify(lines)}`);
  assert.ok(!lines.some((l) => l.startsWith('REPORT ')), 'the teardown never returned');
  await waitFor(() => !isAlive(escapee), 'the escapee to be gone', 20_000);
  await waitFor(() => readCgroupFile(`${leaf}/cgroup.events`).state === 'found' && /populated 0/.test((readCgroupFile(`${leaf}/cgroup.events`) as { value: string }).value), 'the leaf to be empty', 20_000);
  assert.ok(fs.existsSync(leaf), 'the leaf is left (the next start removes empty trees)');
});

test('an endsSelf cgroup whose last words throw still ends, the process running it included', { skip }, async () => {
  const { leaf } = await leafOf('ends-self-throw');
  const child = ownLeafEnder(leaf, 'echo $$; exec sleep 1000', { graceMs: 60_000, throwingLastWords: true });
  const died = exitSignal(child);
  const member = await readLineMatching(child.stdout!, (l) => (l.startsWith('MEMBER ') ? Number(l.slice(7)) : undefined));
  track(member);
  const early = await Promise.race([died, new Promise<'late'>((r) => setTimeout(r, 30_000, 'late').unref())]);
  assert.equal(early, 'SIGKILL', 'ended by the cgroup.kill despite its last words throwing');
  await waitFor(() => !isAlive(member), 'the member to be gone', 20_000);
});

test('an endsSelf cgroup with a member that handles SIGTERM: SIGTERM to it alone, and the end (one cgroup.kill, the process running it included) as soon as it is gone, not when the grace is over', { skip }, async (t) => {
  const { leaf } = await leafOf('ends-self-term');
  const dir = fs.mkdtempSync('/tmp/gw-term-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const mark = path.join(dir, 'term');
  const status = path.join(dir, 'status');
  // A handler that records its SIGTERM and exits; a sleep that does not catch SIGTERM, under a
  // SIGTERM-ignoring shell that writes down how it ended (143: by a SIGTERM it should never get;
  // the cgroup.kill ends the shell with it, so nothing is written then, or 137).
  // (The handler is set first: the member line starts the teardown. A subshell resets it.)
  const script = `trap 'echo term > ${mark}; exit 0' TERM; ` +
    `(trap '' TERM; (trap - TERM; exec sleep 1000) & echo $!; wait $!; echo $? > ${status}) & ` +
    'while :; do sleep 0.05; done';
  const child = ownLeafEnder(leaf, script, { graceMs: 60_000 });
  const died = exitSignal(child);
  const sleeper = await readLineMatching(child.stdout!, (l) => (l.startsWith('MEMBER ') ? Number(l.slice(7)) : undefined));
  track(sleeper);
  // Half the grace is a deadline a loaded machine meets by far: waiting the grace out would last it all.
  const early = await Promise.race([died, new Promise<'late'>((r) => setTimeout(r, 30_000, 'late').unref())]);
  assert.equal(early, 'SIGKILL', 'the process running the teardown was ended by the cgroup.kill once the handler was gone');
  assert.equal(fs.readFileSync(mark, 'utf8').trim(), 'term', 'the member that handles SIGTERM got it first');
  await waitFor(() => !isAlive(sleeper), 'the sleep to be gone (cgroup.kill)', 20_000);
  const ended = fs.existsSync(status) ? fs.readFileSync(status, 'utf8').trim() : 'not written (killed with it)';
  assert.notEqual(ended, '143', 'the sleep that does not catch SIGTERM was not sent one');
});

test('an endsSelf cgroup without cgroup.kill (Linux < 5.14): SIGTERM to the member that handles it, then the others SIGKILLed by pid as read with their masks; the process running it is left', { skip }, async (t) => {
  const { leaf } = await leafOf('ends-self-nokill');
  const dir = fs.mkdtempSync('/tmp/gw-term-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const mark = path.join(dir, 'term');
  // The handler is set before the member line that starts the teardown (the sleep gets the default).
  const child = ownLeafEnder(leaf, `trap 'echo term > ${mark}; exit 0' TERM; sleep 1000 & echo $!; while :; do sleep 0.05; done`, { graceMs: 60_000, killFile: false });
  const sleeper = await readLineMatching(child.stdout!, (l) => (l.startsWith('MEMBER ') ? Number(l.slice(7)) : undefined));
  track(sleeper);
  track(child.pid!);
  const report = await readLineMatching(child.stdout!, (l) => (l.startsWith('REPORT ') ? JSON.parse(l.slice(7)) as { processes: { pid: number; outcome: string; signals: string[] }[]; survivors: number[]; elapsedMs: number } : undefined), 30_000);
  child.kill('SIGKILL');
  assert.equal(fs.readFileSync(mark, 'utf8').trim(), 'term', 'the member that handles SIGTERM got it');
  const sleep = report.processes.find((p) => p.pid === sleeper);
  assert.deepEqual(sleep && [sleep.outcome, sleep.signals], ['killed', ['SIGKILL']], JSON.stringify(report));
  assert.deepEqual(report.survivors, [], JSON.stringify(report));
  assert.ok(report.elapsedMs < 30_000, `ended once the handler was gone, not after the 60 s grace: ${report.elapsedMs} ms`);
  await waitFor(() => !isAlive(sleeper), 'the sleep to be gone');
});

// graceMs 0: SIGKILL first, each owner read for the check; 1500: the owners come with the signal
// masks read to decide on SIGTERM (one open per member).
for (const graceMs of [0, 1500]) test(`an endsSelf cgroup holding another uid's process is refused (grace ${graceMs} ms): nothing written, the process running it lives on and says why`, { skip: skip ?? (process.getuid?.() === 0 ? undefined : 'needs root (setpriv)') }, async () => {
  const { leaf } = await leafOf(`ends-self-nobody-${graceMs}`);
  const nobody = await startOtherUsersSleep();
  assert.deepEqual(moveInto(leaf, nobody.pid!), { ok: true });
  const child = ownLeafEnder(leaf, 'echo $$; exec sleep 1000', { graceMs });
  const report = await readLineMatching(child.stdout!, (l) => (l.startsWith('REPORT ') ? JSON.parse(l.slice(7)) : undefined), 20_000);
  assert.ok(report.refusals.some((x: { reason: string }) => x.reason === 'other-user'), JSON.stringify(report.refusals));
  assert.ok(!report.signals.some((s: { signal: string }) => s.signal === 'cgroup.kill'), 'no cgroup.kill');
  assert.ok(isAlive(child.pid!), 'the process running the teardown was not ended');
  assert.ok(isAlive(nobody.pid!), 'the other uid\'s sleep was not signalled');
  child.kill('SIGKILL');
  nobody.kill('SIGKILL');
  await waitFor(() => !isAlive(nobody.pid!) && !isAlive(child.pid!), 'both to die');
});
