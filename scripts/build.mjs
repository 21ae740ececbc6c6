// Builds the four CommonJS bundles (extension, gateway, worker, cli) with esbuild.
// Dev builds carry source maps; `--production` minifies. Type-checking is `npm run typecheck`.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';

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
      }),
    ),
);
console.log(`built dist/ (${production ? 'production' : 'development'}) in ${Date.now() - started} ms`);
