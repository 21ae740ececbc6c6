// What the VSIX ships: `npm run package` (production build + vsce) in a scratch copy of the
// project — so this suite's dist/ is left alone — then its listing read with the ZIP reader, and
// its bundles run from the unpacked archive, where no node_modules can be found: every runtime
// dependency (tree-kill, ws) must be inside the bundles, and nothing else (no ps-list helper
// .exe) is needed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { killTracked, readLineMatching, spawnTracked, waitForExit } from '../support/processes';
import { zipEntries, zipExtract } from '../support/zipEntries';

after(killTracked);
const root = path.resolve(__dirname, '../../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-vsix-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const BUNDLES = ['cli.js', 'extension.js', 'gateway.js', 'worker.js'];

function packageCopy(): string {
  const copy = path.join(tmp, 'project');
  fs.mkdirSync(copy);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', '.vscodeignore', 'tsconfig.json']) fs.copyFileSync(path.join(root, f), path.join(copy, f));
  for (const d of ['src', 'scripts', 'media']) fs.cpSync(path.join(root, d), path.join(copy, d), { recursive: true });
  fs.symlinkSync(fs.realpathSync(path.join(root, 'node_modules')), path.join(copy, 'node_modules'));
  const vsix = path.join(tmp, 'gateway-warden.vsix');
  const r = spawnSync('npm', ['run', '--silent', 'package', '--', '--out', vsix], { cwd: copy, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  assert.equal(r.status, 0, `npm run package failed:\n${r.stdout}\n${r.stderr}`);
  return vsix;
}

test('the VSIX holds the four bundles, media and docs only, and its bundles run with no node_modules anywhere', { skip: process.platform === 'win32' && 'npm.cmd needs a shell' }, async (t) => {
  const vsix = packageCopy();
  const names = zipEntries(fs.readFileSync(vsix)).map((e) => e.name).filter((n) => !n.endsWith('/'));
  t.diagnostic(`VSIX (${fs.statSync(vsix).size} bytes): ${names.join(', ')}`);
  assert.deepEqual(names.filter((n) => n.startsWith('extension/dist/')).sort(), BUNDLES.map((b) => `extension/dist/${b}`));
  const allowed = /^(extension\.vsixmanifest|\[Content_Types\]\.xml|extension\/(package\.json|readme\.md|changelog\.md|LICENSE\.txt|dist\/[a-z]+\.js|media\/[^/]+))$/;
  for (const n of names) assert.match(n, allowed, `${n} does not belong in the VSIX`);
  assert.ok(!names.some((n) => /node_modules|\.exe$|\.map$/.test(n)), 'no node_modules, helper binaries or source maps');

  const unpacked = path.join(tmp, 'unpacked');
  zipExtract(vsix, unpacked);
  const dist = path.join(unpacked, 'extension', 'dist');
  for (const b of BUNDLES) {
    const text = fs.readFileSync(path.join(dist, b), 'utf8');
    assert.doesNotMatch(text, /require\(["'](tree-kill|ws|ps-list)["']\)/, `${b} loads no dependency at run time`);
  }
  assert.match(fs.readFileSync(path.join(dist, 'cli.js'), 'utf8'), /taskkill \/pid /, 'tree-kill is bundled (the CLI clears orphans with it on Windows)');
  // Nothing to resolve a dependency from: the bundles must stand alone.
  for (let dir = dist; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'node_modules'))) t.diagnostic(`note: ${dir}/node_modules exists`);
  }
  assert.match(execFileSync(process.execPath, [path.join(dist, 'cli.js'), 'ps'], { encoding: 'utf8' }), /^\d+ processes\n$/);
  const gw = spawnTracked(process.execPath, [path.join(dist, 'gateway.js')], { detached: true });
  const ready = await readLineMatching(gw.stdout!, (l) => (l.includes('gateway.ready') ? JSON.parse(l) as { params: { type: string; pid: number } } : undefined));
  assert.equal(ready.params.type, 'gateway.ready');
  assert.equal(ready.params.pid, gw.pid);
  gw.stdin!.end();
  await waitForExit(gw.pid!, 10_000);
});
