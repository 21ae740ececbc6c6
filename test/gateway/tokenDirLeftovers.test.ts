// Token directories of dead gateways are removed at start-up — and nothing that is not provably
// one: another live process's, a loose mode, extra contents, links, unrecorded names.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Fingerprint, fingerprintOf, selfFingerprint } from '../../src/core/fingerprint';
import { removeDeadTokenDirs, tokenDirOwner, tokenDirPrefix } from '../../src/gateway/tokenDirLeftovers';
import { killTracked, spawnTracked, waitForExit } from '../support/processes';

const POSIX = process.platform !== 'win32';
const bases: string[] = [];
after(async () => {
  await killTracked();
  for (const d of bases) fs.rmSync(d, { recursive: true, force: true });
});
function base(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-leftover-test-'));
  bases.push(d);
  return d;
}

/** A token directory as a gateway with fingerprint `fp` makes it, under `at`. */
function tokenDir(at: string, fp: Fingerprint, opts: { dirMode?: number; tokenMode?: number } = {}): string {
  const dir = fs.mkdtempSync(path.join(at, tokenDirPrefix(fp)));
  fs.chmodSync(dir, opts.dirMode ?? 0o700);
  fs.writeFileSync(path.join(dir, 'token'), 'f'.repeat(64) + '\n', { mode: opts.tokenMode ?? 0o600 });
  fs.chmodSync(path.join(dir, 'token'), opts.tokenMode ?? 0o600);
  return dir;
}

/** The fingerprint of a real process that has exited. */
async function deadFingerprint(): Promise<Fingerprint> {
  const child = spawnTracked('sleep', ['60']);
  const fp = fingerprintOf(child.pid!);
  assert.ok(fp, 'read the child\'s fingerprint while it lives');
  child.kill('SIGKILL');
  await waitForExit(child.pid!);
  return fp;
}

test('a token directory\'s name records its gateway, and only such a name is read back', () => {
  const me = selfFingerprint();
  const prefix = tokenDirPrefix(me);
  assert.deepEqual(tokenDirOwner(`${prefix}Ab12Cd`), me);
  assert.equal(tokenDirOwner('gateway-warden-Ab12Cd'), undefined, 'the older unrecorded name');
  assert.equal(tokenDirOwner(`${prefix}Ab12Cd.x`), undefined);
  assert.equal(tokenDirPrefix({ ...me, bootId: 'a/b' }), 'gateway-warden-', 'a boot id that cannot be in a name records nothing');
});

test('the directory of a dead gateway is removed; everything else is left exactly as it was', { skip: !POSIX }, async () => {
  const at = base();
  const me = selfFingerprint();
  const dead = await deadFingerprint();
  const live = fingerprintOf(spawnTracked('sleep', ['60']).pid!)!;
  const gone = tokenDir(at, dead);
  const reused = tokenDir(at, { ...me, startTime: me.startTime + 1 }); // our pid, another start: a dead gateway whose pid was reused
  const otherBoot = tokenDir(at, { ...live, bootId: '00000000-0000-0000-0000-000000000000' });
  const kept = {
    live: tokenDir(at, live),
    self: tokenDir(at, me),
    looseDir: tokenDir(at, dead, { dirMode: 0o755 }),
    looseToken: tokenDir(at, dead, { tokenMode: 0o644 }),
    extra: tokenDir(at, dead),
    empty: fs.mkdtempSync(path.join(at, tokenDirPrefix(dead))),
    linkToken: fs.mkdtempSync(path.join(at, tokenDirPrefix(dead))),
    dirToken: fs.mkdtempSync(path.join(at, tokenDirPrefix(dead))),
    unrecorded: fs.mkdtempSync(path.join(at, 'gateway-warden-')),
    link: path.join(at, `${tokenDirPrefix(dead)}LnK123`),
  };
  fs.writeFileSync(path.join(kept.extra, 'mine'), 'a file the gateway never wrote');
  fs.chmodSync(kept.empty, 0o700);
  const victim = path.join(base(), 'victim');
  fs.writeFileSync(victim, 'must survive');
  fs.chmodSync(kept.linkToken, 0o700);
  fs.symlinkSync(victim, path.join(kept.linkToken, 'token'));
  fs.chmodSync(kept.dirToken, 0o700);
  fs.mkdirSync(path.join(kept.dirToken, 'token'));
  fs.chmodSync(kept.unrecorded, 0o700);
  fs.writeFileSync(path.join(kept.unrecorded, 'token'), 'x\n', { mode: 0o600 });
  const target = tokenDir(base(), dead); // a link named like a leftover, to a real-looking one elsewhere
  fs.symlinkSync(target, kept.link);

  const logs: string[] = [];
  const r = removeDeadTokenDirs(at, me, (m) => logs.push(m));
  assert.deepEqual([...r.removed].sort(), [gone, reused, otherBoot].sort());
  assert.equal(r.stoppedEarly, false);
  for (const d of [gone, reused, otherBoot]) assert.equal(fs.existsSync(d), false, `${d} removed`);
  for (const [what, d] of Object.entries(kept)) assert.ok(fs.existsSync(d) || fs.lstatSync(d).isSymbolicLink(), `${what} kept`);
  assert.ok(fs.lstatSync(kept.link).isSymbolicLink(), 'the link is kept');
  assert.ok(fs.existsSync(path.join(target, 'token')), 'nothing behind the link was touched');
  assert.equal(fs.readFileSync(victim, 'utf8'), 'must survive');
  assert.ok(fs.existsSync(path.join(kept.extra, 'mine')));
  assert.match(logs.join('\n'), /removed 3 token directories of dead gateways/);
});

test('one start removes a bounded number; the next start goes on', { skip: !POSIX }, async () => {
  const at = base();
  const dead = await deadFingerprint();
  for (let i = 0; i < 5; i++) tokenDir(at, dead);
  const logs: string[] = [];
  const first = removeDeadTokenDirs(at, selfFingerprint(), (m) => logs.push(m), { maxRemoved: 2 });
  assert.equal(first.removed.length, 2);
  assert.equal(first.stoppedEarly, true);
  assert.match(logs.join('\n'), /the next start goes on/);
  assert.equal(fs.readdirSync(at).length, 3);
  const none = removeDeadTokenDirs(at, selfFingerprint(), () => undefined, { budgetMs: 0 });
  assert.deepEqual(none, { removed: [], stoppedEarly: true }, 'a spent time budget removes nothing');
  const rest = removeDeadTokenDirs(at, selfFingerprint(), () => undefined);
  assert.equal(rest.removed.length, 3);
  assert.deepEqual(fs.readdirSync(at), []);
});

test('a base that cannot be listed is logged, not thrown', { skip: !POSIX }, () => {
  const logs: string[] = [];
  const r = removeDeadTokenDirs(path.join(base(), 'missing'), selfFingerprint(), (m) => logs.push(m));
  assert.deepEqual(r, { removed: [], stoppedEarly: false });
  assert.match(logs.join('\n'), /could not look for token directories of dead gateways .*ENOENT/);
});
