// The diagnostics report: redaction rules, and a whole report (real processes: an orphan and a
// live host's process carrying secrets in their command lines) with secrets fed into every place
// — command lines, a checkpoint's recorded command, settings, the live model, the log, the
// environment, a token — none of which may appear in the Markdown or the JSON.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointFileName, writeCheckpointSync } from '../../src/core/checkpoint';
import { fingerprintOf, formatFingerprint } from '../../src/core/fingerprint';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { createRedactor, REDACTED } from '../../src/core/report/redact';
import { buildReport, ReportLive } from '../../src/core/report/reportData';
import { renderReportMarkdown, REPORT_TITLE } from '../../src/core/report/reportMarkdown';
import { findChannelLog, readLogTail } from '../../src/core/report/logTail';
import { reportJson } from '../../src/cli/jsonShapes';
import { deadFingerprint } from '../process/orphansScene';
import { killTracked, spawnNode, testMarker, waitFor } from '../support/processes';

const linux = process.platform === 'linux';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-report-'));
after(() => {
  killTracked();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Every secret value used below; none may survive. */
const S = {
  sk: 'sk-proj-AbCdEf0123456789zzSECRET1',
  flagEq: 'flagEqVALUE-secret2',
  flagSep: 'flagSepVALUE-secret3',
  envPair: 'envPairVALUE-secret4',
  envOfReporter: 'reporterEnvVALUE-secret5',
  urlPw: 'urlPwVALUE-secret6',
  bearer: 'bearerVALUE-secret7',
  quoted: 'quoted spaced VALUE secret8',
  jsonQuoted: 'json quoted VALUE secret9',
  attachToken: 'attachTokenVALUE-secret10',
  query: 'queryVALUE-secret11',
  ghp: `ghp_${'A1b2C3d4E5'.repeat(4)}`,
  plainEnv: 'plainEnvVALUE-secret13',
  recorded: 'recordedVALUE-secret14',
  tokenFile: 'tokenFileVALUE-secret15',
  json: 'jsonVALUE-secret16',
  header: 'headerVALUE-secret17',
  tokenFileContent: 'tokenFileContentVALUE-secret18',
};
const ALL = Object.values(S);

function assertNoSecret(text: string, where: string): void {
  for (const s of ALL) assert.ok(!text.includes(s), `${where} leaks ${JSON.stringify(s)}:\n${text.split('\n').filter((l) => l.includes(s)).join('\n')}`);
  // Parts of the spaced ones must not survive either.
  assert.ok(!/secret8|secret9/.test(text), `${where} leaks part of a quoted secret`);
}

test('the rules: flags, assignments, well-known formats, URLs, bearer tokens, quoted words; plain text is kept', () => {
  const r = createRedactor([S.attachToken]);
  const cases: [string, string][] = [
    [`node gateway.js --backend command -- agent --api-key=${S.flagEq}`, `node gateway.js --backend command -- agent --api-key=${REDACTED}`],
    [`agent --token ${S.flagSep} --verbose`, `agent --token ${REDACTED} --verbose`],
    [`agent --password --verbose`, 'agent --password --verbose'],
    [`env DB_PASSWORD=${S.envPair} FOO=${S.plainEnv} agent`, `env DB_PASSWORD=${REDACTED} FOO=${REDACTED} agent`],
    [`agent ${S.sk}`, `agent ${REDACTED}`],
    [`agent ${S.ghp}`, `agent ${REDACTED}`],
    [`curl https://me:${S.urlPw}@example.com/x`, `curl https://me:${REDACTED}@example.com/x`],
    [`curl -H "Authorization: Bearer ${S.bearer}"`, `curl -H "Authorization: Bearer ${REDACTED}"`],
    [`agent --secret "${S.quoted}" next`, `agent --secret ${REDACTED} next`],
    [`agent ${JSON.stringify(`--client-secret=${S.jsonQuoted}`)}`, `agent --client-secret=${REDACTED}`],
    [`attach token ${S.attachToken} written`, `attach token ${REDACTED} written`],
    [`GET /x?user=a&access_token=${S.query}&n=1`, `GET /x?user=a&access_token=${REDACTED}&n=1`],
    ['gateway ready: pid 123, group 123 (node gateway.js --max-workers 16)', 'gateway ready: pid 123, group 123 (node gateway.js --max-workers 16)'],
    ['Setting gatewayWarden.limits.maxWorkers = 999 is outside 1–256; using 16.', 'Setting gatewayWarden.limits.maxWorkers = 999 is outside 1–256; using 16.'],
    ['worker pid=42 state=ready', 'worker pid=42 state=ready'],
    ['GATEWAY_WARDEN_CGROUPS=off', 'GATEWAY_WARDEN_CGROUPS=off'],
    [`reply {"token": "${S.json}", "pid": 5, "apiKey":"${S.json}"}`, `reply {"token": "${REDACTED}", "pid": 5, "apiKey":"${REDACTED}"}`],
    [`X-Api-Key: ${S.header} sent`, `X-Api-Key: ${REDACTED} sent`],
    [`Authorization: token ${S.header}`, `Authorization: token ${REDACTED}`],
    ['the token file is missing: path: /tmp/x', 'the token file is missing: path: /tmp/x'],
  ];
  for (const [input, want] of cases) assert.equal(r.text(input), want, input);
  // Idempotent: a report redacted twice reads the same.
  for (const [input] of cases) assert.equal(r.text(r.text(input)), r.text(input));
  // Deep: every string in plain objects and arrays; numbers and nulls kept.
  const deep = r.deep({ a: [`--token ${S.flagSep}`, 3, null], b: { c: `X=${S.envPair}` } });
  assert.deepEqual(deep, { a: [`--token ${REDACTED}`, 3, null], b: { c: `X=${REDACTED}` } });
});

test('a whole report: secrets fed into every place appear in neither the Markdown nor the JSON; pids, reasons and sections do', { skip: !linux }, async () => {
  const tag = testMarker('report');
  const dir = fs.mkdtempSync(path.join(tmp, 'cp-'));
  fs.chmodSync(dir, 0o700);
  const secretArgs = [`${tag}-proc`, `--api-key=${S.flagEq}`, '--token', S.flagSep, `DB_PASSWORD=${S.envPair}`, S.sk, `https://u:${S.urlPw}@h/`];

  // An orphan: a dead host's marker and record, secrets in its argv and in the recorded command.
  const dead = await deadFingerprint();
  const orphan = spawnNode('setInterval(() => {}, 1000)', { detached: true, stdio: 'ignore', env: { ...process.env, [OWNER_ENV]: formatFingerprint(dead) }, args: secretArgs });
  const orphanFp = await waitFor(() => fingerprintOf(orphan.pid!), 'the orphan');
  writeCheckpointSync(path.join(dir, checkpointFileName(dead)), {
    version: 1, owner: dead, writtenAt: Date.now(),
    records: [{ role: 'gateway', fingerprint: orphanFp, command: `node gateway.js --token-file /run/x -- agent --password ${S.recorded}`, startedAt: Date.now() }],
  });
  // A live host with a recorded gateway whose command line carries secrets too.
  const host = spawnNode('setInterval(() => {}, 1000)', { stdio: 'ignore', args: [`${tag}-host`] });
  const hostFp = await waitFor(() => fingerprintOf(host.pid!), 'the host');
  // Its attach token file: the token is redacted wherever it shows up (here: the log, a label).
  const tokenFile = path.join(dir, S.tokenFile);
  fs.writeFileSync(tokenFile, `${S.tokenFileContent}\n`, { mode: 0o600 });
  const gw = spawnNode('setInterval(() => {}, 1000)', { stdio: 'ignore', env: { ...process.env, [OWNER_ENV]: formatFingerprint(hostFp) }, args: [...secretArgs, '--token-file', tokenFile] });
  const gwFp = await waitFor(() => fingerprintOf(gw.pid!), 'the live gateway');
  writeCheckpointSync(path.join(dir, checkpointFileName(hostFp)), {
    version: 1, owner: hostFp, writtenAt: Date.now(),
    records: [{ role: 'gateway', fingerprint: gwFp, command: 'node gateway.js', startedAt: Date.now() }],
  });

  const live: ReportLive = {
    gateway: { state: 'running', pid: gwFp.pid, message: `started with --api-key=${S.flagEq}` },
    backend: { name: 'command', state: 'failed', pid: 7, program: `agent --secret "${S.quoted}"`, error: `exited: Authorization: Bearer ${S.bearer}` },
    sessions: [{
      sessionId: 's1', label: `label FOO=${S.plainEnv} ${S.tokenFileContent}`, client: 'attached', ageMs: 1000,
      worker: { pid: 4242, state: 'ready', busy: false, ageMs: 900, idleMs: 800 }, evicted: null, agentError: `401 for key ${S.sk}`,
    }],
    staleWorkers: [{ pid: 99, sessionKey: 'k', command: `python -m tui_gateway.slash_worker --token ${S.flagSep}`, staleForMs: 5 }],
  };
  const data = await buildReport({
    generatedBy: 'extension',
    extensionVersion: '9.9.9',
    vscode: '1.99.0 (code-server)',
    settings: {
      backend: 'command',
      entries: [
        { key: 'gatewayWarden.gateway.command', value: '/usr/bin/agent' },
        { key: 'gatewayWarden.gateway.args', value: `serve ${JSON.stringify(`--client-secret=${S.jsonQuoted}`)} --token ${S.flagSep}` },
      ],
      problems: [`Setting gatewayWarden.gateway.cwd = "/x?access_token=${S.query}" is not an absolute path; using (the gateway's own working directory).`],
    },
    caps: { maxSessions: 256, maxWorkers: 16 },
    live,
    log: {
      source: 'the log',
      lines: [
        `info starting gateway: node gateway.js --backend command -- agent --api-key=${S.flagEq}`,
        `info attach token ${S.attachToken}`,
        `debug attach handshake with ${S.tokenFileContent} accepted`,
        `debug reply {"token": "${S.json}"} X-Api-Key: ${S.header}`,
        `warn key from the environment ${S.envOfReporter}`,
        `info ${S.ghp}`,
      ],
    },
    scan: { checkpointDirs: [dir], patterns: [], owners: [dead] },
    thisHost: hostFp,
    secrets: [S.attachToken],
    env: { ...process.env, OPENAI_API_KEY: S.envOfReporter },
  });
  const md = renderReportMarkdown(data);
  const json = JSON.stringify(reportJson(data), null, 2);
  assertNoSecret(md, 'Markdown');
  assertNoSecret(json, 'JSON');
  assert.ok(md.includes(REDACTED) && json.includes(REDACTED));

  // The shape: every section, the live host with its gateway, the orphan with its reason.
  assert.ok(md.startsWith(REPORT_TITLE));
  for (const h of ['## Versions', '## Settings', '## Containment', '## Gateway (this window)', '## Live hosts and their processes', '## Orphans', '## Problems', '## Log (last 200 lines)']) {
    assert.ok(md.includes(`\n${h}\n`), `section ${h}`);
  }
  assert.match(md, new RegExp(`### Host ${formatFingerprint(hostFp)} \\(this window\\)`));
  assert.match(md, new RegExp(`^${gwFp.pid}\\s+[RSD]\\s+\\S+\\s+[\\d.]+s\\s+[\\d.]+ [KM]B\\s+gateway\\s+`, 'm'));
  assert.match(md, new RegExp(`^${orphanFp.pid}\\s+\\S+\\s+\\S+ [KMG]?B\\s+dead-owner-checkpoint\\s+`, 'm'));
  assert.match(md, new RegExp(`^- ${orphanFp.pid}: .*dead`, 'm'));
  assert.match(md, /\| VS Code \| 1\.99\.0 \(code-server\) \|/);
  // The live model: the session row with its worker, and the stale worker.
  assert.match(md, /^s1\s+label FOO=\[redacted\] \[redacted\]\s+attached\s+1s\s+4242\s+ready\s+800ms\s+error: 401 for key \[redacted\]$/m);
  assert.match(md, /^- 99 \(k\), stale for 5ms: `python -m tui_gateway\.slash_worker --token \[redacted\]`$/m);
  assert.match(md, /^Backend program \(command\): failed, pid 7, `agent --secret \[redacted\]` — exited: Authorization: Bearer \[redacted\]$/m);
  assert.match(md, /Totals: 1 process\(es\), [\d.]+ [KM]B resident, [\d.]+s CPU\./);

  const j = reportJson(data);
  assert.equal(j.version, 1);
  assert.equal(j.generatedBy, 'extension');
  assert.equal(j.versions.extension, '9.9.9');
  assert.equal(j.versions.node, process.version);
  const h = j.hosts.find((x) => x.owner.pid === hostFp.pid)!;
  assert.ok(h.thisWindow);
  assert.deepEqual(h.processes.map((p) => p.pid), [gwFp.pid]);
  assert.equal(typeof h.processes[0].cpuMs, 'number');
  assert.equal(h.totals.processes, 1);
  assert.deepEqual(j.orphans.map((o) => o.pid), [orphanFp.pid]);
  assert.equal(j.orphans[0].reason, 'dead-owner-checkpoint');
  assert.match(j.orphans[0].recordedCommand ?? '', /--password \[redacted\]/);
  assert.ok(['usable', 'unavailable'].includes(j.containment.cgroupV2));
  assert.ok(j.containment.gateways.some((g) => g.pid === gwFp.pid), 'the live gateway\'s cgroup is reported');
  assert.equal(j.log.lines?.length, 6);
});

test('the log tail: the last lines of a file read from its end, bounded; a missing file says why', () => {
  const file = path.join(tmp, 'Gateway Warden.log');
  fs.writeFileSync(file, Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n') + '\n');
  const t = readLogTail(file, 200, 1024);
  assert.ok('lines' in t);
  assert.equal(t.lines.at(-1), 'line 499');
  assert.ok(t.lines.length < 200 && t.lines.length > 50, `${t.lines.length} lines from 1 KiB`);
  assert.match(t.lines[0], /^line \d+$/, 'no line cut at the read start');
  const all = readLogTail(file);
  assert.ok('lines' in all);
  assert.equal(all.lines.length, 200);
  assert.equal(all.lines[0], 'line 300');
  const missing = readLogTail(path.join(tmp, 'nope.log'));
  assert.ok('problem' in missing && /ENOENT/.test(missing.problem));
  assert.equal(findChannelLog(tmp, 'Gateway Warden'), file);
  assert.equal(findChannelLog(path.join(tmp, 'absent'), 'Gateway Warden'), undefined);
});
