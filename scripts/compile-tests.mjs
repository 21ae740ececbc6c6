// Transpiles src/, test/ and bench/ file-by-file into out/ so `node --test` can run the tests
// against the same module boundaries as the sources (type-checking is tsc's job).
import * as esbuild from 'esbuild';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

function tsFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

await rm('out', { recursive: true, force: true });
await esbuild.build({
  entryPoints: [...tsFiles('src'), ...tsFiles('test'), ...tsFiles('bench')],
  outdir: 'out',
  outbase: '.',
  bundle: false,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  logLevel: 'warning',
});
