// The host starts our gateway in a delegated systemd user scope when its own cgroup is not
// writable and a scope can be made, else as before. systemd-run is a stub here (this machine has
// no user manager): it logs its argv and, like `systemd-run --scope`, execs the command after `--`
// in place. The real gateway runs through it: same pid, serving requests.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CgroupProbe } from '../../src/core/cgroup/cgroupProbe';
import { selfFingerprint } from '../../src/core/fingerprint';
import { readProcCmdline } from '../../src/core/procfs';
import { launchSpec, LaunchSpec } from '../../src/host/launchSpec';
import { nullLog } from '../../src/host/seams';
import { readSettings } from '../../src/host/settings';
import { GatewaySupervisor } from '../../src/host/supervisor';
import { SystemdScopeLaunch } from '../../src/host/systemdScopeLaunch';
import { killTracked, track } from '../support/processes';

after(killTracked);

const linux = process.platform === 'linux';
const notWritable: CgroupProbe = { available: false, reason: 'cannot create cgroups in /sys/fs/cgroup/x (not writable by uid 1000)', forced: false };
const spec: LaunchSpec = { command: '/usr/bin/node', args: ['/ext/dist/gateway.js', '--poll-ms', '250'], env: {}, display: 'node gateway.js', embedded: true, backend: 'embedded' };
const PREFIX = ['/usr/bin/systemd-run', '--user', '--scope', '-p', 'Delegate=yes', '--quiet', '--collect', '--'];

test('wrap: only our gateway, only on Linux, only when our cgroup is not usable and not turned off; the probe runs once', async () => {
  const logs: string[] = [];
  let probes = 0;
  const mk = (own: CgroupProbe, platform: NodeJS.Platform = 'linux') => new SystemdScopeLaunch({
    log: (m) => logs.push(m), probeOwn: () => own, platform,
    probeScope: async () => (probes++, { prefix: PREFIX, why: 'ok' }),
  });
  const usable = { available: true } as unknown as CgroupProbe;
  assert.equal(await mk(usable).wrap(spec), spec, 'our own cgroup works: as is');
  assert.equal(await mk({ available: false, reason: 'GATEWAY_WARDEN_CGROUPS=off', forced: true }).wrap(spec), spec, 'turned off: as is');
  assert.equal(await mk(notWritable, 'darwin').wrap(spec), spec, 'not Linux: as is');
  const custom = { ...spec, embedded: false };
  assert.equal(await mk(notWritable).wrap(custom), custom, 'the user\'s own gateway: as is');
  assert.equal(probes, 0, 'no probe in any of these');
  const s = mk(notWritable);
  const wrapped = await s.wrap(spec);
  assert.deepEqual([wrapped.command, ...wrapped.args], [...PREFIX, spec.command, ...spec.args], 'the gateway argv after the scope prefix, untouched');
  assert.match(wrapped.display, /^\/usr\/bin\/systemd-run --user --scope .* -- \/usr\/bin\/node \/ext\/dist\/gateway\.js/);
  assert.equal(wrapped.embedded, true);
  await s.wrap(spec);
  await s.wrap(spec);
  assert.equal(probes, 1, 'one probe per window, however many (re)starts');
  assert.equal(logs.filter((l) => /delegated systemd user scope/.test(l)).length, 1, logs.join('\n'));
});

test('wrap: no scope possible (or the probe throws): the plain launch, and one line saying why', async () => {
  const logs: string[] = [];
  const no = new SystemdScopeLaunch({ log: (m) => logs.push(m), probeOwn: () => notWritable, platform: 'linux', probeScope: async () => ({ why: 'Failed to connect to bus: No medium found' }) });
  assert.equal(await no.wrap(spec), spec);
  assert.equal(await no.wrap(spec), spec);
  const broken = new SystemdScopeLaunch({ log: (m) => logs.push(m), probeOwn: () => notWritable, platform: 'linux', probeScope: async () => { throw new Error('boom'); } });
  assert.equal(await broken.wrap(spec), spec);
  const thrower = new SystemdScopeLaunch({ log: (m) => logs.push(m), probeOwn: () => { throw new Error('x'); }, platform: 'linux' });
  assert.equal(await thrower.wrap(spec), spec);
  assert.equal(logs.length, 2, logs.join('\n'));
  assert.match(logs[0], /not writable by uid 1000.*No medium found.*process groups/);
  assert.match(logs[1], /probe failed: boom/);
});

/** A stub systemd-run: logs its argv (one line per call), then execs what follows `--`, in place. */
function stubSystemdRun(failWith?: string): { dir: string; calls: () => string[][] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-scope-'));
  const log = path.join(dir, 'calls');
  const body = failWith
    ? `echo "$*" >> '${log}'; echo '${failWith}' >&2; exit 1`
    : `printf '%s\\037' "$@" >> '${log}'; echo >> '${log}'; while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done; shift; exec "$@"`;
  fs.writeFileSync(path.join(dir, 'systemd-run'), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\x1f').filter(Boolean)) : []);
  return { dir, calls };
}

async function runGateway(stub: { dir: string }, logs: string[]) {
  const { settings } = readSettings(() => undefined);
  const scope = new SystemdScopeLaunch({ log: (m) => logs.push(m), probeOwn: () => notWritable });
  const baseEnv = { ...process.env, PATH: `${stub.dir}:${process.env.PATH}` };
  const sup = new GatewaySupervisor({
    launch: () => scope.wrap(launchSpec(settings, { extensionPath: path.resolve(__dirname, '../../..'), owner: selfFingerprint(), baseEnv })),
    log: nullLog,
    readyTimeoutMs: 15_000,
  });
  sup.onDidStart((gw) => track(gw.pid, true));
  return sup;
}

test('the real gateway through a (stub) systemd-run --user --scope: exec\'d in place, same pid, serving', { skip: !linux }, async () => {
  const stub = stubSystemdRun();
  const logs: string[] = [];
  const sup = await runGateway(stub, logs);
  try {
    await sup.start();
    const st = sup.current;
    assert.equal(st.state, 'running');
    const pid = (st as { pid: number }).pid;
    assert.match(st.command ?? '', /systemd-run --user --scope -p Delegate=yes --quiet --collect -- /);
    const calls = stub.calls();
    assert.equal(calls.length, 2, `the probe and the gateway: ${JSON.stringify(calls)}`);
    assert.deepEqual(calls[0], [...PREFIX.slice(1), 'true'], 'the probe runs `true` in a throw-away scope');
    assert.deepEqual(calls[1].slice(0, PREFIX.length - 1), PREFIX.slice(1));
    assert.ok(calls[1].some((a) => a.endsWith(path.join('dist', 'gateway.js'))), calls[1].join(' '));
    // systemd-run exec'd the gateway in place: the pid the host spawned runs dist/gateway.js now.
    assert.ok(readProcCmdline(pid).some((a) => a.endsWith(path.join('dist', 'gateway.js'))), readProcCmdline(pid).join(' '));
    const created = await sup.request<{ sessionId: string }>('session.create', {}, 5000);
    const out = await sup.request<{ output: string }>('slash.exec', { sessionId: created.sessionId, command: '/echo scoped' }, 20_000);
    assert.match(out.output, /scoped/);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /runs in a delegated systemd user scope/);
  } finally {
    await sup.dispose();
    fs.rmSync(stub.dir, { recursive: true, force: true });
  }
});

test('systemd-run present but no user manager: the gateway starts as before, the log says why', { skip: !linux }, async () => {
  const stub = stubSystemdRun('Failed to connect to bus: No medium found');
  const logs: string[] = [];
  const sup = await runGateway(stub, logs);
  try {
    await sup.start();
    assert.equal(sup.current.state, 'running');
    assert.doesNotMatch(sup.current.command ?? '', /systemd-run/);
    assert.equal(stub.calls().length, 1, 'only the probe');
    assert.match(logs.join('\n'), /no delegated systemd scope can be made \(.*No medium found\)/);
  } finally {
    await sup.dispose();
    fs.rmSync(stub.dir, { recursive: true, force: true });
  }
});
