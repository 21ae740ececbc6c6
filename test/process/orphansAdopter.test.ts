// The re-parenting rule lists a pattern process adopted by PID 1 or a subreaper — unless that
// adopter is itself a gateway matching the pattern (a container whose PID 1 is the gateway: its
// workers are its direct children, ppid 1, and their gateway is alive). Detection only; nothing
// is signalled here.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { detectOrphans } from '../../src/core/orphans';
import { readProcStat } from '../../src/core/procfs';
import { scanProcSync } from '../../src/core/processTable';
import { killTracked, testMarker } from '../support/processes';
import { doubleForked } from './orphansScene';

after(killTracked);

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('a pattern process whose adopter (PID 1 or a subreaper) matches the pattern too is not an orphan', { skip: process.platform !== 'linux' }, async (t) => {
  const tag = testMarker('adopter');
  const pid = await doubleForked(`${tag}-worker`);
  const adopter = readProcStat(pid)!.ppid;
  const reapers = adopter === 1 ? [] : [adopter];
  const adopterCmd = scanProcSync().find((p) => p.pid === adopter)?.cmdline;
  assert.ok(adopterCmd !== undefined && adopterCmd !== '', `the adopter's (pid ${adopter}) command line is readable`);
  t.diagnostic(`adopted by pid ${adopter}: ${adopterCmd}`);
  const detect = (pattern: RegExp) =>
    detectOrphans({ table: scanProcSync(), checkpoints: [], patterns: [pattern], reapers, markers: false }).map((o) => o.pid);

  // Control: the adopter does not match → the process is a re-parented orphan.
  assert.ok(detect(new RegExp(`${tag}-worker`)).includes(pid), 'listed while its adopter is a plain init/subreaper');
  // The adopter is a live gateway by the same patterns → its child is not an orphan.
  assert.ok(!detect(new RegExp(`${tag}-worker|^${escape(adopterCmd)}$`)).includes(pid), 'not listed: its adopter is a live gateway');
});
