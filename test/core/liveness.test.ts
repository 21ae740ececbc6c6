// Death needs proof, with real errors: a child process whose descriptor table is full (EMFILE)
// runs the readers, the lifeline's verdict, every kill path and the orphan rules against live
// processes — and must call them "unknown", refuse to signal, and make no orphans; the same
// calls once its limit is back see them alive, signal, and find the real orphan.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { classifyProcError, readProcStatChecked } from '../../src/core/procfs';
import { fingerprintOf, formatFingerprint, livenessOf, readFingerprint } from '../../src/core/fingerprint';
import { fdLimitUnsupported, fillFdTable } from '../support/fdLimit';
import { isAlive, killTracked, spawnNode, spawnTracked, waitFor, waitForExit } from '../support/processes';

after(killTracked);

const unsupported = fdLimitUnsupported();
const mod = (name: string) => JSON.stringify(path.join(__dirname, `../../src/core/${name}.js`));

/** A pid that has just exited and been reaped (and, checked at use, not reused since). */
async function exitedPid(): Promise<number> {
  const c = spawnTracked('true', []);
  await new Promise((r) => c.once('exit', r));
  await waitForExit(c.pid!);
  return c.pid!;
}

// Everything is required and warmed up before the test fills the table: after that, the child
// can open nothing (require() included); its stdin and stdout pipes stay usable.
const LOOKER = `
const { readProcStatChecked } = require(${mod('procfs')});
const { readFingerprint, livenessOf, fingerprintOf, parseFingerprint } = require(${mod('fingerprint')});
const { lifelineVerdict } = require(${mod('lifeline')});
const { teardown, teardownSync, processGroup, processTree } = require(${mod('kill/index')});
const { refusal } = require(${mod('kill/safety')});
const { detectOrphans } = require(${mod('orphans')});
const { clockTicksPerSecond } = require(${mod('procfs')});
clockTicksPerSecond();
const parent = fingerprintOf(process.ppid);
const victim = parseFingerprint(process.env.VICTIM_FP);
const ownedByParent = parseFingerprint(process.env.OWNED_BY_PARENT_FP);
const ownedByDead = parseFingerprint(process.env.OWNED_BY_DEAD_FP);
const deadOwner = process.env.DEAD_OWNER_FP;
const deadPid = Number(process.env.DEAD_PID);
// The table an orphan scan would have built when the owner's own /proc read failed: the owned
// processes are in it (with their markers), the owner is not.
const row = (fp, owner) => ({ pid: fp.pid, ppid: 1, uid: process.getuid(), startTime: fp.startTime, state: 'S', name: 'sleep', cmdline: 'sleep 600', owner });
const table = [row(ownedByParent, process.env.PARENT_FP), row(ownedByDead, deadOwner)];
// Reads first, then the kill paths (once they can see, the first of them ends the victim).
async function look() {
  const r = {
    stat: readProcStatChecked(process.ppid),
    parent: readFingerprint(process.ppid),
    parentLiveness: livenessOf(parent),
    dead: readFingerprint(deadPid),
    verdict: await lifelineVerdict(parent, victim, process.ppid),
    orphans: detectOrphans({ table, markers: true, patterns: [], checkpoints: [] }).map((o) => o.pid),
    check: refusal({ kind: 'process', fp: victim }, { protectedPids: new Set(), uid: process.getuid() }) ?? null,
    group: teardownSync([processGroup(victim.pid, victim)], { graceMs: 0, timeoutMs: 200 }),
  };
  const tree = await teardown([processTree(victim)], { graceMs: 0, timeoutMs: 200 });
  return { ...r, tree: { outcome: tree.processes[0].outcome, reason: tree.processes[0].reason ?? null, signals: tree.signals.length } };
}
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  while (buf.includes('\\n')) {
    buf = buf.slice(buf.indexOf('\\n') + 1);
    look().then((r) => process.stdout.write(JSON.stringify(r) + '\\n'), (e) => process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + '\\n'));
  }
});
process.stdout.write('ready\\n');
`;

interface Look {
  stat: { state: string; why?: string };
  parent: { state: string; why?: string };
  parentLiveness: { state: string; why: string };
  dead: { state: string };
  verdict: { state: string; reason: string };
  check: { reason: string; message: string } | null;
  group: { refusals: { reason: string; message: string }[]; signals: unknown[]; survivors: number[]; elapsedMs: number };
  tree: { outcome: string; reason: string | null; signals: number };
  orphans: number[];
  error?: string;
}

test('with its fd table full, a process calls live and dead processes "unknown", its kill paths refuse and no owner becomes dead; with fds back, they see, signal and find the real orphan', { skip: unsupported }, async (t) => {
  // The victim leads its own group, so the group paths have a group to (refuse to) signal.
  const victim = spawnTracked('sleep', ['600'], { detached: true, stdio: 'ignore' });
  const victimFp = fingerprintOf(victim.pid!)!;
  const deadOwnerPid = await exitedPid();
  const deadOwner = formatFingerprint({ pid: deadOwnerPid, startTime: 1, bootId: victimFp.bootId });
  const ownedByParent = spawnTracked('sleep', ['600'], { stdio: 'ignore', env: { PATH: process.env.PATH, GATEWAY_WARDEN_OWNER: formatFingerprint(fingerprintOf(process.pid)!) } });
  const ownedByDead = spawnTracked('sleep', ['600'], { stdio: 'ignore', env: { PATH: process.env.PATH, GATEWAY_WARDEN_OWNER: deadOwner } });
  const deadPid = await exitedPid();
  const child = spawnNode(LOOKER, {
    env: {
      ...process.env,
      VICTIM_FP: formatFingerprint(victimFp),
      PARENT_FP: formatFingerprint(fingerprintOf(process.pid)!),
      OWNED_BY_PARENT_FP: formatFingerprint(fingerprintOf(ownedByParent.pid!)!),
      OWNED_BY_DEAD_FP: formatFingerprint(fingerprintOf(ownedByDead.pid!)!),
      DEAD_OWNER_FP: deadOwner,
      DEAD_PID: String(deadPid),
    },
  });
  const lines: string[] = [];
  let buf = '';
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    for (let nl; (nl = buf.indexOf('\n')) >= 0; buf = buf.slice(nl + 1)) lines.push(buf.slice(0, nl));
  });
  await waitFor(() => lines.includes('ready'), 'the looker to be ready', 15_000);
  const ask = async (): Promise<Look> => {
    const n = lines.length;
    child.stdin!.write('look\n');
    const line = await waitFor(() => lines.slice(n).find((l) => l.startsWith('{')), 'the looker to answer', 15_000);
    const r = JSON.parse(line) as Look;
    if (r.error) assert.fail(`the looker threw: ${r.error}`);
    return r;
  };

  const full = fillFdTable(child.pid!);
  let underEmfile: Look;
  try {
    underEmfile = await ask();
  } finally {
    full.restore();
  }
  t.diagnostic(`fd table of ${full.openFds} held at limit ${full.limit}: ${JSON.stringify(underEmfile)}`);
  assert.equal(underEmfile.stat.state, 'unknown');
  assert.match(underEmfile.stat.why!, /EMFILE/);
  assert.equal(underEmfile.parent.state, 'unknown', 'a live parent is unknown, not dead');
  assert.equal(underEmfile.parentLiveness.state, 'unknown');
  assert.equal(underEmfile.dead.state, 'unknown', 'even a dead pid cannot be told apart now: unknown, not dead');
  assert.equal(underEmfile.verdict.state, 'unknown', 'the lifeline sees no death');
  assert.equal(underEmfile.check?.reason, 'unknown', 'the safety check refuses what it cannot read');
  const g = underEmfile.group;
  assert.deepEqual(g.signals, [], 'nothing sent to the group');
  assert.equal(g.refusals[0]?.reason, 'unknown');
  assert.match(g.refusals[0].message, /cannot tell whether pid \d+ is still its recorded leader/);
  // The hard bound: it kept looking until the bound (it might have become readable), then stopped.
  assert.ok(g.elapsedMs >= 200 && g.elapsedMs < 3000, `gave up at the hard bound: ${g.elapsedMs} ms`);
  assert.equal(underEmfile.tree.outcome, 'refused');
  assert.equal(underEmfile.tree.reason, 'unknown');
  assert.equal(underEmfile.tree.signals, 0);
  assert.deepEqual(underEmfile.orphans, [], 'an owner whose liveness is unknown makes no orphans (neither does a dead one nobody can see)');
  assert.ok(isAlive(victim.pid!) && livenessOf(victimFp).state === 'alive', 'the victim was not signalled');

  const restored = await ask();
  assert.equal(restored.stat.state, 'found');
  assert.equal(restored.parent.state, 'alive');
  assert.equal(restored.parentLiveness.state, 'alive');
  if (!isAlive(deadPid)) assert.equal(restored.dead.state, 'dead', 'an exited pid is dead (ENOENT, and kill(pid, 0) agrees)');
  assert.equal(restored.verdict.state, 'alive');
  assert.deepEqual(restored.orphans, [ownedByDead.pid], 'the owner that is really dead makes its process an orphan; the live one does not');
  assert.equal(restored.check, null, 'the same check passes once it can see');
  assert.deepEqual(restored.group.refusals, []);
  assert.ok(restored.group.signals.length > 0, 'and the same teardown signals the group');
  await waitForExit(victim.pid!);
});

test('classifyProcError: real ENOENT/ESRCH prove a process gone; EACCES, and ENOENT for a pid the kernel still has, do not', { skip: process.platform !== 'linux' && 'Linux /proc only' }, async () => {
  // ESRCH: /proc/PID/stat opened while the process lived, read after it was reaped.
  const c = spawnTracked('sleep', ['600'], { stdio: 'ignore' });
  const fd = fs.openSync(`/proc/${c.pid}/stat`, 'r');
  c.kill('SIGKILL');
  await new Promise((r) => c.once('exit', r));
  await waitForExit(c.pid!);
  let esrch: unknown;
  try {
    fs.readSync(fd, Buffer.alloc(512), 0, 512, 0);
  } catch (e) {
    esrch = e;
  } finally {
    fs.closeSync(fd);
  }
  assert.equal((esrch as NodeJS.ErrnoException)?.code, 'ESRCH');
  assert.deepEqual(classifyProcError(c.pid!, esrch), { state: 'gone' });
  if (!isAlive(c.pid!)) {
    assert.deepEqual(readProcStatChecked(c.pid!), { state: 'gone' });
    assert.equal(readFingerprint(c.pid!).state, 'dead');
  }

  // ENOENT under /proc/PID of a process that exists: /proc is not the whole truth, so unknown.
  let enoent: unknown;
  try {
    fs.readFileSync(`/proc/${process.pid}/no-such-entry`);
  } catch (e) {
    enoent = e;
  }
  assert.equal((enoent as NodeJS.ErrnoException).code, 'ENOENT');
  assert.equal(classifyProcError(process.pid, enoent).state, 'unknown');

  // EACCES: another user's environment (as root, read by a child running as nobody). The child
  // loads nothing of ours (the checkout may be unreadable to nobody, e.g. under a 0700 mktemp
  // directory); it reports the kernel's error as it got it, and it is classified here.
  const probe = `try { require('fs').readFileSync('/proc/1/environ'); console.log(JSON.stringify({ read: true })); } catch (e) {
    console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message }));
  }`;
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', cwd: '/', ...asNobody });
  const out = JSON.parse(r.stdout.trim() || '{}') as { read?: boolean; code?: string; errno?: number; syscall?: string; path?: string; message?: string };
  if (out.read) return; // pid 1 is ours and readable here (a container whose init runs as us)
  assert.equal(out.code, 'EACCES', r.stderr);
  const eacces = Object.assign(new Error(out.message), { code: out.code, errno: out.errno, syscall: out.syscall, path: out.path });
  assert.equal(classifyProcError(1, eacces).state, 'unknown');
});

test('a live process is alive, a reused pid (another start time) is dead: both are proof', { skip: process.platform !== 'linux' && 'Linux /proc only' }, () => {
  const me = fingerprintOf(process.pid)!;
  assert.equal(livenessOf(me).state, 'alive');
  const other = livenessOf({ ...me, startTime: me.startTime - 1 });
  assert.equal(other.state, 'dead');
  assert.match(other.why, /another process/);
  assert.equal(livenessOf({ ...me, bootId: 'another-boot' }).state, 'dead');
});
