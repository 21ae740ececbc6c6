// Builds the four CommonJS bundles (extension, gateway, worker, cli) with esbuild.
// Dev builds carry source maps; `--production` minifies. Type-checking is `npm run typecheck`.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';

const production = process.argv.includes('--production');

const entries = {
  extension: 'src/extension.ts',
  gateway: 'src/gateway/main.ts',
  worker: 'src/worker/main.ts',
  cli: 'src/cli/main.ts',
};

await rm('dist', { recursive: true, force: true });
const started = Date.now();
await Promise.all(
  Object.entries(entries)
    .filter(([, file]) => existsSync(file))
    .map(([name, file]) =>
      esbuild.build({
        entryPoints: [file],
        outfile: `dist/${name}.js`,
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        external: ['vscode'],
        minify: production,
        sourcemap: production ? false : 'linked',
        sourcesContent: false,
        legalComments: 'none',
        logLevel: 'warning',
        banner: { js: name === 'extension' ? '' : '#!/usr/bin/env node' },
      }).then(() => asciiOnly(`dist/${name}.js`)),
    ),
);
console.log(`built dist/ (${production ? 'production' : 'development'}) in ${Date.now() - started} ms`);

// V8 holds a running script's whole source as a string, one byte per character only while every
// character is ASCII: a single "—" makes it two bytes each (dist/worker.js held 250 KB instead
// of 125 KB, in every worker). esbuild escapes non-ASCII in code (charset ascii) but keeps it in the comments it
// preserves in development builds; a \uXXXX escape means the same in a comment, a string, a
// template or a regex, so escaping every remaining UTF-16 unit is safe wherever it is.
async function asciiOnly(file) {
  const text = await readFile(file, 'utf8');
  const nonAscii = /[\u0080-\uffff]/g;
  if (!nonAscii.test(text)) return;
  await writeFile(file, text.replace(nonAscii, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
