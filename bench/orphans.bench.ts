// Orphan detection cost with ~600 processes: the raw /proc scan (baseline), the scan detection
// needs (owner marker + memory), detection alone on that snapshot, and findOrphans end to end.
// Pads the process table with `sleep` children up to TARGET (half carry a dead owner's marker,
// a checkpoint of that dead owner records 100 of them, so every rule has real work to do), and
// kills every one of them at the end. Run: node scripts/compile-tests.mjs && node out/bench/orphans.bench.js
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkpointFileName, loadCheckpoints, writeCheckpointSync } from '../src/core/checkpoint';
import { Fingerprint, fingerprintOf, formatFingerprint } from '../src/core/fingerprint';
import { detectOrphans } from '../src/core/orphans';
import { findOrphans } from '../src/core/orphansFind';
import { OWNER_ENV } from '../src/core/ownerMarker';
import { scanProcSync } from '../src/core/processTable';

const TARGET = Number(process.env.BENCH_PROCESSES ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

async function deadOwner(): Promise<Fingerprint> {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const fp = fingerprintOf(c.pid!)!;
  await new Promise((r) => {
    c.on('exit', r);
    c.kill('SIGKILL');
  });
  return fp;
}

function stats(samples: number[]): { median: number; p95: number; min: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median: at(0.5), p95: at(0.95), min: s[0] };
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
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
    for (let i = 0; i < ROUNDS; i++) {
      raw.push(time(() => scanProcSync({ readOwner: false })));
      let table: ReturnType<typeof scanProcSync> = [];
      full.push(time(() => (table = scanProcSync({ readMemory: true }))));
      processes = table.length;
      detect.push(time(() => (orphans = detectOrphans({ table, checkpoints }).length)));
      const t = performance.now();
      await findOrphans({ checkpointDirs: [dir] });
      endToEnd.push(performance.now() - t);
    }
    const rows: [string, number[]][] = [
      ['raw /proc scan (baseline)', raw],
      ['scan + marker + memory', full],
      ['detectOrphans (snapshot)', detect],
      ['findOrphans end to end', endToEnd],
    ];
    console.log(`\norphan detection: ${processes} processes, ${orphans} orphans found, ${ROUNDS} rounds, ${os.cpus().length} cores`);
    console.log(`${'step'.padEnd(28)}${'median ms'.padStart(11)}${'p95 ms'.padStart(9)}${'min ms'.padStart(9)}`);
    for (const [name, s] of rows) {
      const { median, p95, min } = stats(s);
      console.log(`${name.padEnd(28)}${median.toFixed(2).padStart(11)}${p95.toFixed(2).padStart(9)}${min.toFixed(2).padStart(9)}`);
    }
  } finally {
    cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
