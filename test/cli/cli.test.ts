// dist/cli.js against a real scene. Every run is scoped: GATEWAY_WARDEN_CHECKPOINTS names the
// scene's own directory, --owner its dead host, --pattern its unique tag; and a --json listing is
// asserted before any --kill, so the CLI cannot touch a process outside this test.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointFileName, writeCheckpointSync } from '../../src/core/checkpoint';
import { Fingerprint, fingerprintOf, formatFingerprint, isSameProcess } from '../../src/core/fingerprint';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { readProcStat } from '../../src/core/procfs';
import { killTracked, spawnTracked, testMarker, track, waitFor, waitForExit } from '../support/processes';
import { OrphanScene, buildScene, deadFingerprint, doubleForked, orphansOf, survivorsOf } from '../process/orphansScene';
import type { OrphansJson, StatusJson } from '../../src/cli/jsonShapes';

const linux = process.platform === 'linux';
const CLI = path.resolve('dist/cli.js');
const dirs: string[] = [];
after(() => {
  killTracked();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: child.exitCode ?? (err ? -1 : 0), stdout, stderr });
    });
    child.stdin?.end(); // not a terminal
  });
}

function scoped(s: OrphanScene): { args: string[]; env: NodeJS.ProcessEnv } {
  const args = ['--pattern', s.pattern.source, '--owner', formatFingerprint(s.deadOwner)];
  for (const r of s.reapers) args.push('--reaper', String(r));
  return { args, env: { GATEWAY_WARDEN_CHECKPOINTS: s.dir } };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

test('orphans --json lists the scene, --kill needs --yes off a terminal, --kill --yes clears exactly the orphans', { skip: !linux }, async () => {
  const s = await buildScene('cli');
  dirs.push(s.dir);
  const { args, env } = scoped(s);

  const listed = await cli(['orphans', '--json', ...args], env);
  assert.equal(listed.code, 1, `orphans remain → exit 1; stderr: ${listed.stderr}`);
  const out = JSON.parse(listed.stdout) as OrphansJson;
  assert.equal(out.version, 1);
  assert.deepEqual(out.orphans.map((o) => o.pid), sorted([s.gateway.pid, s.markerOrphan.pid, s.patternOrphan.pid]));
  const gw = out.orphans.find((o) => o.pid === s.gateway.pid)!;
  assert.deepEqual(gw.fingerprint, s.gateway);
  assert.deepEqual(gw.owner, s.deadOwner);
  assert.equal(gw.checkpointFile, s.deadCheckpoint);
  assert.deepEqual(gw.descendants.map((d) => d.pid), [s.worker.pid]);
  assert.equal(typeof gw.rssBytes, 'number');
  assert.equal(typeof gw.ageMs, 'number');
  assert.equal(out.orphans.find((o) => o.pid === s.patternOrphan.pid)!.reason, 'pattern-reparented');
  assert.equal(out.orphans.find((o) => o.pid === s.markerOrphan.pid)!.reason, 'dead-owner-marker');
  assert.deepEqual(out.scan.checkpointDirs, [s.dir]);
  assert.equal(out.scan.checkpoints, 2);
  assert.equal(out.cleared, null);
  assert.ok(out.scan.processes > 10);

  const human = await cli(['orphans', ...args], env);
  assert.equal(human.code, 1);
  assert.match(human.stdout, /^PID\s+AGE\s+MEMORY\s+REASON\s+COMMAND/m);
  assert.match(human.stdout, new RegExp(`^${s.gateway.pid}\\s+\\S+\\s+[\\d.]+ [KMG]B\\s+dead-owner-checkpoint\\s+`, 'm'));
  assert.match(human.stdout, new RegExp(`^└ ${s.worker.pid}\\s`, 'm'));
  assert.match(human.stdout, /3 orphan\(s\), 4 process\(es\)/);

  const refused = await cli(['orphans', '--kill', ...args], env);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /refusing to kill 4 process\(es\) without confirmation: stdin is not a terminal; add --yes/);
  for (const f of orphansOf(s)) assert.ok(isSameProcess(f), `nothing killed without --yes (${f.pid})`);

  const killed = await cli(['orphans', '--kill', '--yes', '--json', '--grace-ms', '300', ...args], env);
  const k = JSON.parse(killed.stdout) as OrphansJson;
  assert.equal(killed.code, 0, `all cleared → exit 0; ${killed.stderr} ${JSON.stringify(k.cleared)}`);
  assert.ok(k.cleared);
  assert.deepEqual(sorted(k.cleared.results.map((r) => r.pid)), sorted(orphansOf(s).map((f) => f.pid)));
  assert.ok(k.cleared.results.every((r) => r.outcome === 'killed'), JSON.stringify(k.cleared.results));
  assert.deepEqual(k.cleared.remaining, []);
  assert.deepEqual(k.cleared.deletedCheckpoints, [], 'the dead checkpoint still names the live-owned process');
  for (const f of orphansOf(s)) await waitForExit(f.pid);
  for (const f of survivorsOf(s)) assert.ok(isSameProcess(f), `survivor ${f.pid} alive`);

  const after = await cli(['orphans', '--json', ...args], env);
  assert.equal(after.code, 0);
  assert.deepEqual((JSON.parse(after.stdout) as OrphansJson).orphans, []);
  assert.match((await cli(['orphans', ...args], env)).stdout, /no orphans found/);
});

test('status --json lists the live host and its tree, not the dead one', { skip: !linux }, async () => {
  const s = await buildScene('clistatus');
  dirs.push(s.dir);
  const r = await cli(['status', '--json'], { GATEWAY_WARDEN_CHECKPOINTS: s.dir });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as StatusJson;
  const host = out.owners.find((o) => o.owner.pid === s.liveHost.pid);
  assert.ok(host, 'live host listed');
  assert.deepEqual(host.owner, s.liveHost);
  assert.match(host.command ?? '', new RegExp(`${s.tag}-livehost`));
  assert.equal(host.checkpointFile, s.liveCheckpoint);
  assert.deepEqual(sorted(host.processes.map((p) => p.pid)), sorted([s.liveOwned.pid, s.liveRecorded.pid]));
  assert.equal(host.processes.find((p) => p.pid === s.liveRecorded.pid)!.role, 'worker');
  assert.ok(!out.owners.some((o) => o.owner.pid === s.deadOwner.pid));

  const human = await cli(['status'], { GATEWAY_WARDEN_CHECKPOINTS: s.dir });
  assert.equal(human.code, 0);
  assert.match(human.stdout, new RegExp(`^host ${formatFingerprint(s.liveHost)}`, 'm'));
  assert.match(human.stdout, new RegExp(`^\\s+${s.liveRecorded.pid}\\s.*worker\\s+live\\s+sleep 601`, 'm'));
});

test('usage errors exit 2 with a clear message; --help exits 0', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  dirs.push(empty);
  const env = { GATEWAY_WARDEN_CHECKPOINTS: empty };
  const cases: [string[], RegExp][] = [
    [['orphans', '--frobnicate'], /unknown option --frobnicate/],
    [['orphans', '--pattern', '(unclosed'], /--pattern "\(unclosed" is not a valid regular expression/],
    [['orphans', '--pattern', ''], /--pattern "" is empty/],
    [['orphans', '--pattern'], /--pattern needs a value/],
    [['orphans', '--owner', '12'], /--owner "12" is not a fingerprint/],
    [['orphans', '--yes'], /--yes only makes sense with --kill/],
    [['orphans', '--kill', '--grace-ms', '2147483648'], /--grace-ms "2147483648" is not a whole number from 0 to 2073600000/],
    [['orphans', 'extra'], /orphans takes no arguments/],
    [['status', '--kill'], /unknown option --kill/],
    [['explode'], /unknown command "explode"/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args, env);
    assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}`);
    assert.match(r.stderr, re);
    assert.equal(r.stdout, '');
  }
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /orphans .*\n[\s\S]*--kill[\s\S]*status/);
});

test('a corrupt checkpoint is quarantined and reported, the listing still works', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, '1_2_x.json'), '{"version":1,"own', { mode: 0o600 });
  // A pattern that matches nothing: the listing is empty whatever else runs on this machine.
  const r = await cli(['orphans', '--json', '--pattern', `^no-such-process-${process.pid}$`, '--owner', '1:2:x'], { GATEWAY_WARDEN_CHECKPOINTS: dir });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as OrphansJson;
  assert.deepEqual(out.orphans, []);
  // Only the problems of this directory: the machine may add its own (processes of another pid
  // namespace, a container's, say).
  const about = out.problems.filter((p) => p.includes(dir));
  assert.equal(about.length, 1, out.problems.join('\n'));
  assert.match(about[0], /corrupt checkpoint .*1_2_x\.json .*moved aside to 1_2_x\.json\.corrupt/);
  assert.ok(fs.existsSync(path.join(dir, '1_2_x.json.corrupt')));
});

// util-linux `script` gives the CLI a real terminal on stdin, with our answer typed into it.
const hasScript = linux && spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * `answer` is typed once the prompt is on screen (a key typed earlier would reach the terminal's line discipline first).
 * With `stdoutFile` the CLI's stdout goes there instead (stdin and stderr, where the prompt is, stay on the terminal).
 */
function onTerminal(args: string[], answer: string, stdoutFile?: string): Promise<Run> {
  const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
  const command = [process.execPath, CLI, ...args].map(quote).join(' ') + (stdoutFile ? ` > ${quote(stdoutFile)}` : '');
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    if (child.pid) track(child.pid);
    let stdout = '';
    let stderr = '';
    let typed = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!typed && stdout.includes('[y/N]')) {
        typed = true;
        child.stdin.write(answer);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('on a terminal, --kill asks first: "n", Ctrl-C and Ctrl-D kill nothing (exit 1), "y" clears', { skip: !hasScript }, async () => {
  const tag = testMarker('clitty');
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  dirs.push(empty);
  const pid = await doubleForked(`${tag}-pat-tty`);
  const fp = fingerprintOf(pid)!;
  const ppid = readProcStat(pid)!.ppid;
  const args = ['orphans', '--pattern', `${tag}-pat`, '--owner', '1:2:no-such-boot', '--checkpoints', empty,
    ...(ppid === 1 ? [] : ['--reaper', String(ppid)])];
  const listed = await cli([...args, '--json']);
  assert.deepEqual((JSON.parse(listed.stdout) as OrphansJson).orphans.map((o) => o.pid), [pid], 'exactly our process first');

  const no = await onTerminal([...args, '--kill'], 'n\n');
  assert.match(no.stdout, /Kill 1 process\(es\)\? \[y\/N\]/);
  assert.match(no.stdout, /nothing killed/);
  assert.equal(no.code, 1);
  assert.ok(isSameProcess(fp), 'answer "n" kills nothing');
  for (const [key, name] of [['\x03', 'Ctrl-C'], ['\x04', 'Ctrl-D']]) {
    const r = await onTerminal([...args, '--kill'], key);
    assert.match(r.stdout, /nothing killed/, `${name}: ${r.stdout}`);
    assert.equal(r.code, 1, `${name} at the prompt`);
    assert.ok(isSameProcess(fp), `${name} kills nothing`);
  }

  const yes = await onTerminal([...args, '--kill'], 'y\n');
  assert.equal(yes.code, 0, yes.stdout);
  assert.match(yes.stdout, /cleared: 1 killed/);
  await waitForExit(pid);
});

// ---- what is never trusted: forged records, files that are not ours, hostile patterns ----

const withoutMarker = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env[OWNER_ENV];
  return env;
};

test('a forged checkpoint (innocent sleep\'s real fingerprint, 0600, dead owner): --json reports it not corroborated, --kill --yes leaves it alive and clears the genuine orphan', { skip: !linux }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  dirs.push(dir);
  const dead = await deadFingerprint();
  const innocent = spawnTracked('sleep', ['600'], { stdio: 'ignore', env: withoutMarker() });
  const genuine = spawnTracked('sleep', ['601'], { stdio: 'ignore', env: { ...process.env, [OWNER_ENV]: formatFingerprint(dead) } });
  const innocentFp = await waitFor(() => fingerprintOf(innocent.pid!), 'the innocent sleep');
  const genuineFp = await waitFor(() => fingerprintOf(genuine.pid!), 'the genuine orphan');
  const file = path.join(dir, checkpointFileName(dead));
  writeCheckpointSync(file, {
    version: 1, owner: dead, writtenAt: Date.now(),
    records: [
      { role: 'worker', fingerprint: innocentFp, command: 'sleep 600', startedAt: Date.now() },
      { role: 'worker', fingerprint: genuineFp, command: 'sleep 601', startedAt: Date.now() },
    ],
  });
  const args = ['--checkpoints', dir, '--owner', formatFingerprint(dead), '--pattern', `^no-such-process-${process.pid}$`];

  const listed = await cli(['orphans', '--json', ...args]);
  const out = JSON.parse(listed.stdout) as OrphansJson;
  assert.deepEqual(out.orphans.map((o) => o.pid), [genuineFp.pid]);
  assert.equal(out.orphans[0].recordedCommand, 'sleep 601');
  assert.equal(out.notCorroborated.length, 1);
  const n = out.notCorroborated[0];
  assert.deepEqual([n.pid, n.fingerprint, n.owner, n.checkpointFile, n.command, n.recordedCommand], [innocentFp.pid, innocentFp, dead, file, 'sleep 600', 'sleep 600']);
  assert.match(n.why, /carries no GATEWAY_WARDEN_OWNER marker/);

  const human = await cli(['orphans', ...args]);
  assert.match(human.stderr, new RegExp(`warning: pid ${innocentFp.pid} \\(sleep 600\\) is listed by .* but not corroborated: .*; that record alone never makes it an orphan`));

  const killed = await cli(['orphans', '--kill', '--yes', '--json', '--grace-ms', '200', ...args]);
  const k = JSON.parse(killed.stdout) as OrphansJson;
  assert.equal(killed.code, 0, killed.stderr);
  assert.deepEqual(k.cleared?.results.map((r) => [r.pid, r.outcome]), [[genuineFp.pid, 'killed']]);
  await waitForExit(genuineFp.pid);
  assert.ok(isSameProcess(innocentFp), 'the innocent sleep is alive');
});

test('a FIFO and a symlink to /dev/zero as checkpoints are skipped with a reason, and the CLI answers at once', { skip: !linux }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  dirs.push(dir);
  assert.equal(spawnSync('mkfifo', ['-m', '600', path.join(dir, '1_2_x.json')]).status, 0, 'mkfifo');
  fs.symlinkSync('/dev/zero', path.join(dir, '3_4_x.json'));
  const t0 = Date.now();
  const r = await cli(['orphans', '--json', '--checkpoints', dir, '--owner', '1:2:x', '--pattern', `^no-such-process-${process.pid}$`]);
  const ms = Date.now() - t0;
  assert.ok(ms < 5000, `answered after ${ms} ms`);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as OrphansJson;
  assert.equal(out.problems.length, 2);
  assert.match(out.problems[0], /skipped checkpoint .*1_2_x\.json: it is a FIFO/);
  assert.match(out.problems[1], /skipped checkpoint .*3_4_x\.json: it is a symbolic link/);
  const status = await cli(['status', '--json', '--checkpoints', dir]);
  assert.equal(status.code, 0);
  assert.equal((JSON.parse(status.stdout) as StatusJson).problems.length, 2);
});

test('a 0777 directory named with --checkpoints is skipped unchanged; the default (our own) registry is tightened to 0700', { skip: !linux }, async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  dirs.push(home);
  const named = path.join(home, 'named');
  fs.mkdirSync(named);
  fs.chmodSync(named, 0o777);
  const scope = ['--owner', '1:2:x', '--pattern', `^no-such-process-${process.pid}$`];
  const r = await cli(['orphans', '--json', '--checkpoints', named, ...scope]);
  assert.match((JSON.parse(r.stdout) as OrphansJson).problems[0], /skipped checkpoint directory .*named: it is writable by others \(mode 0777\)/);
  assert.equal(fs.statSync(named).mode & 0o777, 0o777);

  const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_DATA_HOME: path.join(home, 'data'), GATEWAY_WARDEN_CHECKPOINTS: undefined };
  const own = path.join(home, 'config', 'Code', 'User', 'globalStorage', 'gateway-warden.gateway-warden', 'registry');
  fs.mkdirSync(own, { recursive: true });
  fs.chmodSync(own, 0o777);
  const d = await cli(['orphans', '--json', ...scope], env);
  const out = JSON.parse(d.stdout) as OrphansJson;
  assert.ok(out.scan.checkpointDirs.includes(own), JSON.stringify(out.scan.checkpointDirs));
  assert.deepEqual(out.problems, [`checkpoint directory: tightened ${own} from mode 0777 to 0700 (checkpoints name this user's processes: only this user may read or write them)`]);
  assert.equal(fs.statSync(own).mode & 0o777, 0o700);
});

test('status says which editors\' checkpoint directories it found: desktop forks and remote servers included', { skip: !linux }, async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  dirs.push(home);
  const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_DATA_HOME: path.join(home, 'data'), GATEWAY_WARDEN_CHECKPOINTS: undefined };
  const none = await cli(['status'], env);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /no checkpoint directory found \(looked in \d+ place/);
  const registry = (userData: string) => path.join(userData, 'User', 'globalStorage', 'gateway-warden.gateway-warden', 'registry');
  const cursorServer = registry(path.join(home, '.cursor-server', 'data'));
  const vscodeServer = registry(path.join(home, '.vscode-server', 'data'));
  const windsurf = registry(path.join(home, 'config', 'Windsurf'));
  for (const d of [cursorServer, vscodeServer, windsurf]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  // A symlink is not a directory of ours: never followed, never reported as found.
  fs.mkdirSync(path.join(home, '.vscodium-server', 'data', 'User', 'globalStorage', 'gateway-warden.gateway-warden'), { recursive: true });
  fs.symlinkSync(cursorServer, registry(path.join(home, '.vscodium-server', 'data')));
  const text = await cli(['status'], env);
  assert.match(text.stdout, /checkpoints found for: .*Windsurf \(/);
  assert.match(text.stdout, /VS Code Server \(/);
  assert.match(text.stdout, /Cursor Server \(/);
  assert.doesNotMatch(text.stdout, /VSCodium Server/);
  const json = JSON.parse((await cli(['status', '--json'], env)).stdout) as StatusJson;
  assert.deepEqual(json.checkpointDirs, [
    { editor: 'Windsurf', dir: windsurf },
    { editor: 'VS Code Server', dir: vscodeServer },
    { editor: 'Cursor Server', dir: cursorServer },
  ]);
  const given = JSON.parse((await cli(['status', '--json', '--checkpoints', windsurf], env)).stdout) as StatusJson;
  assert.deepEqual(given.checkpointDirs, [{ editor: 'given', dir: windsurf }]);
});

test('a hostile --pattern is refused at once with the reason; the default patterns are the hermes invocations', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  dirs.push(empty);
  const t0 = Date.now();
  const r = await cli(['orphans', '--json', '--checkpoints', empty, '--pattern', '(.*.*)*#$']);
  assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--pattern "\(\.\*\.\*\)\*#\$" has a nested quantifier .* which can take exponential time/);
  assert.match((await cli(['orphans', '--checkpoints', empty, '--pattern', '(a)\\1'])).stderr, /has a backreference/);
  const d = await cli(['orphans', '--json', '--checkpoints', empty, '--owner', '1:2:x']);
  assert.deepEqual((JSON.parse(d.stdout) as OrphansJson).scan.patterns, ['python -m tui_gateway.slash_worker', 'python -m tui_gateway.entry']);
});

// ---- --kill when nothing is cleared: the JSON document, the checkpoint prune ----

test('orphans --json --kill that is refused (no --yes off a terminal: exit 2) or declined (exit 1) still writes the document, cleared null', { skip: !linux }, async () => {
  const tag = testMarker('clijsonnokill');
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  dirs.push(empty, outDir);
  const pid = await doubleForked(`${tag}-pat`);
  const fp = fingerprintOf(pid)!;
  const ppid = readProcStat(pid)!.ppid;
  const args = ['orphans', '--json', '--pattern', `${tag}-pat`, '--owner', '1:2:no-such-boot', '--checkpoints', empty,
    ...(ppid === 1 ? [] : ['--reaper', String(ppid)])];

  const refused = await cli([...args, '--kill']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /refusing to kill 1 process\(es\) without confirmation/);
  const r = JSON.parse(refused.stdout) as OrphansJson;
  assert.equal(r.version, 1);
  assert.deepEqual(r.orphans.map((o) => o.pid), [pid]);
  assert.equal(r.cleared, null);
  assert.ok(isSameProcess(fp), 'refused: nothing killed');

  if (hasScript) {
    const file = path.join(outDir, 'stdout.json');
    const declined = await onTerminal([...args, '--kill'], 'n\n', file);
    assert.match(declined.stdout, /Kill 1 process\(es\)\? \[y\/N\][\s\S]*nothing killed/);
    assert.equal(declined.code, 1);
    const d = JSON.parse(fs.readFileSync(file, 'utf8')) as OrphansJson;
    assert.deepEqual(d.orphans.map((o) => o.pid), [pid]);
    assert.equal(d.cleared, null);
    assert.ok(isSameProcess(fp), 'declined: nothing killed');
  }

  const killed = await cli([...args, '--kill', '--yes', '--grace-ms', '200']);
  assert.equal(killed.code, 0, killed.stderr);
  assert.deepEqual((JSON.parse(killed.stdout) as OrphansJson).cleared?.results.map((x) => [x.pid, x.outcome]), [[pid, 'killed']]);
  await waitForExit(pid);
});

test('orphans --kill with no orphan still deletes a dead host\'s checkpoint in which nothing is alive (cleared lists it; exit 0; no --yes needed)', { skip: !linux }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  dirs.push(dir);
  // Scoped to these dead hosts (--owner), so nothing else on this machine is an orphan here.
  const scope = ['--checkpoints', dir, '--pattern', `^no-such-process-${process.pid}$`];
  const checkpoint = async (records: Fingerprint[]) => {
    const owner = await deadFingerprint();
    scope.push('--owner', formatFingerprint(owner));
    const file = path.join(dir, checkpointFileName(owner));
    writeCheckpointSync(file, {
      version: 1, owner, writtenAt: Date.now(),
      records: records.map((fingerprint) => ({ role: 'worker', fingerprint, command: 'sleep 600', startedAt: Date.now() })),
    });
    return file;
  };
  const stale = await checkpoint([await deadFingerprint(), await deadFingerprint()]);
  // A dead host's checkpoint naming a live process (no marker: not an orphan, not corroborated) is kept.
  const live = spawnTracked('sleep', ['600'], { stdio: 'ignore', env: withoutMarker() });
  const liveFp = await waitFor(() => fingerprintOf(live.pid!), 'the live sleep');
  const kept = await checkpoint([liveFp]);

  const listed = await cli(['orphans', '--json', ...scope]);
  assert.equal(listed.code, 0, `${listed.stdout} ${listed.stderr}`);
  assert.deepEqual((JSON.parse(listed.stdout) as OrphansJson).orphans, []);
  assert.ok(fs.existsSync(stale), 'listing deletes nothing');

  const r = await cli(['orphans', '--kill', '--yes', '--json', ...scope]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as OrphansJson;
  assert.deepEqual(out.orphans, []);
  assert.deepEqual(out.notCorroborated.map((n) => n.pid), [liveFp.pid]);
  assert.ok(out.cleared, 'cleared is reported although there was nothing to kill');
  assert.deepEqual([out.cleared.results, out.cleared.killed, out.cleared.alreadyGone, out.cleared.refused, out.cleared.remaining], [[], 0, 0, 0, []]);
  assert.deepEqual(out.cleared.deletedCheckpoints, [stale]);
  assert.ok(!fs.existsSync(stale), 'the stale checkpoint is gone');
  assert.ok(fs.existsSync(kept), 'the checkpoint naming a live process is kept');

  // Nothing to kill means nothing to confirm: off a terminal, without --yes, it prunes too.
  const again = await checkpoint([await deadFingerprint()]);
  const human = await cli(['orphans', '--kill', ...scope]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^no orphans found\n.*removed 1 stale checkpoint\(s\)$/m);
  assert.ok(!fs.existsSync(again));
  assert.ok(fs.existsSync(kept));

  live.kill('SIGKILL');
  await waitForExit(liveFp.pid);
});
