// The peers of the reap benchmark (bench/reap.bench.ts): process trees of the same shape as
// Gateway Warden's — host → gateway → N workers, each worker with one sleeping grandchild —
// guarded the other ways. Standalone on purpose (imports nothing of the project): a baseline
// must not borrow the design it is compared with.
//
//   node reapTree.js host    <mode> <workers>   (prints READY once the whole tree is up)
//   node reapTree.js gateway <mode> <workers>
//   node reapTree.js worker  <mode> <parentPid> <parentStartTime>
//
// Modes:
//   hermes         hermes-agent's merged slash-worker watchdog as each worker's only guard: every
//                  2 s (at a random phase) compare the live ppid and the parent's start time with
//                  the ones recorded at spawn; on a mismatch (idle worker: hermes' ≤ 5 s grace applies only while a
//                  command is in flight, so none) SIGTERM the worker's own group — itself and its
//                  grandchild — and exit. The gateway, like hermes' stdio gateway, exits when its
//                  stdin ends and leaves its workers to their watchdogs.
//   hermes-exit    hermes' slash_worker as it is upstream: its read loop also ends on stdin EOF,
//                  and both that and the watchdog leave by os._exit()/return, without touching the
//                  worker's children — the grandchild survives (counted, then killed).
//   pdeathsig      every gateway and worker exec'd through `setpriv --pdeathsig KILL`; the
//                  grandchild is a plain child, as a user's command would be (pdeathsig is not
//                  inherited across fork).
//   pdeathsig-all  the same, and the grandchild too (the kernel's best case).
//   floor          no guard at all: every process stays in the host's group, which the benchmark
//                  SIGKILLs at once.
//   floor-escapee  the same with two sleeping grandchildren per worker: the floor for trees whose
//                  workers also left a `setsid` escapee (same process count; here it stays in the
//                  group, so that one kill(-pgid) takes it too).
import { ChildProcess, spawn } from 'node:child_process';
import { readProcStat } from '../src/core/procfs';

export type TreeMode = 'hermes' | 'hermes-exit' | 'pdeathsig' | 'pdeathsig-all' | 'floor' | 'floor-escapee';

/** The watchdog period of hermes' slash_worker (HERMES_SLASH_WATCHDOG_POLL_S default). */
export const HERMES_POLL_MS = 2000;

const [role, mode, ...rest] = process.argv.slice(2) as [string, TreeMode, ...string[]];
const pdeath = mode === 'pdeathsig' || mode === 'pdeathsig-all';

function startTimeOf(pid: number): number | undefined {
  return readProcStat(pid)?.startTime;
}

/** Spawns `argv`, through `setpriv --pdeathsig KILL` when `deathSignal`. */
function start(argv: string[], deathSignal: boolean, detached: boolean, stdio: 'pipe' | 'ignore'): ChildProcess {
  const [cmd, ...args] = deathSignal ? ['setpriv', '--pdeathsig', 'KILL', ...argv] : argv;
  const child = spawn(cmd, args, { detached, stdio: stdio === 'pipe' ? ['pipe', 'pipe', 'inherit'] : 'ignore' });
  child.on('error', (e) => process.stderr.write(`reapTree ${role}: cannot start ${cmd}: ${e.message}\n`));
  return child;
}

function onLines(child: ChildProcess, fn: (line: string) => void): void {
  let buf = '';
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      fn(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

function host(workers: number): void {
  // Like the extension: the gateway leads its own group, stdio pipes to the host.
  const gw = start([process.execPath, __filename, 'gateway', mode, String(workers)], pdeath, !mode.startsWith('floor'), 'pipe');
  gw.stdout!.pipe(process.stdout);
  gw.stdin!.on('error', () => undefined);
}

function gateway(workers: number): void {
  let ready = 0;
  const me = String(startTimeOf(process.pid));
  for (let i = 0; i < workers; i++) {
    const w = start([process.execPath, __filename, 'worker', mode, String(process.pid), me], pdeath, !mode.startsWith('floor'), 'pipe');
    w.stdin!.on('error', () => undefined);
    onLines(w, (line) => {
      if (line === 'ready' && ++ready === workers) process.stdout.write('READY\n');
    });
  }
  process.stdout.on('error', () => undefined);
  process.stdin.on('error', () => undefined);
  if (mode.startsWith('hermes')) process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

function worker(parentPid: number, parentStart: number): void {
  const kid = start(['sleep', '600'], mode === 'pdeathsig-all', false, 'ignore');
  kid.unref();
  if (mode === 'floor-escapee') start(['sleep', '600'], false, false, 'ignore').unref();
  process.stdout.on('error', () => undefined);
  process.stdin.on('error', () => undefined);
  // EOF is a guard only in hermes-exit mode: in hermes mode the watchdog is the only one.
  if (mode === 'hermes-exit') process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  setInterval(() => undefined, 1 << 30);
  if (mode.startsWith('hermes')) {
    const check = () => {
      if (process.ppid === parentPid && startTimeOf(parentPid) === parentStart) return;
      if (mode === 'hermes-exit') process.exit(0); // os._exit(0): the children stay
      try {
        process.kill(-process.pid, 'SIGTERM'); // the worker leads its group: itself and its child
      } finally {
        process.exit(0);
      }
    };
    // A random phase: real workers start at random moments relative to their parent's death; the
    // benchmark's kill comes a fixed time after the tree is up, which would fix the phase.
    setTimeout(() => {
      check();
      setInterval(check, HERMES_POLL_MS);
    }, Math.random() * HERMES_POLL_MS);
  }
  process.stdout.write('ready\n');
}

if (require.main === module) {
  if (role === 'host') host(Number(rest[0]));
  else if (role === 'gateway') gateway(Number(rest[0]));
  else if (role === 'worker') worker(Number(rest[0]), Number(rest[1]));
  else {
    process.stderr.write('usage: reapTree.js host|gateway|worker <mode> ...\n');
    process.exit(2);
  }
}
