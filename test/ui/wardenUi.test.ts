// WardenUi's glue against a fake vscode module and a real WardenHost (gateway = the fake fixture
// run as a custom command, so crash loops are real).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import type { OrphanItem } from '../../src/host/orphanSource';
import { DEFAULT_SETTINGS, WardenSettings } from '../../src/host/settings';
import { WardenHost } from '../../src/host/wardenHost';
import { COMMAND_IDS } from '../../src/ui/commands';
import { WardenUi } from '../../src/ui/wardenUi';
import { FAKE_GATEWAY, memoryLog } from '../host/fakeGatewaySpec';
import { killTracked, track, waitFor } from '../support/processes';
import { fakeVscodeModule, Notification } from './fakeVscodeModule';

after(killTracked);
const linux = process.platform === 'linux';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-ui-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function setup(name: string, opts: { orphans?: OrphanItem[][]; answer?: (n: Notification) => string | undefined; settings?: Partial<WardenSettings>; commandsReject?: boolean } = {}) {
  const fake = fakeVscodeModule(opts.answer);
  if (opts.commandsReject) {
    // As in a host that is shutting down: every executeCommand rejects.
    fake.vs.commands.executeCommand = async (id: string) => {
      throw new Error(`command ${id} rejected`);
    };
  }
  const log = Object.assign(memoryLog(), { show: () => undefined });
  const settings: WardenSettings = { ...DEFAULT_SETTINGS, gatewayCommand: process.execPath, gatewayArgs: [FAKE_GATEWAY], ...opts.settings };
  const host = new WardenHost({
    extensionPath: tmp, checkpointDir: path.join(tmp, name), log, settings: () => settings,
    crashPolicy: { initialBackoffMs: 20, maxBackoffMs: 50 },
  });
  host.supervisor.onDidStart((gw) => track(gw.pid, true));
  const scans = [...(opts.orphans ?? [])];
  const ui = new WardenUi({
    vs: fake.vs as unknown as typeof vscode,
    host,
    log: log as unknown as vscode.LogOutputChannel,
    orphans: { scan: async () => scans.shift() ?? [], clear: async (items) => items.map((i) => ({ pid: i.pid, ok: true, message: 'ended' })) },
    graceMs: () => 100,
  });
  return { fake, host, ui, log };
}

const orphan = (pid: number): OrphanItem => ({ pid, startTime: pid, cmdline: `python -m tui_gateway.slash_worker ${pid}`, reason: 'owner host is dead', orphan: {} as OrphanItem['orphan'] });

test('registers every command, sets the context keys and shows the status bar', async () => {
  const { fake, host, ui } = setup('keys');
  assert.deepEqual([...fake.registered.keys()].sort(), [...COMMAND_IDS].sort());
  assert.equal(fake.context.get('gatewayWarden.gatewayState'), 'stopped');
  assert.equal(fake.context.get('gatewayWarden.gatewayActive'), false);
  assert.ok(fake.status.shown);
  assert.match(fake.status.text, /\$\(circle-slash\) 0/);
  ui.dispose();
  await host.dispose();
  assert.equal(fake.registered.size, 0, 'commands disposed with the UI');
});

test('a crash loop ends in an error notification with Show Log and Restart; Restart restarts', { skip: !linux }, async () => {
  process.env.FAKE_GATEWAY_MODE = 'crash-after-ready';
  let restartAsked = false;
  const { fake, host, ui } = setup('crashloop', {
    answer: (n) => {
      if (n.kind === 'error' && !restartAsked) {
        restartAsked = true;
        delete process.env.FAKE_GATEWAY_MODE; // the restart gets a healthy gateway
        return 'Restart';
      }
      return undefined;
    },
  });
  await host.supervisor.start().catch(() => undefined);
  const n = await waitFor(() => fake.notifications.find((x) => x.kind === 'error'), 'the give-up notification', 20_000);
  assert.match(n.message, /automatic restarts are stopped/);
  assert.deepEqual(n.items, ['Show Log', 'Restart']);
  await waitFor(() => host.supervisor.current.state === 'running', 'running again after Restart', 10_000);
  assert.ok(fake.executed.some((e) => e.id === 'gatewayWarden.restartGateway'));
  assert.equal(fake.context.get('gatewayWarden.gatewayState'), 'running');
  ui.dispose();
  await host.dispose();
});

test('start-up scan: an orphan seen twice → "Found 1 orphaned process…" with Clear/Show/Ignore; Show focuses the view; the tree gets an Orphans node', async () => {
  const { fake, host, ui } = setup('orphans', { orphans: [[orphan(5)], [orphan(5)]], answer: (n) => (n.kind === 'warning' ? 'Show' : undefined) });
  await ui.startupScan(10);
  const n = fake.notifications.find((x) => x.kind === 'warning')!;
  assert.equal(n.message, 'Found 1 orphaned process from an earlier session');
  assert.deepEqual(n.items, ['Clear', 'Show', 'Ignore']);
  assert.ok(fake.executed.some((e) => e.id === 'gatewayWarden.processes.focus'));
  ui.tree.refreshNow();
  assert.equal(ui.tree.getChildren()[0].id, 'orphans');
  assert.match(fake.status.text, /\$\(warning\) 1/);
  ui.dispose();
  await host.dispose();
});

test('start-up scan: an orphan gone on the retry (a reloading window) raises no notification', async () => {
  const { fake, host, ui } = setup('reload', { orphans: [[orphan(6)], []] });
  await ui.startupScan(10);
  assert.equal(fake.notifications.length, 0);
  ui.dispose();
  await host.dispose();
});

test('CPU/memory sampling runs only while the view is visible', async () => {
  const { fake, host, ui } = setup('visible');
  const sampler = (ui as unknown as { sampler: { running: boolean } }).sampler;
  assert.equal(sampler.running, false);
  fake.setVisible(true);
  assert.equal(sampler.running, linux);
  fake.setVisible(false);
  assert.equal(sampler.running, false);
  ui.dispose();
  await host.dispose();
});

test('rejections from executeCommand (setContext, view focus) never become unhandled rejections', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const { host, ui, log } = setup('rejects', { orphans: [[orphan(7)], [orphan(7)]], answer: (n) => (n.kind === 'warning' ? 'Show' : undefined), commandsReject: true });
    await ui.startupScan(10);
    await host.supervisor.stop(); // more context-key updates
    await waitFor(() => log.lines.some((l) => /orphan notification: command gatewayWarden\.processes\.focus rejected/.test(l)), 'the failed focus logged');
    // Let any stray rejection surface: Node reports unhandled rejections after the microtask queue drains.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled.map(String), []);
    ui.dispose();
    await host.dispose();
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('Refresh drops an orphan that exited by itself from the tree and the status bar', async () => {
  const { fake, host, ui } = setup('refresh-orphans', { orphans: [[orphan(8)], [orphan(8)], []] });
  await ui.startupScan(10);
  ui.tree.refreshNow();
  assert.equal(ui.tree.getChildren()[0]?.id, 'orphans');
  await fake.registered.get('gatewayWarden.refresh')!();
  assert.equal(ui.tree.getChildren().length, 0, 'no Orphans node after the rescan');
  assert.doesNotMatch(fake.status.text, /warning/);
  ui.dispose();
  await host.dispose();
});

// The whole chain with the real gateway: settings → launch environment → gateway caps →
// gateway.ready limits → status bar, and a refusal → warning → Open Settings on that setting.
test('real gateway at limits.maxSessions 1 / maxWorkers 1: the status bar shows "N of 1 worker"; a refused New Session is a warning whose Open Settings opens the setting', { skip: !linux }, async () => {
  const gatewayJs = path.resolve(__dirname, '../../../dist/gateway.js');
  const { fake, host, ui } = setup('limits', {
    settings: { gatewayArgs: ['--max-semi-space-size=1', gatewayJs], maxSessions: 1, maxWorkers: 1 },
    answer: (n) => (n.kind === 'warning' ? 'Open Settings' : undefined),
  });
  fake.vs.window.showInputBox = async () => '';
  host.supervisor.onEvent((e) => {
    if (e.type === 'worker.started') track(e.pid as number, true);
  });
  try {
    await host.supervisor.start();
    assert.deepEqual(host.supervisor.current.limits, { maxSessions: 1, maxWorkers: 1 });
    await waitFor(() => fake.status.text === '$(server-process) 0 of 1 worker', `status bar "0 of 1 worker" (is ${fake.status.text})`);
    const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', {});
    await host.supervisor.request('slash.exec', { sessionId, command: '/echo hi' });
    await waitFor(() => fake.status.text === '$(server-process) 1 of 1 worker', `status bar "1 of 1 worker" (is ${fake.status.text})`);

    await fake.registered.get('gatewayWarden.newSession')!();
    const warn = await waitFor(() => fake.notifications.find((n) => n.kind === 'warning'), 'the refusal warning');
    assert.match(warn.message, /^Could not create a session: maxSessions limit reached \(1\): 1 session is open\. .*gatewayWarden\.limits\.maxSessions/);
    assert.deepEqual(warn.items, ['Open Settings', 'Show Log']);
    assert.equal(fake.notifications.filter((n) => n.kind === 'error').length, 0);
    await waitFor(() => fake.executed.find((e) => e.id === 'workbench.action.openSettings'), 'Open Settings ran');
    assert.deepEqual(fake.executed.find((e) => e.id === 'workbench.action.openSettings')!.args, ['gatewayWarden.limits.maxSessions']);
  } finally {
    ui.dispose();
    await host.dispose();
  }
});
