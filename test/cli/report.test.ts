// `gateway-warden report` against a real scene: a live gateway (dist/gateway.js) started by a test
// host that has a checkpoint, with a session, its worker and a worker's child; and an orphan of a
// dead host. Secrets sit in the child's and the orphan's argv, in the recorded command and in the
// CLI's own environment. The report lists both with their reasons and prints no secret.
import { GROUP_KEEPER_NAME } from '../../src/core/ownerMarker';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointFileName, writeCheckpointSync } from '../../src/core/checkpoint';
import { fingerprintOf, formatFingerprint, parseFingerprint } from '../../src/core/fingerprint';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import type { ReportJson } from '../../src/cli/jsonShapes';
import { deadFingerprint } from '../process/orphansScene';
import { createSession, exec, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { killTracked, spawnNode, testMarker, track, waitFor } from '../support/processes';

const linux = process.platform === 'linux';
const CLI = path.resolve('dist/cli.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-report-'));
after(() => {
  killTracked();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: child.exitCode ?? (err ? -1 : 0), stdout, stderr });
    });
    child.stdin?.end();
  });
}

const SECRETS = {
  apiKey: 'sk-proj-cliReportSECRET0123456789',
  token: 'cliTokenVALUE-secret2',
  recorded: 'cliRecordedVALUE-secret3',
  env: 'cliEnvVALUE-secret4-of-the-reporter',
  pair: 'cliPairVALUE-secret5',
};

test('report: a live gateway with its session, worker and child, and an orphan — both with their reasons, no secret, Markdown and JSON', { skip: !linux }, async () => {
  const tag = testMarker('clireport');
  const dir = fs.mkdtempSync(path.join(tmp, 'cp-'));
  fs.chmodSync(dir, 0o700);

  // The live side: a host with a checkpoint naming its gateway and worker.
  const g = await startHostedGateway({ args: ['--max-workers', '4'] });
  try {
    const hostFp = parseFingerprint(g.hostFp)!;
    const sessionId = await createSession(g, { label: 'report' });
    const out = await exec(g, sessionId, `/run node -e "setInterval(() => {}, 1000)" -- ${tag}-child --api-key=${SECRETS.apiKey} --token ${SECRETS.token} ${SECRETS.env} & echo bg=$!`);
    const childPid = Number(/bg=(\d+)/.exec(out)?.[1]);
    assert.ok(childPid > 0, out);
    track(childPid);
    const workerPid = g.workerPids()[0];
    const gatewayFp = fingerprintOf(g.gatewayPid)!;
    const workerFp = fingerprintOf(workerPid)!;
    writeCheckpointSync(path.join(dir, checkpointFileName(hostFp)), {
      version: 1, owner: hostFp, writtenAt: Date.now(),
      records: [
        { role: 'gateway', fingerprint: gatewayFp, pgid: g.gatewayPid, command: 'node gateway.js', startedAt: Date.now() },
        { role: 'worker', fingerprint: workerFp, sessionId, command: 'node worker.js', startedAt: Date.now() },
      ],
    });

    // The orphan: a dead host's record and marker; secrets in its argv and in the recorded command.
    const dead = await deadFingerprint();
    const orphan = spawnNode('setInterval(() => {}, 1000)', {
      detached: true, stdio: 'ignore', env: { ...process.env, [OWNER_ENV]: formatFingerprint(dead) },
      args: [`${tag}-orphan`, `DB_PASSWORD=${SECRETS.pair}`, SECRETS.apiKey],
    });
    const orphanFp = await waitFor(() => fingerprintOf(orphan.pid!), 'the orphan');
    writeCheckpointSync(path.join(dir, checkpointFileName(dead)), {
      version: 1, owner: dead, writtenAt: Date.now(),
      records: [{ role: 'worker', fingerprint: orphanFp, sessionId: 'gone', command: `agent --password ${SECRETS.recorded}`, startedAt: Date.now() }],
    });

    const env = { GATEWAY_WARDEN_CHECKPOINTS: dir, MY_SERVICE_API_KEY: SECRETS.env };
    const md = await cli(['report'], env);
    assert.equal(md.code, 0, md.stderr);
    const text = md.stdout;
    for (const s of Object.values(SECRETS)) assert.ok(!text.includes(s), `the Markdown leaks ${s}`);
    assert.match(text, /^# Gateway Warden diagnostics report$/m);
    // The live host, its gateway (backend and caps from its flags), the worker and the child, totals.
    assert.match(text, new RegExp(`^### Host ${g.hostFp}$`, 'm'));
    assert.match(text, new RegExp(`^Gateway ${g.gatewayPid}: backend embedded; caps: max sessions 256, max workers 4 \\(from flags; the rest are defaults\\)$`, 'm'));
    assert.match(text, new RegExp(`^${g.gatewayPid}\\s+[RSD]\\s+\\S+\\s+[\\d.]+s\\s+[\\d.]+ MB\\s+gateway\\s+`, 'm'));
    assert.match(text, new RegExp(`^  ${workerPid}\\s+[RSD]\\s+.*\\sworker\\s+${sessionId}\\s`, 'm'));
    assert.match(text, new RegExp(`^\\s*${childPid}\\s+[RSD]\\s+.*${tag}-child --api-key=\\[redacted\\] --token \\[redacted\\] \\[redacted\\]`, 'm'));
    assert.match(text, /^Totals: \d+ process\(es\), [\d.]+ MB resident, [\d.]+s CPU\.$/m);
    assert.match(text, /^- cgroup v2 here: \*\*(usable|unavailable)\*\* — /m);
    assert.match(text, new RegExp(`^- gateway ${g.gatewayPid}: `, 'm'));
    // The orphan and why.
    const orphansAt = text.indexOf('\n## Orphans\n');
    assert.ok(orphansAt > 0);
    const orphans = text.slice(orphansAt, text.indexOf('\n## Problems\n'));
    assert.match(orphans, new RegExp(`^${orphanFp.pid}\\s+\\S+\\s+[\\d.]+ [KM]B\\s+dead-owner-checkpoint\\s+.*${tag}-orphan DB_PASSWORD=\\[redacted\\] \\[redacted\\]`, 'm'));
    assert.match(orphans, new RegExp(`^- ${orphanFp.pid}: .+\\(checkpoint \`${path.join(dir, checkpointFileName(dead)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\`\\)$`, 'm'));
    assert.ok(!orphans.includes(`${g.gatewayPid} `) && !orphans.includes(`${workerPid} `), 'the live ones are not orphans');
    assert.match(text, /^The CLI keeps no log\./m);

    const js = await cli(['report', '--json'], env);
    assert.equal(js.code, 0, js.stderr);
    for (const s of Object.values(SECRETS)) assert.ok(!js.stdout.includes(s), `the JSON leaks ${s}`);
    const r = JSON.parse(js.stdout) as ReportJson;
    assert.equal(r.version, 1);
    assert.equal(r.generatedBy, 'cli');
    assert.equal(r.live, null);
    assert.equal(r.versions.vscode, null);
    assert.equal(r.log.lines, null);
    const host = r.hosts.find((h) => h.owner.pid === hostFp.pid)!;
    assert.ok(host, 'the live host');
    // The worker's group keeper (a `sh` named GROUP_KEEPER_NAME, where the parent-death signal is used)
    // is one of the host's processes too; nothing else is.
    const ours = host.processes.filter((p) => !p.command.includes(GROUP_KEEPER_NAME));
    assert.deepEqual(ours.map((p) => p.pid).sort((a, b) => a - b), [g.gatewayPid, workerPid, childPid].sort((a, b) => a - b));
    assert.ok(host.processes.length - ours.length <= 1, 'at most one keeper');
    assert.equal(host.processes.find((p) => p.pid === workerPid)!.sessionId, sessionId);
    assert.ok(host.totals.rssBytes > 0 && host.totals.processes === host.processes.length);
    assert.deepEqual(host.gateways, [{ pid: g.gatewayPid, backend: 'embedded', maxSessions: 256, maxWorkers: 4, capsFrom: 'flags; the rest are defaults' }]);
    const o = r.orphans.find((x) => x.pid === orphanFp.pid)!;
    assert.equal(o.reason, 'dead-owner-checkpoint');
    assert.match(o.reasonText, /dead/);
    assert.equal(o.recordedCommand, 'agent --password [redacted]');
    assert.ok(!r.orphans.some((x) => [g.gatewayPid, workerPid, childPid].includes(x.pid)));

    // Usage errors as for the other commands.
    const bad = await cli(['report', '--kill'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option --kill/);
  } finally {
    await stopHostedGateway(g);
  }
});
