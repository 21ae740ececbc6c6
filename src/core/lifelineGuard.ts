// The blocked-event-loop guard: a worker thread that watches the parent and owner fingerprints
// from outside the main event loop. If either dies and the main thread has not got the process
// out within a grace (its heartbeat has stopped), the thread SIGKILLs the process's group (when
// the process leads one) and then the process itself — a thread's process.kill is the process's.
//
// The source is inline (eval) so it works unchanged inside an esbuild bundle, and it is plain
// JavaScript reading /proc itself: it cannot import the bundle's modules. So procfs.ts's one
// /proc/PID/stat parser is put into it as text (parseProcStat uses nothing outside itself), and
// what a failed read proves comes as data (GONE_ERRNO_CODES): only "no such process", a zombie
// or another start time is a death; any other failure (EMFILE, …) is unknown and never acted on.
import { Fingerprint } from './fingerprint';
import { GONE_ERRNO_CODES, parseProcStat } from './procfs';

export const GUARD_SOURCE = String.raw`
const parseProcStat = ${parseProcStat.toString()};
const { workerData } = require('worker_threads');
const fs = require('fs');
const { parent, owner, ppid, pollMs, graceMs, maxMs, heartbeat, goneCodes } = workerData;
const beat = new Int32Array(heartbeat);
const linux = process.platform === 'linux';
const GONE = 'gone';
// A stat, GONE (proof: ENOENT/ESRCH and kill(pid, 0) agrees), or undefined (cannot tell).
function stat(pid) {
  let t;
  try {
    t = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
  } catch (e) {
    if (!goneCodes.includes(e.code)) return undefined;
    try { process.kill(pid, 0); return undefined; } catch (k) { return k.code === 'ESRCH' ? GONE : undefined; }
  }
  return parseProcStat(t);
}
// False only on proof of death; true while alive or when nobody can tell.
function alive(fp) {
  if (!fp) return true;
  if (linux) {
    const s = stat(fp.pid);
    if (s === GONE) return false;
    return !s || (s.state !== 'Z' && s.state !== 'X' && s.startTime === fp.startTime);
  }
  try { process.kill(fp.pid, 0); return true; } catch (e) { return !goneCodes.includes(e.code); }
}
function currentPpid() {
  if (linux) { const s = stat(process.pid); return s && s !== GONE ? s.ppid : ppid; }
  return process.ppid;
}
let lastBeat = Atomics.load(beat, 0);
let lastBeatAt = Date.now();
let deadAt = 0;
let why = '';
setInterval(() => {
  const now = Date.now();
  const b = Atomics.load(beat, 0);
  if (b !== lastBeat) { lastBeat = b; lastBeatAt = now; }
  if (!deadAt) {
    if (!alive(parent)) why = 'parent ' + parent.pid + ' is gone';
    else if (!alive(owner)) why = 'owner ' + owner.pid + ' is gone';
    else if (ppid > 0 && currentPpid() !== ppid) why = 'parent changed from ' + ppid;
    else return;
    deadAt = now;
  }
  const blocked = now - lastBeatAt >= graceMs;
  if (!((blocked && now - deadAt >= graceMs) || now - deadAt >= maxMs)) return;
  try {
    fs.writeSync(2, 'lifeline guard: ' + why + ' and the main thread did not exit (' +
      (blocked ? 'event loop blocked' : 'still running after ' + maxMs + ' ms') + '); killing pid ' + process.pid + '\n');
  } catch (e) { /* stderr gone */ }
  if (process.platform !== 'win32') {
    const self = linux ? stat(process.pid) : undefined;
    if (!linux || (self && self !== GONE && self.pgid === process.pid)) {
      try { process.kill(-process.pid, 'SIGKILL'); } catch (e) { /* not a group leader */ }
    }
  }
  process.kill(process.pid, 'SIGKILL');
}, pollMs);
`;

export interface BlockedLoopGuardOptions {
  parent?: Fingerprint;
  owner?: Fingerprint;
  /** The parent pid whose change proves the parent's death (lifeline.ts watchedPpid; 0: none). */
  ppid: number;
  pollMs: number;
  /** How long the main thread's heartbeat may be silent after a death before the kill. */
  graceMs: number;
  /** Kill anyway this long after a death, even if the main thread is responsive but slow. */
  maxMs: number;
}

export interface BlockedLoopGuard {
  stop(): void;
}

export function startBlockedLoopGuard(opts: BlockedLoopGuardOptions): BlockedLoopGuard {
  const heartbeat = new SharedArrayBuffer(4);
  const beat = new Int32Array(heartbeat);
  // Loaded here, not at the top: a process that never starts a guard (a worker the kernel kills
  // with its parent) does not pay for node's worker_threads module (~0.1 MB private).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  const worker = new Worker(GUARD_SOURCE, {
    eval: true,
    workerData: { ...opts, heartbeat, goneCodes: GONE_ERRNO_CODES },
    stdout: true,
    stderr: true,
    // A few MB is plenty for a thread that reads one small file per poll.
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
  });
  worker.unref();
  worker.on('error', (e) => process.stderr.write(`lifeline guard thread failed: ${e.message}\n`));
  // The main thread's heartbeat: it stops exactly when the event loop is blocked.
  const timer = setInterval(() => Atomics.add(beat, 0, 1), Math.max(10, Math.floor(opts.pollMs / 2)));
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      void worker.terminate();
    },
  };
}
