// Orphan detection cost with ~600 processes: the raw /proc scan (baseline), the scan detection
// needs (owner marker + memory), detection alone on that snapshot, and findOrphans end to end.
// Pads the process table with `sleep` children up to TARGET (half carry a dead owner's marker,
// a checkpoint of that dead owner records 100 of them, so every rule has real work to do), and
// kills every one of them at the end. Run: node scripts/compile-tests.mjs && node out/bench/orphans.bench.js
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointFileName, loadCheckpoints, writeCheckpointSync } from '../src/core/checkpoint';
import { Fingerprint, fingerprintOf, formatFingerprint } from '../src/core/fingerprint';
import { detectOrphans } from '../src/core/orphans';
import { findOrphans } from '../src/core/orphansFind';
import { OWNER_ENV } from '../src/core/ownerMarker';
import { scanProcSync } from '../src/core/processTable';
import { ms, stats, table, time } from './support';

const TARGET = Number(process.env.BENCH_PROCESSES ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.on('exit', cleanup);

async function deadOwner(): Promise<Fingerprint> {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const fp = fingerprintOf(c.pid!)!;
  await new Promise((r) => {
    c.on('exit', r);
    c.kill('SIGKILL');
  });
  return fp;
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('orphans.bench: Linux only (/proc); skipped');
    return;
  }
  const dead = await deadOwner();
  const env = { ...process.env, [OWNER_ENV]: formatFingerprint(dead) };
  const have = scanProcSync({ readOwner: false }).length;
  const pad = Math.max(0, TARGET - have);
  for (let i = 0; i < pad; i++) {
    children.push(spawn('sleep', ['300'], { stdio: 'ignore', env: i % 2 ? env : process.env }));
  }
  await new Promise((r) => setTimeout(r, 200)); // let the padding exec
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
  try {
    const records = children.slice(0, 100).map((c) => ({
      role: 'worker' as const, fingerprint: fingerprintOf(c.pid!) ?? { pid: c.pid!, startTime: 0, bootId: 'x' },
      command: 'sleep 300', startedAt: Date.now(),
    }));
    writeCheckpointSync(path.join(dir, checkpointFileName(dead)), { version: 1, owner: dead, writtenAt: Date.now(), records });
    const checkpoints = loadCheckpoints(dir).checkpoints;

    const raw: number[] = [];
    const full: number[] = [];
    const detect: number[] = [];
    const endToEnd: number[] = [];
    let processes = 0;
    let orphans = 0;
    await findOrphans({ checkpointDirs: [dir] }); // warm-up (module loading, page cache)
    for (let i = 0; i < ROUNDS; i++) {
      raw.push((await time(() => scanProcSync({ readOwner: false }))).ms);
      const scan = await time(() => scanProcSync({ readMemory: true }));
      full.push(scan.ms);
      processes = scan.value.length;
      const d = await time(() => detectOrphans({ table: scan.value, checkpoints }));
      detect.push(d.ms);
      orphans = d.value.length;
      endToEnd.push((await time(() => findOrphans({ checkpointDirs: [dir] }))).ms);
    }
    const rows = ([
      ['scanProcSync({ readOwner: false }) (baseline)', raw],
      ['scanProcSync({ readMemory: true }) (detection input)', full],
      ['detectOrphans(snapshot, checkpoints)', detect],
      ['findOrphans() (scan + load + detect)', endToEnd],
    ] as const).map(([name, samples]) => {
      const st = stats([...samples]);
      return [name, ms(st.median), ms(st.p90), ms(st.min)];
    });
    table(
      `orphan detection, ${ROUNDS} runs each, ${processes} processes (${pad} padding sleepers, half with a dead owner's marker), ${orphans} orphans found`,
      ['step', 'median ms', 'p90 ms', 'min ms'],
      rows,
    );
  } finally {
    cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
