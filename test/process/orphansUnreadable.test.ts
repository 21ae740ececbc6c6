// An orphan scan that cannot read the process table in full (its fd table full: EMFILE) lists
// fewer orphans, never wrong ones — and says so, so that "none found" is not read as "none".
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { fdLimitUnsupported, fillFdTable } from '../support/fdLimit';
import { killTracked, readLineMatching, spawnNode, waitFor } from '../support/processes';

after(killTracked);

const FIND = JSON.stringify(path.join(__dirname, '../../src/core/orphansFind.js'));
const INCOMPLETE = /^the process table could not be read in full \(.+\): orphans among the processes not read are not listed$/;

// One scan per stdin line (its mode), answered with one JSON line: whether a descriptor could be
// opened right before it (false: the table is full) and the scan's problems.
const SCANNER = `
const fs = require('fs');
const { findOrphans } = require(${FIND});
let buf = '';
process.stdin.on('data', async (c) => {
  buf += c;
  for (let i; (i = buf.indexOf('\\n')) >= 0; ) {
    const scan = buf.slice(0, i);
    buf = buf.slice(i + 1);
    let full = false;
    try { fs.closeSync(fs.openSync('/dev/null', 'r')); } catch (e) { full = e.code === 'EMFILE'; }
    const r = await findOrphans({ checkpointDirs: [], owners: [], scan });
    process.stdout.write(JSON.stringify({ scan, full, problems: r.problems }) + '\\n');
  }
});
process.stdout.write('ready\\n');
`;

interface Answer { scan: string; full: boolean; problems: string[] }

test('with its fd table full, the cheap and the full orphan scan each say the table was not read in full; with descriptors free, neither does', { skip: fdLimitUnsupported() }, async (t) => {
  const child = spawnNode(SCANNER, { stdio: ['pipe', 'pipe', 'inherit'] });
  await readLineMatching(child.stdout!, (l) => (l === 'ready' ? l : undefined));
  const ask = async (scan: string): Promise<Answer> => {
    const answer = readLineMatching(child.stdout!, (l) => (l.startsWith('{') ? l : undefined));
    child.stdin!.write(`${scan}\n`);
    return JSON.parse(await answer) as Answer;
  };
  for (const scan of ['candidates', 'full']) {
    const free = await ask(scan);
    assert.equal(free.full, false);
    assert.deepEqual(free.problems.filter((p) => INCOMPLETE.test(p)), [], `${scan}: ${JSON.stringify(free.problems)}`);
  }
  const fds = fillFdTable(child.pid!);
  try {
    for (const scan of ['candidates', 'full']) {
      const r = await waitFor(async () => {
        fds.tighten();
        const a = await ask(scan);
        return a.full ? a : undefined;
      }, `a ${scan} scan with the fd table full`, 15_000, 50);
      assert.ok(r.problems.some((p) => INCOMPLETE.test(p)), `${scan}: ${JSON.stringify(r.problems)}`);
      t.diagnostic(`${scan} scan, fd table full: ${r.problems.find((p) => INCOMPLETE.test(p))}`);
    }
  } finally {
    fds.restore();
  }
});
