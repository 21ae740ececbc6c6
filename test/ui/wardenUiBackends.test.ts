// The hermes and command backends through the extension's own glue: settings → launch → the
// REAL gateway (dist/gateway.js) running the fake hermes (test/fixtures/hermes, real python
// processes) or a command → the model → the tree, status bar and notifications of a fake vscode
// module. Every process is real; each test ends with none of them left.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { formatFingerprint, selfFingerprint } from '../../src/core/fingerprint';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { readProcCmdline, readProcEnvVar, readProcStat } from '../../src/core/procfs';
import { DEFAULT_SETTINGS, WardenSettings } from '../../src/host/settings';
import { WardenHost } from '../../src/host/wardenHost';
import type { TreeNode } from '../../src/ui/treeNodes';
import { WardenUi } from '../../src/ui/wardenUi';
import { memoryLog } from '../host/fakeGatewaySpec';
import { FAKE_HERMES_DIR, fakeHermesUnavailable } from '../support/fakeHermes';
import { isAlive, killTracked, pidsWithMarker, track, waitFor } from '../support/processes';
import { fakeVscodeModule } from './fakeVscodeModule';
import { DEFAULT_TIMEOUTS } from '../../src/core/timeouts';

after(killTracked);
const root = path.resolve(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-uib-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
// Everything the hosts here start carries this process's fingerprint as its owner marker.
const marker = formatFingerprint(selfFingerprint());
const skip = process.platform !== 'linux' ? 'Linux only (/proc)' : fakeHermesUnavailable();
// The fake's workers must not write __pycache__ into the fixture folder.
process.env.PYTHONDONTWRITEBYTECODE = '1';

function setup(name: string, settings: Partial<WardenSettings>) {
  const fake = fakeVscodeModule();
  const log = Object.assign(memoryLog(), { show: () => undefined });
  const all: WardenSettings = { ...DEFAULT_SETTINGS, timeouts: { ...DEFAULT_TIMEOUTS, shutdownGraceMs: 200, pollMs: 200 }, ...settings };
  const host = new WardenHost({ extensionPath: root, checkpointDir: path.join(tmp, name), log, settings: () => all });
  host.supervisor.onDidStart((gw) => track(gw.pid, true));
  host.supervisor.onEvent((e) => {
    if (e.type === 'worker.started' || e.type === 'worker.stale') track(e.pid as number, true);
    if (e.type === 'backend.state' && typeof e.pid === 'number') track(e.pid);
  });
  const ui = new WardenUi({
    vs: fake.vs as unknown as typeof vscode,
    host,
    log: log as unknown as vscode.LogOutputChannel,
    orphans: { scan: async () => ({ items: [] }), clear: async () => [] },
    graceMs: () => 200,
  });
  const close = async () => {
    ui.dispose();
    await host.dispose();
    await waitFor(() => pidsWithMarker(marker).length === 0, 'no process of the test\'s hosts left', 10_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${pidsWithMarker(marker).map((p) => `${p} ${readProcCmdline(p).join(' ')}`).join('; ')}\n${log.lines.slice(-40).join('\n')}`);
    });
  };
  return { fake, host, ui, log, close };
}

const flat = (ns: readonly TreeNode[]): TreeNode[] => ns.flatMap((n) => [n, ...flat(n.children)]);
const rows = (ui: WardenUi) => {
  ui.tree.refreshNow();
  return flat(ui.tree.getChildren());
};

test('hermes (fake): the tree shows the hermes gateway and the session\'s real slash_worker with its pid; the status bar says hermes; a stale worker shows under the gateway until it is reaped; nothing left after dispose', { skip }, async () => {
  const prevGrace = process.env.GATEWAY_WARDEN_STALE_WORKER_GRACE_MS;
  process.env.GATEWAY_WARDEN_STALE_WORKER_GRACE_MS = '1500';
  const { fake, host, ui, close } = setup('hermes', { backend: 'hermes', gatewayCwd: FAKE_HERMES_DIR });
  try {
    await host.supervisor.start();
    assert.match(host.supervisor.current.command!, /gateway\.js --poll-ms 200 --shutdown-grace-ms 200 --backend hermes --cwd \S+fixtures\/hermes$/);
    const program = await waitFor(() => rows(ui).find((n) => n.label === 'hermes gateway' && /^pid \d+ · running/.test(n.description ?? '')), 'the hermes gateway row, running');
    const hermesPid = Number(/^pid (\d+)/.exec(program.description!)![1]);
    assert.deepEqual(readProcCmdline(hermesPid).slice(-2), ['-m', 'tui_gateway.entry'], 'the row names the real hermes process');
    assert.equal(readProcStat(hermesPid)?.ppid, host.supervisor.current.pid, 'a child of our gateway');
    assert.match(program.contextValue, /\bprocessKillable\b/);

    fake.vs.window.showInputBox = async () => 'alpha';
    await fake.registered.get('gatewayWarden.newSession')!();
    const worker = await waitFor(() => {
      const s = rows(ui).find((n) => n.label === 'alpha');
      return s?.children.find((c) => c.label === 'Worker');
    }, 'the worker row under session "alpha"', 20_000);
    const pid = Number(/^pid (\d+)/.exec(worker.description!)![1]);
    const argv = readProcCmdline(pid);
    assert.deepEqual(argv.slice(1, 4), ['-m', 'tui_gateway.slash_worker', '--session-key'], `pid ${pid} is hermes' slash_worker: ${argv.join(' ')}`);
    assert.equal(readProcStat(pid)?.ppid, hermesPid, 'hermes started it');
    assert.equal(readProcEnvVar(pid, OWNER_ENV), marker, 'it carries the owner marker');
    assert.match(fake.status.text, /^\$\(server-process\) hermes 1 of 16 workers$/);
    assert.match(fake.status.tooltip, /Backend: hermes — python3 -m tui_gateway\.entry: running \(pid \d+\)/);

    // A stale worker (hermes #21467): its session closed inside hermes, the worker left running.
    const sessionId = host.model.list()[0].sessionId;
    const stale = await host.supervisor.request<{ pid: number }>('backend.call', { method: 'fake.stale_worker', params: { session_id: sessionId } }, 20_000);
    track(stale.pid, true);
    const staleRow = await waitFor(() => rows(ui).find((n) => n.label === 'Stale worker'), 'the stale worker row', 15_000);
    assert.match(staleRow.description!, new RegExp(`^pid ${stale.pid} · its session is gone · taken down in \\d+s`));
    assert.equal(staleRow.parentId, 'gateway');
    assert.match(staleRow.contextValue, /\bprocessKillable\b/);
    await waitFor(() => !rows(ui).some((n) => n.label === 'Stale worker'), 'the stale row to go once the gateway reaped it', 15_000);
    await waitFor(() => !isAlive(stale.pid), `stale worker ${stale.pid} gone from the process table`, 5000);
    assert.equal(fake.notifications.filter((n) => n.kind === 'error').length, 0, fake.notifications.map((n) => n.message).join('\n'));

    // Kill Worker on a hermes worker: through the gateway (worker.kill); the session stays.
    fake.vs.window.showInputBox = async () => 'gamma';
    await fake.registered.get('gatewayWarden.newSession')!();
    const gammaWorker = await waitFor(() => rows(ui).find((n) => n.label === 'gamma')?.children.find((c) => c.label === 'Worker'), 'the worker of "gamma"', 20_000);
    const gammaPid = Number(/^pid (\d+)/.exec(gammaWorker.description!)![1]);
    await fake.registered.get('gatewayWarden.killWorker')!(gammaWorker);
    await waitFor(() => !isAlive(gammaPid), `worker ${gammaPid} killed`, 10_000);
    await waitFor(() => {
      const s = rows(ui).find((n) => n.label === 'gamma');
      return s && !s.children.some((c) => c.id === gammaWorker.id);
    }, 'its row gone, the session kept', 10_000);
  } finally {
    if (prevGrace === undefined) delete process.env.GATEWAY_WARDEN_STALE_WORKER_GRACE_MS;
    else process.env.GATEWAY_WARDEN_STALE_WORKER_GRACE_MS = prevGrace;
    await close();
  }
});

test('hermes (fake, older hermes whose workers share the gateway\'s group): the worker row lists no children — not our gateway nor hermes, its group mates', { skip }, async () => {
  const prevFlavor = process.env.FAKE_HERMES_FLAVOR;
  process.env.FAKE_HERMES_FLAVOR = 'leaky';
  const { fake, host, ui, close } = setup('hermes', { backend: 'hermes', gatewayCwd: FAKE_HERMES_DIR });
  try {
    await host.supervisor.start();
    fake.vs.window.showInputBox = async () => 'leaky';
    await fake.registered.get('gatewayWarden.newSession')!();
    const worker = await waitFor(() => rows(ui).find((n) => n.label === 'leaky')?.children.find((c) => c.label === 'Worker'), 'the worker row', 20_000);
    const pid = Number(/^pid (\d+)/.exec(worker.description!)![1]);
    assert.equal(readProcStat(pid)?.pgid, host.supervisor.current.pid, 'the worker is in our gateway\'s group (older hermes)');
    fake.setVisible(true);
    // Sampled (its memory shows): the sample that would list group mates as children has run.
    const sampled = await waitFor(() => {
      const w = rows(ui).find((n) => n.label === 'leaky')?.children.find((c) => c.label === 'Worker');
      return w && / MB$/.test(w.description ?? '') && w;
    }, 'the worker row sampled', 15_000);
    assert.deepEqual(sampled.children.map((c) => c.description), []);
    fake.setVisible(false);
  } finally {
    if (prevFlavor === undefined) delete process.env.FAKE_HERMES_FLAVOR;
    else process.env.FAKE_HERMES_FLAVOR = prevFlavor;
    await close();
  }
});

test('hermes with a python that cannot find tui_gateway: the gateway runs, the hermes row and the status bar say failed, and an error with the why, the venv hint, Show Log and Open Settings', { skip }, async () => {
  const { fake, host, ui, close } = setup('hermes-missing', { backend: 'hermes', gatewayCwd: tmp });
  try {
    await host.supervisor.start();
    const n = await waitFor(() => fake.notifications.find((x) => x.kind === 'error'), 'the error notification', 20_000);
    assert.match(n.message, /^Gateway Warden: hermes-agent's gateway did not start: `python3 -m tui_gateway\.entry` \(cwd [^)]+\) exited \(exit code 1\).*is hermes-agent installed for that interpreter.*No module named 'tui_gateway'.* — Set gatewayWarden\.gateway\.command to the python of your hermes-agent environment/);
    assert.deepEqual(n.items, ['Show Log', 'Open Settings']);
    assert.equal(host.supervisor.current.state, 'running', 'our gateway stays up, answering');
    assert.match(fake.status.text, /^\$\(error\) hermes failed/);
    const p = rows(ui).find((r) => r.label === 'hermes gateway')!;
    assert.equal(p.icon, 'error');
    assert.equal(p.contextValue, 'program', 'nothing to kill');
    await assert.rejects(host.supervisor.request('session.create', {}), /hermes gateway is not running/);
    assert.equal(fake.notifications.filter((x) => x.kind === 'error').length, 1, 'said once');
  } finally {
    await close();
  }
});

test('hermes whose python lacks hermes\' dependencies (agent init fails, no worker ever): the session and the hermes row show the error, and a notification says to point gateway.command at the hermes venv', { skip }, async () => {
  process.env.FAKE_HERMES_AGENT_INIT_ERROR = "No module named 'httpx'";
  const { fake, host, ui, close } = setup('hermes-deps', { backend: 'hermes', gatewayCwd: FAKE_HERMES_DIR });
  try {
    await host.supervisor.start();
    delete process.env.FAKE_HERMES_AGENT_INIT_ERROR;
    await waitFor(() => host.model.backend()?.state === 'running', 'hermes running');
    const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', { label: 'beta' });
    const n = await waitFor(() => fake.notifications.find((x) => x.kind === 'error'), 'the error notification', 20_000);
    assert.match(n.message, new RegExp(`^Gateway Warden: hermes reported an error in session ${sessionId}: agent init failed: No module named 'httpx' — the python running hermes lacks its dependencies\\. Set gatewayWarden\\.gateway\\.command`));
    assert.deepEqual(n.items, ['Show Log', 'Open Settings']);
    const s = rows(ui).find((r) => r.label === 'beta')!;
    assert.match(s.description!, /error: agent init failed: No module named 'httpx'/);
    assert.equal(s.children.length, 0, 'no worker');
  } finally {
    delete process.env.FAKE_HERMES_AGENT_INIT_ERROR;
    await close();
  }
});

test('command: Gateway → the command → its descendants with pids from process.tree while the view is visible; Kill Process on a grandchild ends it (and only it), and without a row offers the killable rows; nothing left after dispose', { skip: process.platform !== 'linux' }, async () => {
  const script = 'sleep 300 & sleep 301 & wait';
  const { fake, host, ui, close } = setup('command', { backend: 'command', gatewayCommand: '/bin/sh', gatewayArgs: ['-c', script] });
  try {
    await host.supervisor.start();
    assert.match(host.supervisor.current.command!, /gateway\.js --poll-ms 200 --shutdown-grace-ms 200 --backend command -- \/bin\/sh -c/);
    // Not visible: no process.tree polling, the program row alone (from backend.state).
    const bare = await waitFor(() => rows(ui).find((n) => n.label === 'sh' && /^pid \d+ · running/.test(n.description ?? '')), 'the command row');
    assert.equal(bare.children.length, 0);
    fake.setVisible(true);
    const sh = await waitFor(() => {
      const r = rows(ui).find((n) => n.label === 'sh');
      return r && r.children.length === 2 ? r : undefined;
    }, 'the two sleeps under the command', 15_000);
    assert.equal(sh.parentId, 'gateway');
    const shPid = Number(/^pid (\d+)/.exec(sh.description!)![1]);
    assert.equal(readProcStat(shPid)?.ppid, host.supervisor.current.pid);
    assert.match(sh.description!, /MB/, 'memory shown');
    const [a, b] = sh.children.map((c) => Number(/^pid (\d+)/.exec(c.description!)![1]));
    for (const pid of [a, b]) {
      track(pid);
      assert.equal(readProcStat(pid)?.ppid, shPid, `${pid} is the command's child`);
      assert.match(readProcCmdline(pid).join(' '), /^sleep 30[01]$/);
    }
    assert.equal(fake.status.text, '$(server-process) command');
    const target = sh.children.find((c) => c.description!.startsWith(`pid ${a} `) || c.description === `pid ${a}`)!;
    await fake.registered.get('gatewayWarden.killProcess')!(target);
    await waitFor(() => !isAlive(a), `process ${a} killed`, 5000);
    assert.ok(isAlive(b) && isAlive(shPid), 'its sibling and the command live on');
    await waitFor(() => {
      const r = rows(ui).find((n) => n.label === 'sh');
      return r && r.children.length === 1;
    }, 'the killed row gone', 10_000);
    // No row (the palette; or a menu while VS Code re-fetches a refreshed row): a pick of the
    // rows that offer Kill Process, from the view as it is.
    let offered: string[] = [];
    fake.vs.window.showQuickPick = (async (items: { label: string; description?: string }[]) => {
      offered = items.map((i) => `${i.label} ${i.description}`);
      return items.find((i) => i.description?.startsWith(`pid ${b} `));
    }) as never;
    await fake.registered.get('gatewayWarden.killProcess')!();
    assert.equal(offered.length, 2, offered.join('; '));
    assert.match(offered[0], new RegExp(`^sh pid ${shPid} · running`));
    assert.match(offered[1], new RegExp(`^sleep pid ${b}\\b`));
    // (The command's `wait` then returns: the program exits, as it would anywhere.)
    await waitFor(() => !isAlive(b), `process ${b} killed from the pick`, 5000);
    fake.setVisible(false);
  } finally {
    await close();
  }
});

test('command that does not exist: the gateway runs and says so — a clear error naming the program, Show Log and Open Settings', { skip: process.platform !== 'linux' }, async () => {
  const { fake, host, close } = setup('command-missing', { backend: 'command', gatewayCommand: '/nonexistent/gw-test-tool', gatewayArgs: ['--serve'] });
  try {
    await host.supervisor.start();
    const n = await waitFor(() => fake.notifications.find((x) => x.kind === 'error'), 'the error notification', 20_000);
    assert.match(n.message, /the command backend's program did not start: cannot start `\/nonexistent\/gw-test-tool --serve` .*not found.* — check gatewayWarden\.gateway\.command, \.args and \.cwd\./);
    assert.deepEqual(n.items, ['Show Log', 'Open Settings']);
    assert.match(fake.status.text, /^\$\(error\) command failed$/);
  } finally {
    await close();
  }
});

test('hermes\' tui_gateway set as a Warden gateway (the backend left at embedded/warden): refused at its gateway.ready with "set gateway.backend to hermes", and stopped', { skip }, async () => {
  const prev = process.env.PYTHONPATH;
  process.env.PYTHONPATH = FAKE_HERMES_DIR;
  const { host, close } = setup('hermes-as-warden', { gatewayCommand: 'python3', gatewayArgs: ['-m', 'tui_gateway.entry'] });
  try {
    await assert.rejects(host.supervisor.start(), /^GatewayStartError: The gateway command python3 -m tui_gateway\.entry is hermes-agent's tui_gateway, which does not speak the Gateway Warden protocol .*Set gatewayWarden\.gateway\.backend to "hermes"/);
    assert.equal(host.supervisor.current.state, 'failed');
  } finally {
    if (prev === undefined) delete process.env.PYTHONPATH;
    else process.env.PYTHONPATH = prev;
    await close();
  }
});
