// /run when the worker cannot open a descriptor (EMFILE): node's spawn then has no pipes and
// reports the failure on the next tick; the command answers "failed to start", and the worker
// (and the session's other work) goes on.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { cleanupCgroupTrees } from '../support/cgroups';
import { createSession, exec, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { isAlive, killTracked, track } from '../support/processes';

after(() => {
  cleanupCgroupTrees();
  killTracked();
});

/** The soft and hard open-files limits of a process ("Max open files" in /proc/PID/limits). */
function nofile(pid: number): [string, string] {
  const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/);
  return [soft, hard];
}

test('/run in a worker out of descriptors answers "failed to start" (EMFILE) and the worker goes on answering', { skip: process.platform !== 'linux' ? 'Linux only (prlimit, /proc)' : undefined }, async () => {
  const g = await startHostedGateway({ args: ['--poll-ms', '200'] });
  try {
    const s = await createSession(g);
    const pid = Number(/pid (\d+)/.exec(await exec(g, s, '/pid'))?.[1]);
    assert.ok(pid > 0 && isAlive(pid));
    track(pid);
    const [soft, hard] = nofile(pid);
    // No descriptor to spare: every number a new one could get (the lowest free) is over the
    // limit. Not "as many as it holds now": one it holds for a moment (a /proc read) may be
    // closed by the time /run comes, and the run would then find a free slot below the limit.
    assert.ok(fs.readdirSync(`/proc/${pid}/fd`).length > 3, 'it holds more than stdio');
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=3:${hard}`]);
    let out: string;
    try {
      out = await exec(g, s, '/run echo started');
    } finally {
      execFileSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:${hard}`]);
    }
    assert.match(out, /\[failed to start: .*EMFILE/, out);
    assert.doesNotMatch(out, /started/);
    assert.ok(isAlive(pid), 'the worker lives on');
    assert.match(await exec(g, s, '/pid'), new RegExp(`pid ${pid}\\b`), 'the same worker answers');
    assert.match(await exec(g, s, '/run echo started'), /^started/, 'and runs commands again');
  } finally {
    await stopHostedGateway(g);
  }
});
