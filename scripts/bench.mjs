// `npm run bench`: build, transpile bench/ (with the tests), then run each benchmark in turn.
// Each prints markdown tables headed by the command that produced them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function run(args) {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`node ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

run(['scripts/build.mjs']);
run(['scripts/compile-tests.mjs']);
const dir = join('out', 'bench');
const benches = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.bench.js')).sort() : [];
console.log(`\nnode ${process.version}, ${process.platform}/${process.arch}, ${new Date().toISOString()}\n`);
let failed = 0;
for (const file of benches) {
  const r = spawnSync(process.execPath, [join(dir, file)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`${file} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed ? 1 : 0);
