// The palette's and the tree's orphan scan (host side) on real processes: a forged record is
// logged as not corroborated and never offered for clearing, and a runaway pattern costs the
// extension host a bounded slice of time, not the host itself.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkpointFileName, writeCheckpointSync } from '../../src/core/checkpoint';
import { fingerprintOf, isSameProcess } from '../../src/core/fingerprint';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { createOrphanSource } from '../../src/host/orphanSource';
import { killTracked, spawnTracked, waitFor } from '../support/processes';
import { deadFingerprint, reparented } from '../process/orphansScene';
import { memoryLog } from './fakeGatewaySpec';

const linux = process.platform === 'linux';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-source-'));
after(() => {
  killTracked();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const withoutMarker = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env[OWNER_ENV];
  return env;
};

test('scan: a forged checkpoint record is logged as not corroborated and never offered; a runaway extra pattern is stopped and logged', { skip: !linux }, async () => {
  const checkpointDir = path.join(tmp, 'registry');
  const dead = await deadFingerprint();
  const innocent = spawnTracked('sleep', ['600'], { stdio: 'ignore', env: withoutMarker() });
  const fp = await waitFor(() => fingerprintOf(innocent.pid!), 'the innocent sleep');
  writeCheckpointSync(path.join(checkpointDir, checkpointFileName(dead)), {
    version: 1, owner: dead, writtenAt: Date.now(), records: [{ role: 'worker', fingerprint: fp, command: 'sleep 600', startedAt: Date.now() }],
  });
  // A long command line for the runaway pattern to chew on: re-parented, so the orphan scan
  // (which reads command lines only of processes that could be orphans) matches patterns on it.
  await reparented(`exec -a ${'a'.repeat(3000)} sleep 600`, { env: withoutMarker() });

  const log = memoryLog();
  const source = createOrphanSource({ checkpointDir, patterns: () => ['(a|aa)*#$'], graceMs: () => 100, log });
  const t0 = performance.now();
  const { items, incomplete, logged } = await source.scan();
  assert.equal(incomplete, undefined);
  const ms = performance.now() - t0;
  assert.ok(ms < 3000, `scan took ${Math.round(ms)} ms`);
  assert.ok(!items.some((i) => i.pid === fp.pid), 'the innocent sleep is not offered for clearing');
  const warned = log.lines.filter((l) => l.startsWith('warn orphans: '));
  assert.ok(warned.some((l) => l.includes(`pid ${fp.pid} (sleep 600) is listed by`) && /not corroborated: it carries no GATEWAY_WARDEN_OWNER marker/.test(l)), warned.join('\n'));
  assert.ok(warned.some((l) => /pattern \/\(a\|aa\)\*#\$\/ skipped: it did not finish within \d+ ms/.test(l)), warned.join('\n'));
  assert.equal(logged, warned.length, 'the scan counts what it logged, for the one asking');
  assert.ok(isSameProcess(fp));
});
