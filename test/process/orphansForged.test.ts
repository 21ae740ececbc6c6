// A checkpoint record alone never makes an orphan, and a command line that merely mentions a
// hermes module is not a hermes worker — with real processes. The forged checkpoint is written
// the way an attacker would: the innocent process's real fingerprint and command line (both
// world-readable in /proc), mode 0600, our uid, a dead owner.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointFileName, loadCheckpoints, writeCheckpointSync } from '../../src/core/checkpoint';
import { Fingerprint, fingerprintOf, formatFingerprint, isSameProcess } from '../../src/core/fingerprint';
import { Orphan, detectOrphans, detectOrphansDetailed } from '../../src/core/orphans';
import { clearOrphans } from '../../src/core/orphansClear';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { readProcCmdline, readProcStat } from '../../src/core/procfs';
import { scanProcSync } from '../../src/core/processTable';
import { killTracked, spawnTracked, waitFor, waitForExit } from '../support/processes';
import { deadFingerprint, reparented } from './orphansScene';

const linux = process.platform === 'linux';
const dirs: string[] = [];
after(() => {
  killTracked();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-forged-'));
  dirs.push(d);
  return d;
}

const withoutMarker = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env[OWNER_ENV];
  return env;
};

async function liveFingerprint(pid: number | undefined): Promise<Fingerprint> {
  return waitFor(() => (pid ? fingerprintOf(pid) : undefined), `a fingerprint of ${pid}`);
}

test('a forged checkpoint naming an innocent sleep is reported as not corroborated and never signalled; a genuine orphan beside it is cleared', { skip: !linux }, async () => {
  const dir = tempDir();
  const dead = await deadFingerprint();
  const innocent = spawnTracked('sleep', ['600'], { stdio: 'ignore', env: withoutMarker() });
  const genuine = spawnTracked('sleep', ['601'], { stdio: 'ignore', env: { ...process.env, [OWNER_ENV]: formatFingerprint(dead) } });
  const innocentFp = await liveFingerprint(innocent.pid);
  const genuineFp = await liveFingerprint(genuine.pid);
  const file = path.join(dir, checkpointFileName(dead));
  writeCheckpointSync(file, {
    version: 1, owner: dead, writtenAt: Date.now(),
    records: [
      { role: 'worker', fingerprint: innocentFp, command: readProcCmdline(innocentFp.pid).join(' '), startedAt: Date.now() },
      { role: 'worker', fingerprint: genuineFp, command: 'sleep 601', sessionId: 's1', startedAt: Date.now() },
    ],
  });
  assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'a well-formed file: the forgery is in what it says');

  const found = detectOrphansDetailed({ table: scanProcSync(), checkpoints: loadCheckpoints(dir).checkpoints, owners: [dead], patterns: [] });
  assert.deepEqual(found.orphans.map((o) => o.pid), [genuineFp.pid]);
  assert.deepEqual(found.notCorroborated.map((n) => n.pid), [innocentFp.pid]);
  assert.match(found.notCorroborated[0].why, /carries no GATEWAY_WARDEN_OWNER marker/);
  assert.equal(found.notCorroborated[0].checkpointFile, file);

  const summary = await clearOrphans(found.orphans, { graceMs: 200 });
  assert.deepEqual(summary.results.map((r) => [r.pid, r.outcome]), [[genuineFp.pid, 'killed']]);
  await waitForExit(genuineFp.pid);
  assert.ok(isSameProcess(innocentFp), 'the innocent sleep is alive');
});

test('the clear path corroborates again right before the kill: an orphan entry naming an innocent process is refused', { skip: !linux }, async () => {
  const dead = await deadFingerprint();
  const innocent = spawnTracked('sleep', ['600'], { stdio: 'ignore', env: withoutMarker() });
  const fp = await liveFingerprint(innocent.pid);
  const child = spawnTracked('sleep', ['602'], { stdio: 'ignore', env: withoutMarker() });
  const childFp = await liveFingerprint(child.pid);
  // What a fooled (or stale) detection would hand over: a checkpoint orphan, with a descendant.
  const claimed: Orphan = {
    pid: fp.pid, ppid: 1, fingerprint: fp, reason: 'dead-owner-checkpoint', reasons: ['dead-owner-checkpoint'],
    reasonText: 'recorded by a dead host', command: 'sleep 600', recordedCommand: 'sleep 600', owner: dead,
    checkpointFile: '/nowhere/forged.json', role: 'worker',
    descendants: [{ pid: childFp.pid, ppid: fp.pid, fingerprint: childFp, command: 'sleep 602' }],
  };
  const byMarker = await clearOrphans([claimed], { graceMs: 100 });
  assert.equal(byMarker.results.length, 1);
  assert.deepEqual([byMarker.results[0].outcome, byMarker.results[0].reason], ['refused', 'not-corroborated']);
  assert.match(byMarker.results[0].why, new RegExp(`pid ${fp.pid} not signalled: not corroborated: it carries no GATEWAY_WARDEN_OWNER marker`));
  assert.deepEqual(byMarker.remaining, [fp.pid, childFp.pid].sort((a, b) => a - b));
  // The command-line rule (off Linux) re-reads the process table too.
  const byCommand = await clearOrphans([{ ...claimed, recordedCommand: 'node worker.js' }], { corroborate: 'command' });
  assert.deepEqual([byCommand.results[0].outcome, byCommand.results[0].reason], ['refused', 'not-corroborated']);
  assert.match(byCommand.results[0].why, /command line "sleep 600" is not the recorded "node worker\.js"/);
  assert.ok(isSameProcess(fp) && isSameProcess(childFp), 'neither the process nor its child was signalled');
});

const hasPython = linux && spawnSync('python3', ['-c', 'pass'], { stdio: 'ignore' }).status === 0;

test('default rules: a re-parented `python3 -m tui_gateway.slash_worker` is a hermes orphan; re-parented commands that only mention it are not', { skip: !hasPython }, async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'tui_gateway'));
  fs.writeFileSync(path.join(dir, 'tui_gateway', '__init__.py'), '');
  for (const mod of ['slash_worker', 'entry']) fs.writeFileSync(path.join(dir, 'tui_gateway', `${mod}.py`), 'import time\ntime.sleep(600)\n');
  fs.writeFileSync(path.join(dir, 'tui_gateway.slash_worker.log'), 'log\n');
  const env = withoutMarker();
  const q = (s: string) => `'${s}'`;
  const worker = await reparented('exec python3 -m tui_gateway.slash_worker --session s1', { env, cwd: dir });
  const entry = await reparented(`exec python3 ${q(path.join(dir, 'tui_gateway', 'entry.py'))}`, { env, cwd: dir });
  const mentions = [
    await reparented(`exec -a less tail -f ${q(path.join(dir, 'tui_gateway.slash_worker.log'))}`, { env, cwd: dir }),
    await reparented(`exec -a grep tail -f ${q(path.join(dir, 'tui_gateway.slash_worker.log'))} tui_gateway.slash_worker`, { env, cwd: dir }),
    await reparented(`exec -a vim tail -f ${q(path.join(dir, 'tui_gateway', 'slash_worker.py'))}`, { env, cwd: dir }),
    await reparented("exec python3 -c 'import time; time.sleep(600)' -m tui_gateway.slash_worker", { env, cwd: dir }),
  ];
  // python3 may be a shim that execs the interpreter: wait until each runs what it will run.
  for (const pid of [worker, entry]) await waitFor(() => /^python/.test(path.basename(readProcCmdline(pid)[0] ?? '')), `pid ${pid} to be python`);
  await waitFor(() => readProcCmdline(mentions[3]).includes('-c'), 'the python mention to run');
  const reapers = [...new Set([worker, entry, ...mentions].map((pid) => readProcStat(pid)!.ppid))].filter((p) => p !== 1);

  // Unscoped default rules list whatever matches on this machine: only our pids are asserted on,
  // and only ours are cleared.
  const found = detectOrphans({ table: scanProcSync(), checkpoints: [], markers: false, reapers });
  const listed = new Set(found.flatMap((o) => [o.pid, ...o.descendants.map((d) => d.pid)]));
  assert.ok(listed.has(worker), `python3 -m tui_gateway.slash_worker (${readProcCmdline(worker).join(' ')}) is listed`);
  assert.ok(listed.has(entry), 'python3 …/tui_gateway/entry.py is listed');
  for (const pid of mentions) assert.ok(!listed.has(pid), `${readProcCmdline(pid).join(' ')} only mentions it, yet is listed`);

  const ours = found.filter((o) => o.pid === worker || o.pid === entry);
  assert.deepEqual(ours.map((o) => o.reason), ['pattern-reparented', 'pattern-reparented']);
  const summary = await clearOrphans(ours, { graceMs: 200 });
  assert.equal(summary.killed, 2, JSON.stringify(summary.results));
  await waitForExit(worker);
  await waitForExit(entry);
  for (const pid of mentions) assert.ok(readProcStat(pid) !== undefined, `mention ${pid} alive`);
});
