// The memory ceiling's rule on plain data, and its sampling of real processes (a group and a
// setsid escapee carrying the worker's marker).
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { delay } from '../../src/core/emitter';
import { fingerprintOf, formatFingerprint } from '../../src/core/fingerprint';
import { readMarker } from '../../src/core/kill/members';
import { markerOf } from '../../src/core/kill/source';
import { PARENT_ENV } from '../../src/core/ownerMarker';
import { readProcStat } from '../../src/core/procfs';
import { applyKernelCeiling, limitBytesOf, MAX_SAMPLE_MS, MemoryCeiling, MIN_SAMPLE_MS, sampleIntervalMs, SessionMemory, sessionsToRestart, WorkerSampler } from '../../src/gateway/memoryCeiling';
import { killTracked, spawnTracked, waitFor } from '../support/processes';

after(killTracked);
const MB = 1024 * 1024;
const LINUX = process.platform === 'linux';

function mem(sessionId: string, pid: number, memoryBytes: number): SessionMemory {
  return { sessionId, pid, memoryBytes, members: 2, source: 'rss-sum', membersFrom: 'process-group' };
}

test('the restart rule: strictly above the ceiling, each worker once, nothing when off', () => {
  const samples = [mem('a', 10, 60 * MB), mem('b', 11, 60 * MB + 1), mem('c', 12, 500 * MB)];
  assert.deepEqual(sessionsToRestart(samples, 60 * MB).map((d) => [d.sessionId, d.limitBytes]), [['b', 60 * MB], ['c', 60 * MB]]);
  assert.deepEqual(sessionsToRestart(samples, 60 * MB, new Set([12])).map((d) => d.sessionId), ['b'], 'a worker being restarted is not decided again');
  assert.deepEqual(sessionsToRestart(samples, 0), [], 'off');
  assert.deepEqual(sessionsToRestart([], 60 * MB), []);
});

test('the ceiling in bytes (0 = off for anything but a positive whole MB) and the sampling period bounded to 250 ms–1 s', () => {
  assert.equal(limitBytesOf(64), 64 * MB);
  for (const off of [0, -5, 1.5, NaN, Infinity]) assert.equal(limitBytesOf(off), 0, String(off));
  assert.equal(sampleIntervalMs(1000), 1000);
  assert.equal(sampleIntervalMs(10), MIN_SAMPLE_MS);
  assert.equal(sampleIntervalMs(60_000), MAX_SAMPLE_MS);
  assert.equal(sampleIntervalMs(400), 400);
});

test('members of a worker group: the leader, its group, descendants, and a setsid escapee carrying its marker; not an unmarked stranger', { skip: !LINUX }, async () => {
  // A leader (a shell leading its own group) with a child in its group.
  const leader = spawnTracked('/bin/sh', ['-c', 'sleep 300 & wait'], { detached: true, stdio: 'ignore' });
  const fp = fingerprintOf(leader.pid!)!;
  // A setsid escapee carrying the leader's fingerprint as its marker, as a worker gives its /run commands.
  const marked = spawnTracked('setsid', ['sleep', '302'], { stdio: 'ignore', env: { ...process.env, [PARENT_ENV]: formatFingerprint(fp) } });
  const stranger = spawnTracked('setsid', ['sleep', '303'], { stdio: 'ignore' });
  const gm = new WorkerSampler();
  const m = await waitFor(() => {
    const l = gm.list([{ fp, pgid: leader.pid! }]).get(leader.pid!);
    return l && l.pids.length >= 3 && l.pids.includes(marked.pid!) ? l : undefined;
  }, 'the leader, its in-group child and the marked escapee');
  assert.ok(m.pids.includes(leader.pid!));
  assert.ok(!m.pids.includes(stranger.pid!), 'an unmarked process outside the group is not a member');
  assert.ok(!m.pids.includes(process.pid));
});

test('a marker absent at the first look (a process read between its fork and its exec) is read again at the next sample; an absence read twice is kept', { skip: !LINUX }, async () => {
  const leader = spawnTracked('/bin/sh', ['-c', 'sleep 300 & wait'], { detached: true, stdio: 'ignore' });
  const fp = fingerprintOf(leader.pid!)!;
  const marked = spawnTracked('setsid', ['sleep', '304'], { stdio: 'ignore', env: { ...process.env, [PARENT_ENV]: formatFingerprint(fp) } });
  // Its marker is in its environment from the spawn on; it is an escapee (its own session) only
  // once setsid has run and exec'd the sleep: until then the sampler rightly does not look at it.
  await waitFor(() => { const st = readProcStat(marked.pid!); return st?.comm === 'sleep' && st.sid === marked.pid; }, 'the escapee in its own session, exec\'d');
  assert.ok(markerOf(marked.pid!, PARENT_ENV) !== undefined, 'it carries its marker');
  // The first read of the escapee answers as its pre-exec self would: no marker.
  const reads = new Map<number, number>();
  const gm = new WorkerSampler((r) => {
    const n = (reads.get(r.pid) ?? 0) + 1;
    reads.set(r.pid, n);
    return r.pid === marked.pid && n === 1 ? undefined : readMarker(r);
  });
  const sample = () => gm.list([{ fp, pgid: leader.pid! }]).get(leader.pid!)!.pids;
  assert.ok(!sample().includes(marked.pid!), 'not counted on the pre-exec read');
  assert.ok(sample().includes(marked.pid!), 'counted at the next sample: the absence was read again');
  assert.equal(reads.get(marked.pid!), 2);
  sample();
  assert.equal(reads.get(marked.pid!), 2, 'a marker found is not read again');
  // An unmarked candidate is read twice, then kept as unmarked.
  const stranger = spawnTracked('setsid', ['sleep', '305'], { stdio: 'ignore' });
  await waitFor(() => readProcStat(stranger.pid!) !== undefined, 'the stranger listed');
  for (let i = 0; i < 4; i++) assert.ok(!sample().includes(stranger.pid!));
  assert.ok((reads.get(stranger.pid!) ?? 0) <= 2, `an absence is read at most twice: ${reads.get(stranger.pid!)}`);
});

test('MemoryCeiling.sample sums the members\' resident memory per session; restart is asked once while it runs, and again after', { skip: !LINUX }, async (t) => {
  const hog = spawnTracked(process.execPath, ['-e', 'const b=Buffer.alloc(80*1024*1024,1);setInterval(()=>b[0]++,60000)'], { detached: true, stdio: 'ignore' });
  const fp = fingerprintOf(hog.pid!)!;
  const asked: string[] = [];
  const ceiling = new MemoryCeiling({
    limitBytes: 64 * MB,
    intervalMs: MIN_SAMPLE_MS,
    workers: () => [{ sessionId: 's1', fingerprint: fp, pgid: hog.pid! }],
    restart: async (d) => {
      asked.push(`${d.sessionId}:${d.pid}:${d.limitBytes}`);
      await delay(600); // a restart that takes longer than two periods
    },
    log: () => undefined,
  });
  try {
    await waitFor(() => (ceiling.sample()[0]?.memoryBytes ?? 0) > 80 * MB, 'the hog measured above 80 MB');
    const [s] = ceiling.sample();
    assert.deepEqual([s.sessionId, s.pid, s.source, s.membersFrom], ['s1', hog.pid, 'rss-sum', 'process-group']);
    assert.ok(s.members >= 1);
    // The schedule on fake timers (the samples still read the real process): no real waiting.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    ceiling.wake();
    t.mock.timers.tick(MIN_SAMPLE_MS - 1);
    assert.deepEqual(asked, [], 'nothing before the first period');
    t.mock.timers.tick(1);
    assert.deepEqual(asked, [`s1:${hog.pid}:${64 * MB}`], 'asked at the first sample');
    t.mock.timers.tick(2 * MIN_SAMPLE_MS);
    assert.equal(asked.length, 1, 'not again while it is being restarted (two more samples)');
    t.mock.timers.tick(600 - 2 * MIN_SAMPLE_MS);
    await new Promise((r) => setImmediate(r)); // the restart's promise settles
    t.mock.timers.tick(MIN_SAMPLE_MS);
    assert.equal(asked.length, 2, 'asked again once the restart ended and the session is still above');
  } finally {
    ceiling.dispose();
  }
});

test('the rule with memory.max in force: an OOM kill in the leaf since the last sample restarts the session though memory.current is under the ceiling', () => {
  const underButKilled = { ...mem('k', 20, 50 * MB), source: 'memory.current' as const, oomKills: 1 };
  const underNoKill = { ...mem('q', 21, 50 * MB), source: 'memory.current' as const, oomKills: 0 };
  assert.deepEqual(sessionsToRestart([underButKilled, underNoKill], 60 * MB).map((d) => d.sessionId), ['k']);
});

test('memory.max is applied only where a memory controller is enabled for the leaf; otherwise it says why (the sampling enforces)', () => {
  assert.deepEqual(applyKernelCeiling('/nonexistent/gateway-warden-1/s-x', 0), { kernel: false, why: 'the ceiling is off' });
  const r = applyKernelCeiling('/nonexistent/gateway-warden-1/s-x', 64 * MB);
  assert.equal(r.kernel, false);
  assert.match(!r.kernel ? r.why : '', /does not exist|not|no memory controller/);
});
