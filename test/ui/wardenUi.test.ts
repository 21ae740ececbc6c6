// WardenUi's glue against a fake vscode module and a real WardenHost (gateway = the fake fixture
// run as a custom command, so crash loops are real).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import type { OrphanItem, OrphanScan } from '../../src/host/orphanSource';
import { DEFAULT_SETTINGS, WardenSettings } from '../../src/host/settings';
import { WardenHost } from '../../src/host/wardenHost';
import { COMMAND_IDS } from '../../src/ui/commands';
import { COPY_REPORT_COMMAND, LEAK_ACTIONS, MUTED_KEY, StateStore } from '../../src/ui/leakAlerts';
import { ALERT_BACKGROUND } from '../../src/ui/statusBar';
import { WardenUi } from '../../src/ui/wardenUi';
import { FAKE_GATEWAY, memoryLog } from '../host/fakeGatewaySpec';
import { cgroupsUnavailable, trackTree } from '../support/cgroups';
import { killTracked, track, waitFor } from '../support/processes';
import { fakeVscodeModule, Notification } from './fakeVscodeModule';

after(killTracked);
const linux = process.platform === 'linux';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-ui-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function setup(name: string, opts: { orphans?: (OrphanItem[] | OrphanScan)[]; answer?: (n: Notification) => string | undefined; settings?: Partial<WardenSettings>; commandsReject?: boolean; globalState?: StateStore; atCapForMs?: number } = {}) {
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
    orphans: { scan: async () => { const s = scans.shift() ?? []; return Array.isArray(s) ? { items: s } : s; }, clear: async (items) => items.map((i) => ({ pid: i.pid, ok: true, message: 'ended' })) },
    graceMs: () => 100,
    settings: () => settings,
    globalState: opts.globalState,
    atCapForMs: opts.atCapForMs,
  });
  return { fake, host, ui, log, settings };
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

test('Refresh by a scan that could not read the whole process table keeps the orphans known before; a complete one drops them', async () => {
  const { fake, host, ui } = setup('incomplete-orphans', { orphans: [[orphan(8)], [orphan(8)], { items: [], incomplete: 'EMFILE: too many open files' }, []] });
  await ui.startupScan(10);
  await fake.registered.get('gatewayWarden.refresh')!();
  ui.tree.refreshNow();
  assert.equal(ui.tree.getChildren()[0]?.id, 'orphans', 'an unread orphan is not a gone one');
  assert.deepEqual(ui.tree.getChildren(ui.tree.getChildren()[0]).map((n) => n.id), ['orphan/8/8']);
  await fake.registered.get('gatewayWarden.refresh')!();
  ui.tree.refreshNow();
  assert.equal(ui.tree.getChildren().length, 0, 'a complete scan that finds none drops it');
  ui.dispose();
  await host.dispose();
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

function memoryStore(initial: Record<string, unknown> = {}): StateStore & { values: Map<string, unknown> } {
  const values = new Map(Object.entries(initial));
  return { values, get: <T>(k: string) => values.get(k) as T | undefined, update: async (k: string, v: unknown) => void values.set(k, v) };
}

test('leak check: an orphan that appears after start-up warns once with Clear Orphans / Show / Copy Report / Don\'t Show Again; the status bar turns to the warning colour until it is gone', async () => {
  let pick: string | undefined = LEAK_ACTIONS.report;
  const { fake, host, ui } = setup('leak-orphan', {
    // start-up: nothing (twice: no retry needed); then the checks.
    orphans: [[], [orphan(21)], [orphan(21)], [orphan(21), orphan(22)], []],
    answer: (n) => (n.kind === 'warning' ? pick : undefined),
  });
  await ui.startupScan(10);
  assert.equal(fake.notifications.length, 0);
  assert.equal((fake.status as { backgroundColor?: unknown }).backgroundColor, undefined);

  await ui.leakWatch.check();
  const n = fake.notifications.filter((x) => x.kind === 'warning');
  assert.equal(n.length, 1);
  assert.match(n[0].message, /^Gateway Warden: 1 orphaned process whose owner is gone \(pid 21\)\.$/);
  assert.deepEqual(n[0].items, ['Clear Orphans', 'Show', 'Copy Report', "Don't Show Again"]);
  await waitFor(() => fake.executed.find((e) => e.id === COPY_REPORT_COMMAND), 'Copy Report runs the report command');
  const bg = (fake.status as { backgroundColor?: { id: string } }).backgroundColor;
  assert.equal(bg?.id, ALERT_BACKGROUND);
  assert.match(fake.status.tooltip, /\nWarning: 1 orphaned process whose owner is gone \(pid 21\)\./);
  ui.tree.refreshNow();
  assert.equal(ui.tree.getChildren().find((c) => c.id === 'orphans')?.children.length, 1, 'the check\'s scan fills the tree too');

  pick = LEAK_ACTIONS.clear;
  await ui.leakWatch.check();
  assert.equal(fake.notifications.filter((x) => x.kind === 'warning').length, 1, 'the same orphan: no second warning');
  await ui.leakWatch.check();
  const second = fake.notifications.filter((x) => x.kind === 'warning');
  assert.equal(second.length, 2, 'a new orphan beside the first is news');
  assert.match(second[1].message, /\(pid 22\) \(2 orphaned in all\)/);
  await waitFor(() => fake.executed.find((e) => e.id === 'gatewayWarden.clearOrphans'), 'Clear Orphans runs the clear command');

  await ui.leakWatch.check();
  assert.equal((fake.status as { backgroundColor?: unknown }).backgroundColor, undefined, 'gone: the colour goes');
  assert.doesNotMatch(fake.status.tooltip, /Warning:/);
  ui.dispose();
  await host.dispose();
});

test('leak alerts: orphans announced at start-up are not announced again; Don\'t Show Again persists per condition in globalState and silences only that condition', async () => {
  const state = memoryStore({ [MUTED_KEY]: ['memory', 'bogus', 42] });
  const { fake, host, ui } = setup('leak-mute', {
    orphans: [[orphan(31)], [orphan(31)], [orphan(31)], [], [orphan(32)], [orphan(33)]],
    answer: (n) => (n.message.startsWith('Gateway Warden:') ? LEAK_ACTIONS.mute : undefined),
    globalState: state,
  });
  await ui.startupScan(10);
  assert.equal(fake.notifications.filter((x) => x.kind === 'warning').length, 1, 'the start-up notification');
  await ui.leakWatch.check();
  assert.equal(fake.notifications.filter((x) => x.kind === 'warning').length, 1, 'not announced twice');
  assert.equal((fake.status as { backgroundColor?: { id: string } }).backgroundColor?.id, ALERT_BACKGROUND, 'but it holds');
  await ui.leakWatch.check(); // gone
  await ui.leakWatch.check(); // a new one → warned, answered Don't Show Again
  assert.equal(fake.notifications.filter((x) => x.kind === 'warning').length, 2);
  await waitFor(() => (state.values.get(MUTED_KEY) as string[]).includes('orphans'), 'orphans muted in globalState');
  assert.deepEqual(state.values.get(MUTED_KEY), ['orphans', 'memory'], 'known conditions only, in order');
  await ui.leakWatch.check(); // another new one: muted
  assert.equal(fake.notifications.filter((x) => x.kind === 'warning').length, 2, 'muted: no warning');
  assert.equal((fake.status as { backgroundColor?: { id: string } }).backgroundColor?.id, ALERT_BACKGROUND, 'muted conditions still colour the status bar');
  ui.dispose();
  await host.dispose();
});

test('leak alerts off (interval 0): no check is scheduled, and orphans found by a Refresh do not colour the status bar', async () => {
  const { fake, host, ui } = setup('leak-off', { settings: { alertIntervalMs: 0 }, orphans: [[orphan(41)]] });
  assert.equal(ui.leakWatch.scheduled, false);
  await fake.registered.get('gatewayWarden.refresh')!();
  assert.match(fake.status.text, /\$\(warning\) 1/, 'the orphan is counted');
  assert.equal((fake.status as { backgroundColor?: unknown }).backgroundColor, undefined);
  assert.equal(fake.notifications.length, 0);
  ui.dispose();
  await host.dispose();
  const on = setup('leak-on', { orphans: [[orphan(42)]] });
  assert.equal(on.ui.leakWatch.scheduled, true, 'the default 5 minutes');
  await on.fake.registered.get('gatewayWarden.refresh')!();
  assert.equal((on.fake.status as { backgroundColor?: { id: string } }).backgroundColor?.id, ALERT_BACKGROUND, 'on: the orphan condition holds');
  assert.equal(on.fake.notifications.length, 0, 'seen in the tree after a Refresh: not announced');
  on.ui.dispose();
  await on.host.dispose();
});

test('real gateway at maxWorkers 1: a worker alive at the cap past the (shortened) minute warns once with no further event, the status bar turns; Kill Worker clears it after the dip', { skip: !linux }, async () => {
  const gatewayJs = path.resolve(__dirname, '../../../dist/gateway.js');
  const { fake, host, ui } = setup('leak-cap', { settings: { gatewayArgs: ['--max-semi-space-size=1', gatewayJs], maxWorkers: 1 }, atCapForMs: 300 });
  host.supervisor.onEvent((e) => {
    if (e.type === 'worker.started') track(e.pid as number, true);
  });
  try {
    await host.supervisor.start();
    const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', {});
    await host.supervisor.request('slash.exec', { sessionId, command: '/echo hi' });
    const warn = await waitFor(() => fake.notifications.find((n) => n.kind === 'warning' && /workers have been alive/.test(n.message)), 'the at-cap warning from the recheck timer', 10_000);
    assert.match(warn.message, /^Gateway Warden: 1 of 1 workers have been alive for \d+ s \(gatewayWarden\.limits\.maxWorkers\)/);
    assert.deepEqual(warn.items, ['Show', 'Copy Report', "Don't Show Again"], 'no Clear Orphans for this one');
    assert.equal((fake.status as { backgroundColor?: { id: string } }).backgroundColor?.id, ALERT_BACKGROUND);
    assert.match(fake.status.tooltip, /\nWarning: 1 of 1 workers have been alive/);
    await host.supervisor.request('worker.kill', { sessionId });
    await waitFor(() => (fake.status as { backgroundColor?: unknown }).backgroundColor === undefined, 'the colour gone 5 s after the worker went', 15_000);
    assert.equal(fake.notifications.filter((n) => /workers have been alive/.test(n.message)).length, 1, 'warned once');
  } finally {
    ui.dispose();
    await host.dispose();
  }
});

test('real gateway at limits.workerMemoryMB 64: a /run memory hog restarts the worker with a warning naming the setting; a 4th restart in 10 minutes raises the leak alert once', { skip: !linux }, async () => {
  const gatewayJs = path.resolve(__dirname, '../../../dist/gateway.js');
  const { fake, host, ui } = setup('mem-ceiling', { settings: { gatewayArgs: ['--max-semi-space-size=1', gatewayJs], workerMemoryMB: 64 } });
  host.supervisor.onEvent((e) => {
    if (e.type === 'worker.started') track(e.pid as number, true);
  });
  const hog = `/run ${JSON.stringify(process.execPath)} -e "const b=Buffer.alloc(150*1024*1024,1);setInterval(()=>b[0]++,60000)" >/dev/null 2>&1 & echo hog=$!`;
  try {
    await host.supervisor.start();
    const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', { label: 'hungry' });
    let restarts = 0;
    host.supervisor.onEvent((e) => {
      if (e.type === 'worker.restarted') restarts++;
    });
    for (let i = 1; i <= 4; i++) {
      const out = await host.supervisor.request<{ output: string }>('slash.exec', { sessionId, command: hog });
      track(Number(/hog=(\d+)/.exec(out.output)?.[1]));
      await waitFor(() => restarts >= i, `restart ${i}`, 20_000);
      if (i === 1) {
        const warn = await waitFor(() => fake.notifications.find((n) => n.kind === 'warning' && /was restarted/.test(n.message)), 'the restart warning');
        assert.match(warn.message, /^Gateway Warden: the worker of session "hungry" \(pid \d+\) was restarted: its processes together used \d+ MB, above gatewayWarden\.limits\.workerMemoryMB \(64 MB\)\./);
        assert.deepEqual(warn.items, ['Open Settings', 'Show']);
        assert.equal(host.model.list().length, 1, 'the session stays in the tree');
      }
    }
    const alert = await waitFor(() => fake.notifications.find((n) => n.kind === 'warning' && /restarted 4 times in \d+ min/.test(n.message)), 'the fourth leak alert');
    assert.match(alert.message, /session "hungry" was restarted 4 times in \d+ min for using more memory than gatewayWarden\.limits\.workerMemoryMB \(64 MB\)/);
    assert.deepEqual(alert.items, ['Show', 'Copy Report', "Don't Show Again"]);
    assert.equal((fake.status as { backgroundColor?: { id: string } }).backgroundColor?.id, ALERT_BACKGROUND);
    assert.equal(fake.notifications.filter((n) => /restarted \d+ times in/.test(n.message)).length, 1, 'warned once');
  } finally {
    ui.dispose();
    await host.dispose();
  }
});

test('alerts.totalMemoryMB raised while its alert holds: judged again at once (not at the next check), the status bar colour goes', { skip: !linux }, async () => {
  const { fake, host, ui, settings } = setup('memory-setting', { settings: { alertTotalMemoryBytes: 1024 * 1024 } });
  const background = () => (fake.status as { backgroundColor?: { id: string } }).backgroundColor?.id;
  try {
    await host.supervisor.start();
    await ui.leakWatch.check();
    assert.equal(background(), ALERT_BACKGROUND, 'a gateway uses more than 1 MB');
    assert.match(fake.status.tooltip ?? '', /gatewayWarden\.alerts\.totalMemoryMB \(1 MB\)/);
    settings.alertTotalMemoryBytes = 64 * 1024 * 1024 * 1024;
    ui.rescheduleAlerts();
    await waitFor(() => background() === undefined, 'the alert colour gone under the new threshold', 10_000);
    assert.doesNotMatch(fake.status.tooltip ?? '', /totalMemoryMB/);
  } finally {
    ui.dispose();
    await host.dispose();
  }
});

test('real gateway, view visible: a session row shows its total with its /run child (from its cgroup leaf where the gateway made a tree) and the status bar tooltip the gateway\'s total', { skip: !linux }, async () => {
  const gatewayJs = path.resolve(__dirname, '../../../dist/gateway.js');
  const { fake, host, ui } = setup('totals', { settings: { gatewayArgs: ['--max-semi-space-size=1', gatewayJs] } });
  host.supervisor.onEvent((e) => {
    if (e.type === 'worker.started') track(e.pid as number, true);
  });
  try {
    await host.supervisor.start();
    const tree = host.supervisor.gateway?.readyEvent?.cgroup;
    if (typeof tree === 'string') trackTree(tree);
    assert.equal(typeof tree, cgroupsUnavailable() ? 'object' : 'string', `gateway.ready cgroup: ${JSON.stringify(tree)}`);
    const { sessionId } = await host.supervisor.request<{ sessionId: string }>('session.create', { label: 'costly' });
    const out = await host.supervisor.request<{ output: string }>('slash.exec', { sessionId, command: `/run ${JSON.stringify(process.execPath)} -e "const b=Buffer.alloc(40*1024*1024,1);setInterval(()=>b[0]++,60000)" >/dev/null 2>&1 & echo bg=$!` });
    track(Number(/bg=(\d+)/.exec(out.output)?.[1]));
    fake.setVisible(true);
    const row = await waitFor(() => {
      ui.tree.refreshNow();
      const s = ui.tree.getChildren()[0]?.children.find((n) => n.id === `session/${sessionId}`);
      // Worker (~45 MB) and the 40 MB child together.
      const mb = Number(/Σ (?:[\d.]+% CPU · )?([\d.]+) MB/.exec(s?.description ?? '')?.[1]);
      return mb > 80 ? s : undefined;
    }, 'the session total with its child', 15_000, 100);
    const from = typeof tree === 'string' ? 'from its cgroup\'s files' : 'from the process table';
    assert.ok(row.tooltip!.includes(`Total of its worker and everything it started (`) && row.tooltip!.includes(from), row.tooltip);
    await waitFor(() => /\nTotal: [\d.]+ MB/.test(fake.status.tooltip ?? ''), 'the gateway total in the status bar tooltip', 10_000);
    assert.match(fake.status.tooltip, typeof tree === 'string' ? /the gateway, its workers and everything they started; its cgroup\)/ : /everything they started; \d+ processes\)/);

    // Hidden (no sampling), restarted: the last sample described the gateway before, not this one.
    fake.setVisible(false);
    const before = host.supervisor.current.pid;
    await host.supervisor.restart();
    const now = host.supervisor.current;
    assert.ok(now.state === 'running' && now.pid !== before, JSON.stringify(now));
    if (typeof now.pid === 'number') track(now.pid, true);
    const again = host.supervisor.gateway?.readyEvent?.cgroup;
    if (typeof again === 'string') trackTree(again);
    assert.doesNotMatch(fake.status.tooltip ?? '', /\nTotal: /, 'no total from a sample of the gateway before');
  } finally {
    fake.setVisible(false);
    ui.dispose();
    await host.dispose();
  }
});
