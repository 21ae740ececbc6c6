// Entry point the extension host loads (extensionTestsPath): runs every bundled *.test.js beside it
// with mocha, the standard `run()` shape of @vscode/test-electron suites.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  // The 'spec' reporter writes through process.stdout, which the browser relay does not carry;
  // console.log does reach codeAutomationLog, so report with it.
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: ConsoleReporter });
  const grep = process.env.GW_INTEGRATION_GREP;
  if (grep) mocha.grep(grep);
  for (const f of fs.readdirSync(__dirname).sort()) {
    if (f.endsWith('.test.js')) mocha.addFile(path.join(__dirname, f));
  }
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed`)) : resolve()));
  });
}

/** A spec-like reporter that prints with console.log (see above). */
class ConsoleReporter extends Mocha.reporters.Base {
  constructor(runner: Mocha.Runner) {
    super(runner);
    const { EVENT_SUITE_BEGIN, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING, EVENT_RUN_END } = Mocha.Runner.constants;
    let depth = 0;
    const indent = () => '  '.repeat(depth);
    runner.on(EVENT_SUITE_BEGIN, (s) => {
      if (s.title) console.log(`${indent()}${s.title}`);
      depth++;
    });
    runner.on('suite end', () => depth--);
    runner.on(EVENT_TEST_PASS, (t) => console.log(`${indent()}ok ${t.title} (${t.duration ?? 0} ms)`));
    runner.on(EVENT_TEST_PENDING, (t) => console.log(`${indent()}PENDING ${t.title}`));
    runner.on(EVENT_TEST_FAIL, (t, err) => console.log(`${indent()}FAIL ${t.title}\n${err?.stack ?? err}`));
    runner.once(EVENT_RUN_END, () => {
      const s = this.stats;
      console.log(`\n(${s.duration ?? 0} ms)`);
      console.log(`integration: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`);
    });
  }
}
