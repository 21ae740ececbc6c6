// A spare rule (another live window's process is never taken down with a tree) must see a marker
// it cannot read as "unknown", never as "none": read in a process whose descriptor table is full
// (EMFILE), the process is spared, not signalled.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { sparedWhy } from '../../../src/core/kill';
import { killTracked, readLineMatching, spawnTracked } from '../../support/processes';

after(killTracked);
const SOURCE_JS = path.resolve(__dirname, '..', '..', '..', 'src', 'core', 'kill', 'source.js');

test('a process whose owner marker cannot be read now is spared, with why', { skip: process.platform !== 'linux' ? 'Linux only (prlimit, /proc)' : undefined }, async () => {
  const sleeper = spawnTracked('sleep', ['1000'], { stdio: 'ignore' });
  const noOne = () => undefined;
  // Readable: no owner marker, and the rule spares nothing.
  assert.equal(sparedWhy(noOne, { pid: sleeper.pid!, ppid: process.pid }), undefined);
  // The same read from a process that has no descriptor left.
  const script = `
    const { sparedWhy } = require(${JSON.stringify(SOURCE_JS)});
    process.stdout.write('ready\\n');
    process.stdin.once('data', () => {
      const why = sparedWhy(() => undefined, { pid: ${sleeper.pid}, ppid: ${process.pid} });
      process.stdout.write(JSON.stringify({ why: why ?? null }) + '\\n');
      process.exit(0);
    });`;
  const reader = spawnTracked(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  await readLineMatching(reader.stdout!, (l) => (l === 'ready' ? true : undefined));
  const hard = execFileSync('prlimit', ['--pid', String(reader.pid), '--nofile', '--raw', '--noheadings', '--output=HARD'], { encoding: 'utf8' }).trim();
  execFileSync('prlimit', ['--pid', String(reader.pid), `--nofile=3:${hard}`]);
  reader.stdin!.write('go\n');
  const answer = await readLineMatching(reader.stdout!, (l) => (l.startsWith('{') ? (JSON.parse(l) as { why: string | null }) : undefined));
  assert.match(answer.why ?? '', /GATEWAY_WARDEN_OWNER cannot be read now \(.*EMFILE/);
});
