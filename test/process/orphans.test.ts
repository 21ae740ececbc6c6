import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { loadCheckpoints } from '../../src/core/checkpoint';
import { Fingerprint, isSameProcess } from '../../src/core/fingerprint';
import { detectOrphans, detectOrphansDetailed, Orphan } from '../../src/core/orphans';
import { clearOrphans, pruneStaleCheckpoints } from '../../src/core/orphansClear';
import { describeLiveOwners } from '../../src/core/orphansStatus';
import { scanProcSync } from '../../src/core/processTable';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointFileName, writeCheckpointSync } from '../../src/core/checkpoint';
import { fingerprintOf, formatFingerprint } from '../../src/core/fingerprint';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { catchesSignal, readProcStat } from '../../src/core/procfs';
import { isAlive, killTracked, spawnTracked, testMarker, track, waitFor, waitForExit } from '../support/processes';
import { OrphanScene, buildScene, deadFingerprint, orphansOf, reparented, survivorsOf } from './orphansScene';

const linux = process.platform === 'linux';
const dirs: string[] = [];
after(() => {
  killTracked();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function detect(s: OrphanScene, extra: { selfPid?: number } = {}): Orphan[] {
  return detectOrphans({
    table: scanProcSync({ readMemory: true }),
    checkpoints: loadCheckpoints(s.dir).checkpoints,
    patterns: [s.pattern],
    owners: [s.deadOwner],
    reapers: s.reapers,
    ...extra,
  });
}

const pids = (fps: Fingerprint[]) => fps.map((f) => f.pid).sort((a, b) => a - b);

test('detection finds exactly the orphans, nests the worker, and spares the innocent and the live-owned', { skip: !linux }, async (t) => {
  const s = await buildScene('detect');
  dirs.push(s.dir);
  if (s.reapers.length) t.diagnostic(`double-forked processes land on subreaper ${s.reapers[0]}, not PID 1`);
  const found = detect(s);
  assert.deepEqual(found.map((o) => o.pid), pids([s.gateway, s.markerOrphan, s.patternOrphan]));

  const gw = found.find((o) => o.pid === s.gateway.pid)!;
  assert.deepEqual(gw.reasons, ['dead-owner-checkpoint', 'dead-owner-marker'], 'one entry for two rules');
  assert.equal(gw.reason, 'dead-owner-checkpoint');
  assert.deepEqual(gw.owner, s.deadOwner);
  assert.equal(gw.checkpointFile, s.deadCheckpoint);
  assert.equal(gw.role, 'gateway');
  assert.deepEqual(gw.fingerprint, s.gateway);
  assert.match(gw.command, new RegExp(`${s.tag}-gateway`));
  assert.deepEqual(gw.descendants.map((d) => d.pid), [s.worker.pid], 'the recorded worker is a descendant, not a duplicate');
  assert.ok(gw.ageMs !== undefined && gw.ageMs >= 0 && gw.ageMs < 10 * 60_000, `age ${gw.ageMs}`);
  assert.ok(gw.rss !== undefined && gw.rss > 1024 * 1024, `rss ${gw.rss}`);
  assert.match(gw.reasonText, /recorded by host .* which is dead/);

  const marker = found.find((o) => o.pid === s.markerOrphan.pid)!;
  assert.equal(marker.reason, 'dead-owner-marker');
  assert.deepEqual(marker.owner, s.deadOwner);
  assert.equal(marker.checkpointFile, undefined);

  const pat = found.find((o) => o.pid === s.patternOrphan.pid)!;
  assert.deepEqual(pat.reasons, ['pattern-reparented']);
  assert.equal(pat.owner, undefined);
  assert.match(pat.reasonText, /re-parented to/);

  // Our own process (and its ancestors) are never listed, whatever their marker says.
  const asIfSelf = detect(s, { selfPid: s.markerOrphan.pid });
  assert.ok(!asIfSelf.some((o) => o.pid === s.markerOrphan.pid));
});

test('a process of a live host is not an orphan even when a dead checkpoint records it', { skip: !linux }, async () => {
  const s = await buildScene('liveowned');
  dirs.push(s.dir);
  const table = scanProcSync({ readMemory: true });
  // Without any scoping, none of the survivors may appear (other machines' orphans may).
  const all = detectOrphans({ table, checkpoints: loadCheckpoints(s.dir).checkpoints, patterns: [s.pattern], reapers: s.reapers });
  const listed = new Set(all.flatMap((o) => [o.pid, ...o.descendants.map((d) => d.pid)]));
  for (const f of survivorsOf(s)) assert.ok(!listed.has(f.pid), `survivor ${f.pid} listed`);
  // status shows the live host with its recorded worker and its marked process.
  const owners = describeLiveOwners(table, loadCheckpoints(s.dir).checkpoints);
  const live = owners.find((o) => o.owner.pid === s.liveHost.pid);
  assert.ok(live, 'live host listed');
  assert.equal(live.checkpointFile, s.liveCheckpoint);
  assert.deepEqual(live.processes.map((p) => p.pid).sort((a, b) => a - b), pids([s.liveOwned, s.liveRecorded]));
  assert.equal(live.processes.find((p) => p.pid === s.liveRecorded.pid)!.sessionId, 'live');
  assert.ok(!owners.some((o) => o.owner.pid === s.deadOwner.pid), 'the dead owner is not live');
});

test('clearing kills exactly the orphans (trees included); the stale checkpoint goes once nothing in it lives', { skip: !linux }, async () => {
  const s = await buildScene('clear');
  dirs.push(s.dir);
  const found = detect(s);
  assert.deepEqual(found.map((o) => o.pid), pids([s.gateway, s.markerOrphan, s.patternOrphan]), 'detection first');
  const progress: number[] = [];
  const summary = await clearOrphans(found, { graceMs: 300, onProgress: (p) => progress.push(p.done) });
  for (const f of orphansOf(s)) await waitForExit(f.pid);
  assert.deepEqual(summary.results.map((r) => r.pid).sort((a, b) => a - b), pids(orphansOf(s)));
  for (const r of summary.results) {
    assert.equal(r.outcome, 'killed', `${r.pid}: ${r.why}`);
    assert.equal(r.signals[0], 'SIGTERM');
  }
  assert.equal(summary.killed, 4);
  assert.deepEqual(summary.remaining, []);
  assert.deepEqual(progress.sort(), [1, 2, 3]);
  for (const f of survivorsOf(s)) assert.ok(isSameProcess(f), `survivor ${f.pid} still alive`);

  // The dead checkpoint still names a live process (the live-owned one): kept.
  let pruned = pruneStaleCheckpoints(s.dir);
  assert.deepEqual(pruned.deleted, []);
  assert.deepEqual(pruned.kept.sort(), [s.deadCheckpoint, s.liveCheckpoint].sort());
  process.kill(s.liveOwned.pid, 'SIGKILL');
  await waitForExit(s.liveOwned.pid);
  pruned = pruneStaleCheckpoints(s.dir);
  assert.deepEqual(pruned.deleted, [s.deadCheckpoint]);
  assert.deepEqual(pruned.kept, [s.liveCheckpoint], 'a live host keeps its checkpoint');
  assert.deepEqual(detect(s), [], 'nothing left');
});

test('clearing re-checks fingerprints: a stale orphan entry never signals the pid\'s new holder', { skip: !linux }, async () => {
  const s = await buildScene('recheck');
  dirs.push(s.dir);
  const [pat] = detect(s).filter((o) => o.pid === s.patternOrphan.pid);
  // Pretend the pid was reused: the entry names another start time than the live process.
  const stale: Orphan = { ...pat, fingerprint: { ...pat.fingerprint, startTime: pat.fingerprint.startTime - 1 } };
  const summary = await clearOrphans([stale], { graceMs: 100 });
  assert.equal(summary.results.length, 1);
  assert.deepEqual([summary.results[0].outcome, summary.results[0].reason], ['already-gone', 'reused']);
  assert.match(summary.results[0].why, /reused/);
  assert.ok(isAlive(s.patternOrphan.pid), 'the live holder of the pid was not signalled');
  // An aborted sweep signals nothing.
  const ac = new AbortController();
  ac.abort();
  const aborted = await clearOrphans([pat], { signal: ac.signal });
  assert.deepEqual([aborted.results[0].outcome, aborted.results[0].reason], ['refused', 'cancelled']);
  assert.match(aborted.results[0].why, /cancelled/);
  assert.ok(isSameProcess(s.patternOrphan));
  assert.deepEqual(aborted.remaining, [s.patternOrphan.pid]);
});

test('a process that joined an orphan\'s group from outside its tree is listed with it and taken down', { skip: !linux }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-orphans-'));
  dirs.push(dir);
  const dead = await deadFingerprint();
  // A group leader in our own session (setpgid across sessions is not allowed), started by the
  // dead host (its marker: a checkpoint record alone is not enough).
  const gw = spawnTracked('perl', ['-e', "setpgrp(0, 0) or die; exec 'sleep', '600'"], { stdio: 'ignore', env: { ...process.env, [OWNER_ENV]: formatFingerprint(dead) } });
  track(gw.pid!, true);
  await waitFor(() => readProcStat(gw.pid!)?.comm === 'sleep' && readProcStat(gw.pid!)?.pgid === gw.pid, 'the gateway to lead its group');
  const gwFp = fingerprintOf(gw.pid!)!;
  // perl's setpgrp moves this child of ours into the gateway's group: in the group, not the tree.
  const joiner = spawnTracked('perl', ['-e', `setpgrp(0, ${gw.pid}) or die "setpgrp: $!"; exec 'sleep', '600'`], { stdio: 'ignore' });
  await waitFor(() => readProcStat(joiner.pid!)?.pgid === gw.pid && readProcStat(joiner.pid!)?.comm === 'sleep', 'the joiner to be in the group');
  writeCheckpointSync(path.join(dir, checkpointFileName(dead)), {
    version: 1, owner: dead, writtenAt: Date.now(),
    records: [{ role: 'gateway', fingerprint: gwFp, pgid: gwFp.pid, command: 'gateway', startedAt: Date.now() }],
  });
  const found = detectOrphans({
    table: scanProcSync({ readMemory: true }), checkpoints: loadCheckpoints(dir).checkpoints, owners: [dead], patterns: [],
  });
  assert.deepEqual(found.map((o) => o.pid), [gw.pid]);
  assert.deepEqual(found[0].descendants.map((d) => d.pid), [joiner.pid], 'the group member is shown before anything is killed');
  const summary = await clearOrphans(found, { graceMs: 200 });
  assert.deepEqual(summary.results.map((r) => [r.pid, r.outcome]).sort(), [[gw.pid, 'killed'], [joiner.pid, 'killed']].sort());
  await waitForExit(gw.pid!);
  await waitForExit(joiner.pid!);
});

test('clearing gives a SIGTERM handler the whole grace it was given, past the engine\'s default 5 s bound', { skip: !linux }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-orphans-'));
  dirs.push(dir);
  const done = path.join(dir, 'done');
  const tag = testMarker('grace');
  // On SIGTERM it works for 5.5 s, writes `done` and exits: only a grace longer than that lets it finish.
  const pid = await reparented(`exec -a ${tag} perl -e '$SIG{TERM} = sub { select(undef, undef, undef, 5.5); open(my $f, ">", $ARGV[0]) or die; print $f "done"; close $f; exit 0 }; sleep 1 while 1' ${done}`);
  // perl sets its handler only once it runs the script: a SIGTERM before that ends it at once.
  await waitFor(() => { const st = readProcStat(pid); return st !== undefined && catchesSignal(st, 15) === true; }, 'perl to set its SIGTERM handler');
  const ppid = readProcStat(pid)!.ppid;
  const found = detectOrphans({ table: scanProcSync({ readMemory: true }), patterns: [new RegExp(tag)], owners: [], reapers: ppid === 1 ? [] : [ppid] });
  assert.deepEqual(found.map((o) => o.pid), [pid]);
  const t0 = Date.now();
  const summary = await clearOrphans(found, { graceMs: 8000 });
  t.diagnostic(`cleared in ${Date.now() - t0} ms: ${summary.results.map((r) => `${r.pid} ${r.outcome}`).join(', ')}`);
  assert.equal(fs.existsSync(done) && fs.readFileSync(done, 'utf8'), 'done', 'its handler ran to the end (it was not SIGKILLed at 5 s)');
  assert.deepEqual(summary.remaining, []);
  await waitForExit(pid);
});

test('a process in another PID namespace (a container\'s, seen from the host) carrying a dead-looking marker is not judged: its marker\'s pids are that namespace\'s; one in ours with the same marker is an orphan', { skip: !linux ? 'Linux only' : process.getuid?.() !== 0 ? 'needs root (unshare --pid)' : undefined }, async () => {
  const dead = await deadFingerprint();
  const marker = `${OWNER_ENV}=${formatFingerprint(dead)}`;
  // The marker on the inner command only: `unshare` itself (in our namespace) carries none.
  const contained = spawnTracked('unshare', ['--pid', '--fork', 'env', marker, 'sleep', '600'], { stdio: 'ignore' });
  const inner = await waitFor(() => {
    const kids = scanProcSync().filter((p) => p.ppid === contained.pid && p.name === 'sleep');
    return kids.length === 1 && readProcStat(kids[0].pid) ? kids[0].pid : undefined;
  }, 'the sleep in its own PID namespace');
  track(inner);
  await waitFor(() => scanProcSync().find((p) => p.pid === inner)?.owner === formatFingerprint(dead), 'its marker readable');
  const ours = spawnTracked('env', [marker, 'sleep', '600'], { stdio: 'ignore' });
  await waitFor(() => scanProcSync().find((p) => p.pid === ours.pid)?.owner === formatFingerprint(dead), 'the control\'s marker readable');

  const r = detectOrphansDetailed({ table: scanProcSync({ readMemory: true }), owners: [dead], patterns: [] });
  const pids = r.orphans.flatMap((o) => [o.pid, ...o.descendants.map((d) => d.pid)]);
  assert.ok(pids.includes(ours.pid!), `the one in our namespace is an orphan: ${JSON.stringify(pids)}`);
  assert.ok(!pids.includes(inner), 'the one in another namespace is not');
  assert.ok(r.problems.some((p) => p.includes('another PID namespace') && p.includes(String(inner))), r.problems.join(' | '));
});
