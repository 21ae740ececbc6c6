// Builds a real orphan situation, scoped to one test: a dead host (a process that was started,
// fingerprinted and killed), live processes it left behind, and innocent bystanders. Every
// process is tracked for killTracked; detection in tests is scoped by `owners: [deadOwner]` and
// by `pattern` (unique per scene), so nothing outside the scene can ever be listed or signalled.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointFileName, writeCheckpointSync } from '../../src/core/checkpoint';
import { Fingerprint, fingerprintOf, formatFingerprint } from '../../src/core/fingerprint';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { readProcStat } from '../../src/core/procfs';
import type { ProcessRecord } from '../../src/core/registry';
import { readLineMatching, spawnNode, spawnTracked, testMarker, track, waitFor, waitForExit } from '../support/processes';

export interface OrphanScene {
  dir: string;
  tag: string;
  /** Matches only this scene's pattern processes. */
  pattern: RegExp;
  deadOwner: Fingerprint;
  deadCheckpoint: string;
  liveHost: Fingerprint;
  liveCheckpoint: string;
  /** Pids treated as subreapers (when the double-forked process did not land on PID 1). */
  reapers: number[];
  // Orphans
  gateway: Fingerprint; // recorded in the dead checkpoint AND carries the dead marker; group leader
  worker: Fingerprint; // the gateway's child, recorded too: must be nested, not listed twice
  markerOrphan: Fingerprint; // setsid + double fork, carries the dead marker only
  patternOrphan: Fingerprint; // pattern command line, re-parented
  // Survivors
  innocent: Fingerprint; // its pid is in the dead checkpoint with another start time
  patternKept: Fingerprint; // pattern command line, parent alive
  liveOwned: Fingerprint; // pattern + re-parented + recorded dead, but its marker names the live host
  liveRecorded: Fingerprint; // recorded in the live host's checkpoint
}

const node = process.execPath;

function fp(pid: number | undefined): Fingerprint {
  const f = pid ? fingerprintOf(pid) : undefined;
  if (!f) throw new Error(`no live process ${pid}`);
  return f;
}

const readPid = (stream: NodeJS.ReadableStream) => readLineMatching(stream, (l) => (/^\d+$/.test(l.trim()) ? Number(l) : undefined));

/** A process whose fingerprint is recorded and which is then killed: a dead host. */
export async function deadFingerprint(): Promise<Fingerprint> {
  const p = spawnTracked(node, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const f = fp(p.pid);
  p.kill('SIGKILL');
  await waitForExit(f.pid);
  return f;
}

/** `bash -c '(exec -a NAME sleep 600 &)'`: NAME ends up re-parented; returns its pid. */
export function doubleForked(name: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return reparented(`exec -a ${name} sleep 600`, { env });
}

/** `bash -c '(COMMAND &)'`: COMMAND (one process: use exec) ends up re-parented; returns its pid. */
export async function reparented(command: string, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<number> {
  const sh = spawnTracked('bash', ['-c', `(${command} & echo $!)`], { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await readPid(sh.stdout!);
  track(pid);
  await waitForExit(sh.pid!);
  // Re-parented once the subshell is gone: to PID 1, or to the nearest subreaper.
  await waitFor(() => readProcStat(pid)?.ppid !== sh.pid && readProcStat(pid)?.ppid !== undefined, `pid ${pid} to be re-parented`);
  return pid;
}

export async function buildScene(name: string): Promise<OrphanScene> {
  const tag = testMarker(name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-orphans-'));
  const deadOwner = await deadFingerprint();
  const deadText = formatFingerprint(deadOwner);
  const deadEnv = { ...process.env, [OWNER_ENV]: deadText };

  const gw = spawnNode(
    "const c = require('child_process').spawn('sleep', ['600'], { stdio: 'ignore' });" +
    'console.log(c.pid); setInterval(() => {}, 1000)',
    { detached: true, env: deadEnv, args: [`${tag}-gateway`] },
  );
  const workerPid = await readPid(gw.stdout!);
  track(workerPid);

  const m = spawnNode(
    "const c = require('child_process').spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });" +
    'console.log(c.pid); c.unref(); setTimeout(() => process.exit(0), 50)',
    { env: deadEnv },
  );
  const markerPid = await readPid(m.stdout!);
  track(markerPid, true);
  await waitForExit(m.pid!);

  const patternPid = await doubleForked(`${tag}-pat-orphan`);
  const ppid = readProcStat(patternPid)!.ppid;
  const reapers = ppid === 1 ? [] : [ppid];

  const kept = spawnTracked('bash', ['-c', `exec -a ${tag}-pat-kept sleep 600 & echo $!; wait`], { stdio: ['ignore', 'pipe', 'ignore'] });
  const keptPid = await readPid(kept.stdout!);
  track(keptPid);

  const innocent = spawnTracked('sleep', ['600'], { stdio: 'ignore' });

  const host = spawnNode('setInterval(() => {}, 1000)', { stdio: 'ignore', args: [`${tag}-livehost`] });
  const liveHost = fp(host.pid);
  const liveOwnedPid = await doubleForked(`${tag}-pat-liveowned`, { ...process.env, [OWNER_ENV]: formatFingerprint(liveHost) });
  const liveRecorded = spawnTracked('sleep', ['601'], { stdio: 'ignore' });

  const scene: OrphanScene = {
    dir, tag, pattern: new RegExp(`${tag}-pat`), deadOwner, liveHost, reapers,
    deadCheckpoint: path.join(dir, checkpointFileName(deadOwner)),
    liveCheckpoint: path.join(dir, checkpointFileName(liveHost)),
    gateway: fp(gw.pid), worker: fp(workerPid), markerOrphan: fp(markerPid), patternOrphan: fp(patternPid),
    innocent: fp(innocent.pid), patternKept: fp(keptPid), liveOwned: fp(liveOwnedPid), liveRecorded: fp(liveRecorded.pid),
  };
  const rec = (role: ProcessRecord['role'], f: Fingerprint, extra: Partial<ProcessRecord> = {}): ProcessRecord =>
    ({ role, fingerprint: f, command: `${role} ${f.pid}`, startedAt: Date.now(), ...extra });
  writeCheckpointSync(scene.deadCheckpoint, {
    version: 1, owner: deadOwner, writtenAt: Date.now(),
    records: [
      rec('gateway', scene.gateway, { pgid: scene.gateway.pid }),
      rec('worker', scene.worker, { sessionId: 's1', pgid: scene.gateway.pid }),
      rec('child', { ...scene.innocent, startTime: scene.innocent.startTime + 1 }),
      rec('child', scene.liveOwned),
    ],
  });
  writeCheckpointSync(scene.liveCheckpoint, {
    version: 1, owner: liveHost, writtenAt: Date.now(), records: [rec('worker', scene.liveRecorded, { sessionId: 'live' })],
  });
  return scene;
}

export function orphansOf(s: OrphanScene): Fingerprint[] {
  return [s.gateway, s.worker, s.markerOrphan, s.patternOrphan];
}

export function survivorsOf(s: OrphanScene): Fingerprint[] {
  return [s.innocent, s.patternKept, s.liveOwned, s.liveRecorded, s.liveHost];
}
