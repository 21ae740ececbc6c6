// armLifeline with real processes: test → middle → child. The middle process holds the child's
// stdin pipe and is SIGKILLed; the child's stdout is inherited from the middle, so the test
// still hears the child after the middle is gone.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ChildProcess } from 'node:child_process';
import { fdLimitUnsupported, fillFdTable } from '../support/fdLimit';
import { isAlive, killTracked, readLineMatching, spawnNode, track, waitFor, waitForExit } from '../support/processes';

after(killTracked);

const LIFELINE = JSON.stringify(path.join(__dirname, '../../src/core/lifeline.js'));
const FINGERPRINT = JSON.stringify(path.join(__dirname, '../../src/core/fingerprint.js'));

/** Child source: arms the lifeline with the given options, then runs `then`. */
function childSource(options: string, then = 'setInterval(() => undefined, 1000);'): string {
  return `
const { armLifeline } = require(${LIFELINE});
const { fingerprintOf, formatFingerprint, parseFingerprint } = require(${FINGERPRINT});
const parent = parseFingerprint(process.env.TEST_PARENT_FP);
let calls = 0;
armLifeline({ parent, ${options}, onDeath(reason) {
  calls++;
  process.stdout.write('died ' + calls + ' ' + Date.now() + ' ' + reason + '\\n');
  setTimeout(() => process.exit(0), 600);
} });
process.stdout.write('armed ' + process.pid + '\\n');
${then}
`;
}

/**
 * Middle source: spawns the child with a stdin pipe (and optionally a holder of that pipe). The
 * child's recorded parent is the middle, or with `parentIsTest` the test process (the middle is
 * then a wrapper in between).
 */
function middleSource(child: string, holdPipe: boolean, parentIsTest = false): string {
  return `
const { spawn } = require('child_process');
const { fingerprintOf, formatFingerprint } = require(${FINGERPRINT});
const env = { ...process.env, TEST_PARENT_FP: formatFingerprint(fingerprintOf(${parentIsTest ? 'process.ppid' : 'process.pid'})) };
const c = spawn(process.execPath, ['-e', ${JSON.stringify(child)}], { stdio: ['pipe', 'inherit', 'inherit'], env });
process.stdout.write('child ' + c.pid + '\\n');
if (${holdPipe}) {
  // A long-lived process that inherits the write end of the child's stdin pipe as fd 3.
  const h = spawn('sleep', ['60'], { stdio: ['ignore', 'ignore', 'ignore', c.stdin] });
  process.stdout.write('holder ' + h.pid + '\\n');
}
setInterval(() => undefined, 1000);
`;
}

interface Started {
  middle: ChildProcess;
  child: number;
  lines: string[];
}

async function start(child: string, holdPipe = false, parentIsTest = false): Promise<Started> {
  const middle = spawnNode(middleSource(child, holdPipe, parentIsTest));
  const lines: string[] = [];
  let buf = '';
  middle.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  const childPid = Number((await waitFor(() => lines.find((l) => l.startsWith('child ')), 'child pid')).split(' ')[1]);
  track(childPid);
  if (holdPipe) track(Number((await waitFor(() => lines.find((l) => l.startsWith('holder ')), 'holder pid')).split(' ')[1]));
  await waitFor(() => lines.some((l) => l.startsWith('armed ')), 'child armed');
  return { middle, child: childPid, lines };
}

function deaths(lines: string[]): { at: number; reason: string }[] {
  return lines
    .filter((l) => l.startsWith('died '))
    .map((l) => {
      const [, , at, ...reason] = l.split(' ');
      return { at: Number(at), reason: reason.join(' ') };
    });
}

test('fires on stdin EOF soon after the parent is SIGKILLed, exactly once', async (t) => {
  const s = await start(childSource('stdin: true, pollMs: 200'));
  const killedAt = Date.now();
  s.middle.kill('SIGKILL');
  await waitForExit(s.child, 10_000);
  const d = deaths(s.lines);
  assert.equal(d.length, 1, `onDeath called once: ${JSON.stringify(d)}`);
  assert.match(d[0].reason, /stdin|parent/);
  const latency = d[0].at - killedAt;
  t.diagnostic(`SIGKILL → onDeath: ${latency} ms (${d[0].reason})`);
  assert.ok(latency < 5000, `latency ${latency} ms`);
});

test('fires via the fingerprint poll when the pipe is held open by an inherited descriptor', async (t) => {
  const s = await start(childSource('stdin: true, pollMs: 200'), true);
  const killedAt = Date.now();
  s.middle.kill('SIGKILL');
  await waitForExit(s.child, 10_000);
  const d = deaths(s.lines);
  assert.equal(d.length, 1);
  assert.doesNotMatch(d[0].reason, /stdin/, 'the pipe is still open, so the poll must be what noticed');
  assert.match(d[0].reason, /parent/);
  t.diagnostic(`SIGKILL → onDeath via poll: ${d[0].at - killedAt} ms (${d[0].reason})`);
  assert.ok(d[0].at - killedAt < 5000);
});

test('a child whose event loop is blocked is killed by the guard thread after its parent dies', async (t) => {
  const s = await start(childSource('stdin: true, pollMs: 200, blockedLoopGuard: true', 'setTimeout(() => { process.stdout.write("busy\\n"); for (;;) { /* busy */ } }, 50);'));
  await waitFor(() => s.lines.includes('busy'), 'child busy');
  const killedAt = Date.now();
  s.middle.kill('SIGKILL');
  await waitForExit(s.child, 10_000);
  t.diagnostic(`SIGKILL → blocked child gone: ${Date.now() - killedAt} ms`);
  assert.equal(deaths(s.lines).length, 0, 'the main thread never ran onDeath: the guard did the kill');
});

test('fires when started after its recorded parent already died (start-up race)', async () => {
  // The child is told a parent fingerprint that is not its parent: armLifeline must notice at once.
  const child = spawnNode(`
const { armLifeline } = require(${LIFELINE});
armLifeline({ parent: { pid: 999999999, startTime: 1, bootId: 'x' }, pollMs: 60000, onDeath(r) {
  process.stdout.write('died ' + r + '\\n'); process.exit(0);
} });
setInterval(() => undefined, 1000);
`);
  const line = await readLineMatching(child.stdout!, (l) => (l.startsWith('died ') ? l : undefined), 10_000);
  assert.match(line, /parent 999999999/);
});

test('disarm stops every watch: the child outlives its parent', async () => {
  // After disarming, the child reports each 100 ms tick (5 poll periods are observed below).
  const src = childSource('stdin: true, pollMs: 100', 'l.disarm(); process.stdout.write("disarmed\\n"); let n = 0; setInterval(() => process.stdout.write("tick " + n++ + " " + process.ppid + "\\n"), 100);')
    .replace('armLifeline({', 'const l = armLifeline({');
  const s = await start(src);
  await waitFor(() => s.lines.includes('disarmed'), 'disarmed');
  s.middle.kill('SIGKILL');
  await waitForExit(s.middle.pid!);
  const orphanTicks = () => s.lines.filter((l) => l.startsWith('tick ') && !l.endsWith(` ${s.middle.pid}`)).length;
  await waitFor(() => orphanTicks() >= 5, '5 ticks after the parent died');
  assert.ok(isAlive(s.child));
  assert.equal(deaths(s.lines).length, 0);
});

test('a wrapper that exits is not the parent\'s death: re-parented while its recorded parent lives, neither the lifeline nor the guard thread ends the child', async () => {
  // test → middle (a wrapper, SIGKILLed) → child, whose recorded parent is the test process. The
  // guard kills even a responsive child guardMaxMs after a death it sees (200 ms here); the
  // child must outlive ten times that, ticking.
  const src = childSource('pollMs: 50, blockedLoopGuard: true, guardMaxMs: 200', 'let n = 0; setInterval(() => process.stdout.write("tick " + n++ + " " + process.ppid + "\\n"), 100);');
  const s = await start(src, false, true);
  s.middle.kill('SIGKILL');
  await waitForExit(s.middle.pid!);
  const orphanTicks = () => s.lines.filter((l) => l.startsWith('tick ') && !l.endsWith(` ${s.middle.pid}`)).length;
  await waitFor(() => orphanTicks() >= 20 || !isAlive(s.child), '20 ticks after the wrapper died, or the child\'s death');
  assert.ok(isAlive(s.child), 'the child was killed after its wrapper exited');
  assert.equal(orphanTicks() >= 20, true);
  assert.equal(deaths(s.lines).length, 0);
});

test('the guard thread does not keep the process alive', async () => {
  const child = spawnNode(`
const { armLifeline } = require(${LIFELINE});
armLifeline({ pollMs: 100, blockedLoopGuard: true, onDeath() { process.stdout.write('died\\n'); } });
process.stdout.write('armed\\n');
`);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0, 'exited on its own with nothing left to do');
});

test('fires on IPC disconnect', async () => {
  const child = spawnNode(`
const { armLifeline } = require(${LIFELINE});
armLifeline({ pollMs: 60000, onDeath(r) { process.stdout.write('died ' + r + '\\n'); process.exit(0); } });
process.send('armed');
setInterval(() => undefined, 1000);
`, { stdio: ['pipe', 'pipe', 'pipe', 'ipc'] });
  await new Promise((r) => child.once('message', r));
  const line = readLineMatching(child.stdout!, (l) => (l.startsWith('died ') ? l : undefined));
  child.disconnect();
  assert.match(await line, /IPC channel disconnected/);
});

// ---- Death needs proof: a poll that cannot read /proc (EMFILE) is "unknown", never a death ----

const fdSkip = fdLimitUnsupported();
const LOG_TO_STDOUT = 'log(m) { process.stdout.write("log " + m + "\\n"); }';

test('with its fd table full, the lifeline logs "cannot tell" once, never fires, logs the end of the episode, and still fires on a real death afterwards', { skip: fdSkip }, async (t) => {
  // The pipe is held open elsewhere, so only the poll can notice the parent's death.
  const s = await start(childSource(`stdin: true, pollMs: 50, ${LOG_TO_STDOUT}`), true);
  const full = fillFdTable(s.child);
  try {
    const first = await waitFor(() => (full.tighten(), s.lines.find((l) => l.startsWith('log cannot tell whether parent'))), 'the "cannot tell" line', 15_000, 50);
    assert.match(first, /EMFILE/);
    // Exposure, not synchronisation: 40 poll periods with the table full. What happened in
    // them is checked from the episode's end line below (how many polls could not tell).
    await new Promise((r) => setTimeout(r, 2000));
    assert.ok(isAlive(s.child), 'the child is alive');
    assert.equal(deaths(s.lines).length, 0, 'onDeath was never called');
    assert.equal(s.lines.filter((l) => l.startsWith('log cannot tell')).length, 1, 'logged once per episode, not once per poll');
  } finally {
    full.restore();
  }
  const end = await waitFor(() => s.lines.find((l) => l.startsWith('log parent and owner readable again')), 'the end-of-episode line');
  const polls = Number(/\((\d+) poll\(s\) could not tell\)/.exec(end)?.[1]);
  t.diagnostic(`fd table of ${full.openFds} held at ${full.limit}: ${end}`);
  assert.ok(polls >= 10, `many polls could not tell and none fired (${polls})`);
  assert.equal(deaths(s.lines).length, 0);

  s.middle.kill('SIGKILL');
  await waitForExit(s.child, 10_000);
  const d = deaths(s.lines);
  assert.equal(d.length, 1);
  assert.match(d[0].reason, /parent/);
  assert.doesNotMatch(d[0].reason, /stdin/, 'the poll noticed (the pipe is held open)');
});

test('a real death is still proof while the fd table is full: re-parenting needs no descriptor', { skip: fdSkip }, async () => {
  const s = await start(childSource(`stdin: true, pollMs: 50, ${LOG_TO_STDOUT}`), true);
  const full = fillFdTable(s.child);
  try {
    await waitFor(() => (full.tighten(), s.lines.find((l) => l.startsWith('log cannot tell whether parent'))), 'the "cannot tell" line', 15_000, 50);
    s.middle.kill('SIGKILL');
    await waitForExit(s.child, 10_000);
  } finally {
    full.restore();
  }
  const d = deaths(s.lines);
  assert.equal(d.length, 1);
  assert.match(d[0].reason, /re-parented/);
});

test('the guard thread of a blocked child does not kill it while its fd table is full, and does once the parent really dies', { skip: fdSkip }, async (t) => {
  // pollMs 50 → guard grace 100 ms: before "unknown" existed, a failed read killed the blocked
  // child within ~150 ms.
  const s = await start(childSource('stdin: true, pollMs: 50, blockedLoopGuard: true', 'setTimeout(() => { process.stdout.write("busy\\n"); for (;;) { /* busy */ } }, 50);'), true);
  await waitFor(() => s.lines.includes('busy'), 'child busy');
  const full = fillFdTable(s.child);
  try {
    // Exposure: 30 guard polls, 15 graces. The guard is silent on "unknown" (its main thread is
    // blocked and cannot log either), so survival is the observable.
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(isAlive(s.child), 'the guard did not kill a child whose parent is alive');
  } finally {
    full.restore();
  }
  const killedAt = Date.now();
  s.middle.kill('SIGKILL');
  await waitForExit(s.child, 10_000);
  t.diagnostic(`parent SIGKILL → blocked child gone: ${Date.now() - killedAt} ms`);
  assert.equal(deaths(s.lines).length, 0, 'the guard did the kill (the main thread is blocked)');
});
