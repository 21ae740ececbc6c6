// The re-parenting rule's patterns: hermes' invocation rules judged on argv elements, and user
// regexes that can neither be aimed at everything nor hang the scan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import {
  HERMES_RULES, MAX_MATCHED_CHARS, matchPatterns, matchesInvocation, pythonTarget, regexPatternProblem,
} from '../../src/core/orphanPatterns';
import type { ProcessInfo } from '../../src/core/processTable';

const hermes = (argv: string[]) => HERMES_RULES.some((r) => matchesInvocation(r, argv));

test('hermes rules: an interpreter running tui_gateway.slash_worker / tui_gateway.entry, as a module or a script', () => {
  const invocations = [
    ['python', '-m', 'tui_gateway.slash_worker'],
    ['python3', '-m', 'tui_gateway.slash_worker', '--session', 'abc'],
    ['python3.11', '-m', 'tui_gateway.entry'],
    ['/home/u/hermes/.venv/bin/python', '-u', '-m', 'tui_gateway.slash_worker'],
    ['/usr/bin/python3', '-X', 'utf8', '-W', 'ignore', '-m', 'tui_gateway.entry'],
    ['python3', '-um', 'tui_gateway.slash_worker'],
    ['python3', '-mtui_gateway.entry'],
    ['python3', '-Xutf8', '-m', 'tui_gateway.entry'],
    ['python3', '/opt/hermes/tui_gateway/slash_worker.py', '--session', '1'],
    ['python3', 'tui_gateway/entry.py'],
    ['python', '--', '/opt/hermes/tui_gateway/entry.py'],
    ['C:\\Python312\\python.exe', '-m', 'tui_gateway.slash_worker'],
    ['C:\\Python312\\python.exe', 'C:\\hermes\\tui_gateway\\slash_worker.py'],
  ];
  for (const argv of invocations) assert.ok(hermes(argv), `${JSON.stringify(argv)} is an invocation`);
  const mentions = [
    ['less', 'tui_gateway.slash_worker.log'],
    ['grep', 'tui_gateway.slash_worker'],
    ['grep', '-m', 'tui_gateway.slash_worker'],
    ['vim', 'tui_gateway/slash_worker.py'],
    ['tail', '-f', '/var/log/tui_gateway.entry.log'],
    ['python3', '-c', 'import tui_gateway.slash_worker'],
    ['python3', '-m', 'tui_gateway.slash_worker_tests'],
    ['python3', '-m', 'pytest', 'tui_gateway/slash_worker.py'],
    ['python3', 'tools/tail.py', '-m', 'tui_gateway.slash_worker'],
    ['python3', '/opt/x/not_tui_gateway/slash_worker.py'],
    ['python3', '/opt/x/tui_gateway/slash_worker.pyc'],
    ['pythonista', '-m', 'tui_gateway.slash_worker'],
    ['python3'],
    ['python3', '-m'],
    ['bash', '-c', 'python3 -m tui_gateway.slash_worker'],
    [],
  ];
  for (const argv of mentions) assert.ok(!hermes(argv), `${JSON.stringify(argv)} only mentions it`);
  assert.deepEqual(pythonTarget(['python3', '-W', '-m', 'x']), { script: 'x' }, '-W takes the next argument as its value');
});

test('user regexes: nested quantifiers, backreferences, empty and overlong patterns are refused with the reason', () => {
  const refused: [string, RegExp][] = [
    ['(.*.*)*#$', /nested quantifier \(\(\.\*\.\*\)\*: a repeated group that itself repeats\)/],
    ['(a+)+$', /nested quantifier/],
    ['((ab)*c)+', /nested quantifier/],
    ['(?:x\\d+){2,}', /nested quantifier/],
    ['(?<w>a*)*', /nested quantifier/],
    ['(a)\\1', /backreference/],
    ['(?<n>a)\\k<n>', /backreference/],
    ['(unclosed', /is not a valid regular expression/],
    ['', /is empty/],
    ['  ', /is empty/],
    ['x'.repeat(501), /longer than 500 characters/],
  ];
  for (const [source, why] of refused) assert.match(regexPatternProblem(source) ?? 'accepted', why, source);
  const accepted = ['my_gateway\\.worker', '^/opt/gw/bin/worker( |$)', '(ab)*c', '(a+)?b', '[(*+]+x', '\\(a+\\)+', 'a{2}(b|c)+', '(\\d)x{3}', '(a*){1}'];
  for (const source of accepted) assert.equal(regexPatternProblem(source), undefined, source);
});

const row = (pid: number, cmdline: string): ProcessInfo => ({ pid, ppid: 1, name: 'x', cmdline });

test('a catastrophic regex cannot hang the scan: it is stopped within the budget and matches nothing; the others still match', () => {
  const long = `${'a'.repeat(20_000)}`;
  const table = [row(1, long), row(2, 'my_gateway.worker --session 1'), row(3, `${'b'.repeat(MAX_MATCHED_CHARS)}TAIL`)];
  // Compiled directly, as if the up-front refusal had been bypassed: the runtime bound must hold alone.
  const hostile = /(.*.*)*#$/;
  const t0 = performance.now();
  const r = matchPatterns(table, [hostile, /my_gateway\.worker/, /TAIL/], 200);
  const ms = performance.now() - t0;
  assert.ok(ms < 900, `took ${Math.round(ms)} ms`);
  assert.deepEqual([...r.matched], [2], 'the worker matches; text past MAX_MATCHED_CHARS is never seen');
  assert.equal(r.problems.length, 1);
  assert.match(r.problems[0], /pattern \/\(\.\*\.\*\)\*#\$\/ skipped: it did not finish within \d+ ms/);

  // Two runaway patterns share the budget with a good one, which still gets its turn.
  const t1 = performance.now();
  const shared = matchPatterns(table, [hostile, /(a|aa)*#$/, /my_gateway/], 150);
  assert.ok(performance.now() - t1 < 900, `took ${Math.round(performance.now() - t1)} ms`);
  assert.deepEqual([...shared.matched], [2]);
  assert.equal(shared.problems.length, 2);
  // No budget at all: nothing runs, and it says so.
  const none = matchPatterns(table, [/my_gateway/], 0);
  assert.deepEqual([...none.matched], []);
  assert.match(none.problems[0], /budget for patterns was spent/);
});

test('a /g regex matches every line (lastIndex is reset), and invocation rules and regexes combine', () => {
  const table = [
    { ...row(1, 'python3 -m tui_gateway.entry'), argv: ['python3', '-m', 'tui_gateway.entry'] },
    row(2, 'my_gateway.worker a'),
    row(3, 'my_gateway.worker b'),
    { ...row(4, 'less tui_gateway.entry.log'), argv: ['less', 'tui_gateway.entry.log'] },
  ];
  const r = matchPatterns(table, [...HERMES_RULES, /my_gateway/g]);
  assert.deepEqual([...r.matched].sort(), [1, 2, 3]);
  assert.deepEqual(r.problems, []);
});
