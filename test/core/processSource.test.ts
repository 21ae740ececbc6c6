// The platform readers' parsers on recorded output (test/core/fixtures/), so the macOS and
// Windows logic runs on Linux too. proc-stat-linux.txt and ps-procps-linux.txt were captured on
// this Linux machine; ps-darwin.txt and cim-windows.json are written by hand from the documented
// formats (BSD ps(1) with LC_ALL=C; Win32_Process through the script cimScript() prints) — no
// macOS or Windows machine was at hand to capture them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { catchesSignal, parseProcStat } from '../../src/core/procfs';
import { PS, parseBootTime, parsePsTable } from '../../src/core/processSourceDarwin';
import { CIM, cimScript, parseCimTable } from '../../src/core/processSourceWindows';
import { childrenIndex, descendantsOf } from '../../src/core/processTable';
import { isLiveState, judgeRun, looksFromRun, toolSource } from '../../src/core/processSource';
import { GUARD_SOURCE } from '../../src/core/lifelineGuard';

const FIXTURES = path.resolve(__dirname, '../../../test/core/fixtures');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

test('/proc/PID/stat: real lines of a running process, a kernel thread, a zombie and a comm holding ") " and " ("', () => {
  const lines = fixture('proc-stat-linux.txt').split('\n').filter((l) => l && !l.startsWith('#'));
  const [node, kthread, zombie, odd] = lines.map((l) => parseProcStat(l));
  assert.deepEqual(node, { pid: 29630, comm: 'node', state: 'R', ppid: 29628, pgid: 29628, sid: 19356, startTime: 209924, cpuTicks: 6, sigCatch: '17922' });
  // 17922 = 0x4602: node's own start-up handlers (SIGINT, SIGUSR1, SIGSEGV, SIGTERM).
  assert.deepEqual([2, 10, 11, 15, 9, 1].map((n) => catchesSignal(node!, n)), [true, true, true, true, false, false]);
  assert.deepEqual([kthread?.pid, kthread?.comm, kthread?.ppid, kthread?.pgid, kthread?.startTime], [2, 'kthreadd', 0, 0, 26]);
  assert.deepEqual([zombie?.state, zombie?.ppid, isLiveState(zombie?.state)], ['Z', 28959, false]);
  assert.deepEqual([odd?.comm, odd?.state, odd?.ppid, odd?.pgid, odd?.startTime], ['a) b (c d', 'S', 1, 28865, 205324]);
  for (const bad of ['', 'garbage', '12 (x', '12 (x) S', 'x (y) S 1 2 3', lines[0].slice(0, 60)]) {
    assert.equal(parseProcStat(bad), undefined, `rejects ${JSON.stringify(bad)}`);
  }
});

test('the guard thread runs the very text of parseProcStat, and it still parses once minified', async () => {
  assert.ok(GUARD_SOURCE.includes(parseProcStat.toString()), 'the guard source embeds the one parser');
  assert.doesNotMatch(GUARD_SOURCE, /lastIndexOf\('\)'\)\s*\+\s*2\)\.split/, 'no second parser in the guard');
  // The production bundle is minified: the embedded text must still stand alone.
  const esbuild = await import('esbuild');
  const built = await esbuild.build({
    entryPoints: [path.resolve(__dirname, '../../../src/core/lifelineGuard.ts')],
    bundle: true, platform: 'node', format: 'cjs', minify: true, write: false, target: 'node20', logLevel: 'silent',
  });
  const mod = { exports: {} as { GUARD_SOURCE?: string } };
  new Function('module', 'exports', 'require', built.outputFiles[0].text)(mod, mod.exports, require);
  const minified = mod.exports.GUARD_SOURCE!;
  const parse = new Function(`${minified.split('\n').find((l) => l.startsWith('const parseProcStat = '))}; return parseProcStat;`)() as typeof parseProcStat;
  const line = fixture('proc-stat-linux.txt').split('\n').find((l) => l.startsWith('28870 '))!;
  assert.deepEqual(parse(line), parseProcStat(line));
});

test('macOS ps: the table, zombies, spaces, quotes and non-ASCII in command lines, local-time lstart', () => {
  const table = parsePsTable(fixture('ps-darwin.txt'))!;
  assert.ok(table.complete, table.why);
  assert.equal(table.rows.length, 11);
  const byPid = new Map(table.rows.map((r) => [r.pid, r]));
  assert.deepEqual(byPid.get(1), { pid: 1, ppid: 0, pgid: 1, uid: 0, state: 'Ss', startTime: new Date(2023, 10, 14, 9, 12, 3).getTime() / 1000, name: 'launchd', cmdline: '/sbin/launchd' });
  const worker = byPid.get(8812)!;
  assert.equal(worker.cmdline, '/usr/local/bin/node /Users/zoë/.vscode/extensions/gateway-warden.gateway-warden-0.1.0/dist/worker.js --session s-1 --label "two words"');
  assert.deepEqual([worker.ppid, worker.pgid, worker.uid, worker.name], [8811, 8812, 501, 'node']);
  assert.match(byPid.get(742)!.cmdline, /Code Helper \(Plugin\)\.app\/Contents\/MacOS\/Code Helper \(Plugin\) --type=utility/);
  assert.equal(isLiveState(byPid.get(8813)!.state), false, 'Z is a zombie');
  assert.equal(isLiveState(byPid.get(8821)!.state), true, 'R+ is alive');
  assert.equal(byPid.get(9002)!.startTime, new Date(2023, 10, 2, 8, 1, 9).getTime() / 1000, 'a space-padded day of the month');
  assert.deepEqual(descendantsOf(table.rows, 8811).map((r) => r.pid), [8812, 8813, 8820, 8821]);
  assert.deepEqual(PS.args(), ['-ww', '-A', '-o', 'pid,ppid,pgid,uid,stat,lstart,args']);
  assert.deepEqual(PS.args([3, 4]), ['-ww', '-p', '3,4', '-o', 'pid,ppid,pgid,uid,stat,lstart,args']);
  assert.equal(parseBootTime('{ sec = 1699949523, usec = 123456 } Tue Nov 14 09:12:03 2023\n'), '1699949523');
});

test("procps ps on Linux (captured) prints the same format: the macOS parser reads it", () => {
  const table = parsePsTable(fixture('ps-procps-linux.txt'))!;
  assert.ok(table.complete, table.why);
  const byPid = new Map(table.rows.map((r) => [r.pid, r]));
  assert.deepEqual([...byPid.keys()], [2, 29094, 29096, 29097]);
  assert.equal(byPid.get(2)!.cmdline, '[kthreadd]');
  assert.equal(byPid.get(29094)!.cmdline, '/tmp/plat/a) b (c d 30');
  assert.equal(byPid.get(29096)!.cmdline, 'node -e setTimeout(()=>{},3000) -- --label two words quote"d');
  assert.equal(byPid.get(29097)!.state, 'Z');
});

test('macOS ps: what a run proves — listed, not listed (gone), or nothing (unknown)', () => {
  const header = '  PID  PPID  PGID   UID STAT STARTED                      COMMAND\n';
  const row = ' 8812  8811  8812   501 Ss   Wed Nov 15 10:02:18 2023     node worker.js\n';
  // Exit 0 with one of two pids listed: that one found, the other gone.
  let looks = looksFromRun(PS, [8812, 8899], judgeRun(PS, null, header + row));
  assert.equal(looks.get(8812)?.state, 'found');
  assert.deepEqual(looks.get(8899), { state: 'gone', why: 'ps lists no process 8899' });
  // Exit 1 with the header and no row: none of them exists (execFileSync and execFile shapes).
  for (const err of [Object.assign(new Error('exit 1'), { status: 1 }), Object.assign(new Error('exit 1'), { code: 1 })]) {
    assert.equal(looksFromRun(PS, [8899], judgeRun(PS, err, header)).get(8899)?.state, 'gone');
  }
  // Anything else proves nothing: no header (a usage error), spawn failures, timeouts, signals, other exits, a torn row.
  const unknowns: [unknown, string][] = [
    [Object.assign(new Error('exit 1'), { status: 1 }), ''],
    [Object.assign(new Error('spawn ps EAGAIN'), { code: 'EAGAIN' }), ''],
    [Object.assign(new Error('spawnSync ps ETIMEDOUT'), { code: 'ETIMEDOUT', signal: 'SIGTERM' }), header],
    [Object.assign(new Error('killed'), { signal: 'SIGKILL', code: null }), header],
    [Object.assign(new Error('exit 2'), { status: 2 }), header],
    [null, `${header}${row} 8899  8811  8812   501 Ss   Wed Nov 15 10:0`],
    [null, 'ps: illegal option -- w\n'],
  ];
  for (const [err, out] of unknowns) {
    looks = looksFromRun(PS, [8899], judgeRun(PS, err, out));
    assert.equal(looks.get(8899)?.state, 'unknown', `${String(err)} / ${JSON.stringify(out)}: ${JSON.stringify(looks.get(8899))}`);
  }
  assert.equal(parsePsTable('') , undefined);
});

test('Windows CIM: the table, null creation times and command lines, tabs and non-ASCII, a BOM', () => {
  const text = fixture('cim-windows.json');
  const table = parseCimTable(text)!;
  assert.ok(table.complete, table.why);
  assert.equal(table.rows.length, 14);
  const byPid = new Map(table.rows.map((r) => [r.pid, r]));
  assert.deepEqual(byPid.get(0), { pid: 0, ppid: 0, startTime: undefined, name: 'System Idle Process', cmdline: '' });
  assert.equal(byPid.get(8124)!.cmdline, 'node.exe c:\\Users\\Zoë\\.vscode\\extensions\\gateway-warden.gateway-warden-0.1.0\\dist\\worker.js --session s-1 --label "two\twords"');
  assert.equal(byPid.get(8124)!.startTime, 1699949523000 + 700300);
  assert.equal(byPid.get(636)!.cmdline, '', 'another session\'s process: command line hidden (null)');
  assert.deepEqual(parseCimTable(`\uFEFF${text}`)?.rows.length, 14);
  assert.deepEqual(parseCimTable('[]'), { rows: [], complete: true });
  for (const bad of ['', 'Get-CimInstance : Access denied', '{"pid":1}', 'null']) assert.equal(parseCimTable(bad), undefined, bad);
  assert.equal(parseCimTable('[{"pid":"1","ppid":0}]')?.complete, false, 'a row of the wrong shape makes it incomplete');
});

test('Windows CIM: a stale parent link (pid reused by a younger process) is not a child', () => {
  const rows = parseCimTable(fixture('cim-windows.json'))!.rows;
  // notepad (6100) names cmd.exe's pid 8130 as its parent, but was created before it.
  assert.ok(!(childrenIndex(rows).get(8130) ?? []).some((r) => r.pid === 6100));
  assert.deepEqual(descendantsOf(rows, 8124).map((r) => r.pid), [8130, 8140, 8131, 8141]);
});

test('Windows CIM: what a query proves, and the script it runs', () => {
  const one = '[{"pid":8124,"ppid":8100,"name":"node.exe","cmd":"node.exe","start":1699950223300}]';
  let looks = looksFromRun(CIM, [8124, 8125], judgeRun(CIM, null, one));
  assert.equal(looks.get(8124)?.state, 'found');
  assert.equal(looks.get(8125)?.state, 'gone');
  for (const [err, out] of [
    [Object.assign(new Error('spawn powershell.exe ENOENT'), { code: 'ENOENT' }), ''],
    [Object.assign(new Error('timed out'), { signal: 'SIGTERM', code: null }), ''],
    [Object.assign(new Error('Command failed: exit 1'), { code: 1 }), ''],
    [null, 'WARNING: something else'],
  ] as [unknown, string][]) {
    looks = looksFromRun(CIM, [8124], judgeRun(CIM, err, out));
    assert.equal(looks.get(8124)?.state, 'unknown', `${String(err)} / ${out}`);
  }
  assert.match(cimScript([12, 34]), /Get-CimInstance -ClassName Win32_Process -Filter 'ProcessId=12 OR ProcessId=34'/);
  assert.doesNotMatch(cimScript(), /-Filter/);
  const args = CIM.args([12]);
  assert.equal(args[args.length - 2], '-EncodedCommand');
  assert.equal(Buffer.from(args[args.length - 1], 'base64').toString('utf16le'), cimScript([12]));
});

test('a tool source proves death only by a table without the pid: a missing tool, a failing one, a timeout are unknown', { skip: process.platform === 'win32' }, async () => {
  const header = '  PID  PPID  PGID   UID STAT STARTED                      COMMAND';
  const source = (command: string, args: string[]) => toolSource({ ...PS, command, args: () => args }, { id: () => 'boot' });
  const cases: [string, ReturnType<typeof source>, string][] = [
    ['no such program', source('/nonexistent/ps', []), 'unknown'],
    ['exits 1 printing nothing (a usage error)', source('sh', ['-c', 'echo "ps: bad option" >&2; exit 1']), 'unknown'],
    ['killed by a signal', source('sh', ['-c', 'kill -9 $$']), 'unknown'],
    ['exits 2 with a header', source('sh', ['-c', `echo '${header}'; exit 2`]), 'unknown'],
    ['exits 1 with only the header: no such process', source('sh', ['-c', `echo '${header}'; exit 1`]), 'gone'],
  ];
  for (const [what, s, expected] of cases) {
    assert.equal((await s.look([4242])).get(4242)?.state, expected, `${what} (async)`);
    assert.equal(s.lookSync([4242]).get(4242)?.state, expected, `${what} (blocking)`);
    const list = await s.list();
    assert.equal(list.complete, expected === 'gone', `${what}: list complete`);
  }
});
