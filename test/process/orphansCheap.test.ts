// The cheap orphan scan (environments only of candidates) finds what the full scan finds, on
// the real orphan scene: the recorded gateway and its nested worker, the setsid + double-forked
// escapee that carries the dead host's marker, the re-parented pattern match — and spares the
// same survivors — while reading far fewer rows in full. Scoped like every scene test.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { formatFingerprint, isSameProcess } from '../../src/core/fingerprint';
import { Orphan } from '../../src/core/orphans';
import { findOrphans } from '../../src/core/orphansFind';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { readProcStat } from '../../src/core/procfs';
import { killTracked, readLineMatching, spawnTracked, track } from '../support/processes';
import { OrphanScene, buildScene, doubleForked, survivorsOf } from './orphansScene';

const linux = process.platform === 'linux';
const dirs: string[] = [];
after(() => {
  killTracked();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const shape = (os: Orphan[]) => os.map((o) => ({ pid: o.pid, reasons: o.reasons, descendants: o.descendants.map((d) => d.pid), owner: o.owner }));

function find(s: OrphanScene, scan: 'candidates' | 'full', reapers = s.reapers) {
  return findOrphans({ checkpointDirs: [s.dir], patterns: [s.pattern], owners: [s.deadOwner], reapers, scan });
}

test('the cheap scan finds the scene exactly as the full scan does, the double-forked marker escapee included, reading a fraction of the rows', { skip: !linux }, async () => {
  const s = await buildScene('cheap');
  dirs.push(s.dir);
  const full = await find(s, 'full');
  const cheap = await find(s, 'candidates');
  assert.equal(full.scanMode, 'full');
  assert.equal(cheap.scanMode, 'candidates');
  assert.deepEqual(shape(cheap.orphans), shape(full.orphans));
  assert.deepEqual(cheap.orphans.map((o) => o.pid), [s.gateway.pid, s.markerOrphan.pid, s.patternOrphan.pid].sort((a, b) => a - b));
  const esc = cheap.orphans.find((o) => o.pid === s.markerOrphan.pid)!;
  assert.deepEqual(esc.reasons, ['dead-owner-marker']);
  const st = readProcStat(s.markerOrphan.pid)!;
  assert.equal(st.sid, s.markerOrphan.pid, 'the escapee leads its own session (setsid)');
  assert.notEqual(st.ppid, s.gateway.pid);
  assert.deepEqual(cheap.orphans.find((o) => o.pid === s.gateway.pid)!.descendants.map((d) => d.pid), [s.worker.pid]);
  assert.equal(cheap.notCorroborated.length, full.notCorroborated.length);
  assert.equal(full.examined, full.table.length);
  assert.ok(cheap.examined < full.examined, `cheap read ${cheap.examined} of ${cheap.table.length} rows in full`);
  // A process whose parent, group leader and session leader all live is not read in full (no
  // uid read); how many rows that saves depends on the machine (a container's PID namespace may
  // hold only a dozen). Its own session: the test runner's group leader may be gone.
  const leader = spawnTracked('bash', ['-c', 'sleep 600 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const settled = Number(await readLineMatching(leader.stdout!, (l) => (/^\d+$/.test(l.trim()) ? l.trim() : undefined)));
  track(settled);
  const again = await find(s, 'candidates');
  const row = again.table.find((p) => p.pid === settled);
  assert.ok(row, 'the settled process is in the table');
  assert.equal(row.uid, undefined, `${settled} (live parent and leaders) read only from stat`);
  for (const f of survivorsOf(s)) assert.ok(isSameProcess(f), `survivor ${f.pid}`);
});

test('a double-forked escapee with a dead marker is found by the cheap scan; one that dropped the marker by neither scan (only a leftover cgroup lists it)', { skip: !linux }, async () => {
  const s = await buildScene('cheapdrop');
  dirs.push(s.dir);
  const deadEnv = { ...process.env, [OWNER_ENV]: formatFingerprint(s.deadOwner) };
  const marked = await doubleForked(`${s.tag}-marked`, deadEnv);
  const dropped = await doubleForked(`${s.tag}-dropped`, (() => {
    const e = { ...process.env };
    delete e[OWNER_ENV];
    return e;
  })());
  const reapers = [...new Set([...s.reapers, ...[marked, dropped].map((p) => readProcStat(p)!.ppid).filter((p) => p !== 1)])];
  for (const scan of ['candidates', 'full'] as const) {
    const r = await find(s, scan, reapers);
    const pids = r.orphans.flatMap((o) => [o.pid, ...o.descendants.map((d) => d.pid)]);
    assert.ok(pids.includes(marked), `${scan}: the marked escapee`);
    assert.equal(r.orphans.find((o) => o.pid === marked)?.reason, 'dead-owner-marker');
    assert.ok(!pids.includes(dropped), `${scan}: the escapee without a marker (no record, no pattern)`);
  }
});
