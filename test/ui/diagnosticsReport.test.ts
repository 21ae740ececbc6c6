// "Copy Diagnostics Report" through the fake vscode module, against a real WardenHost running the
// fake gateway: an untitled Markdown document with the gateway, settings and log (redacted), the
// same text on the clipboard; failures become notifications, never a rejection.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { DEFAULT_SETTINGS, WardenSettings } from '../../src/host/settings';
import { WardenHost } from '../../src/host/wardenHost';
import { COPIED_MESSAGE, LOG_CHANNEL } from '../../src/ui/diagnosticsReport';
import { WardenUi } from '../../src/ui/wardenUi';
import { FAKE_GATEWAY, memoryLog } from '../host/fakeGatewaySpec';
import { killTracked, track } from '../support/processes';
import { fakeVscodeModule } from './fakeVscodeModule';

after(killTracked);
const linux = process.platform === 'linux';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-ui-report-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SECRET_ARG = 'uiArgVALUE-secret1';
const SECRET_LOG = 'sk-uiLogVALUE0123456789';
const COMMAND = 'gatewayWarden.copyDiagnosticsReport';

function setup(name: string, opts: { settings?: () => WardenSettings } = {}) {
  const fake = fakeVscodeModule();
  const log = Object.assign(memoryLog(), { show: () => undefined });
  const settings: WardenSettings = { ...DEFAULT_SETTINGS, gatewayCommand: process.execPath, gatewayArgs: [FAKE_GATEWAY, `--api-key=${SECRET_ARG}`], backend: 'warden' };
  const checkpointDir = path.join(tmp, name, 'registry');
  const logDir = path.join(tmp, name, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  fs.writeFileSync(path.join(logDir, `${LOG_CHANNEL}.log`), `2026-01-01 [info] activated\n2026-01-01 [info] key ${SECRET_LOG} in use\n`);
  const host = new WardenHost({ extensionPath: tmp, checkpointDir, log, settings: () => settings });
  host.supervisor.onDidStart((gw) => track(gw.pid, true));
  const ui = new WardenUi({
    vs: fake.vs as unknown as typeof vscode,
    host,
    log: log as unknown as vscode.LogOutputChannel,
    orphans: { scan: async () => ({ items: [] }), clear: async () => [] },
    graceMs: () => 100,
    report: {
      extensionVersion: '0.0.0-test', checkpointDir, patterns: () => [], settings: opts.settings ?? (() => settings),
      settingsProblems: () => ['Setting gatewayWarden.watchdog.pollMs = 5 is outside 100–60000; using 1000.'], logDir,
    },
  });
  return { fake, host, ui, log };
}

test('the command is registered and opens the report as untitled Markdown, copied to the clipboard: gateway, settings, log, no secret', { skip: !linux }, async () => {
  const { fake, host, ui } = setup('ok');
  try {
    assert.ok(fake.registered.has(COMMAND));
    await host.supervisor.start();
    const pid = host.supervisor.current.pid!;
    await fake.vs.commands.executeCommand(COMMAND);
    assert.equal(fake.documents.length, 1);
    const doc = fake.documents[0];
    assert.equal(doc.language, 'markdown');
    assert.ok(doc.shown, 'shown in an editor');
    const md = doc.content ?? '';
    assert.equal(fake.clipboard.text, md, 'the same text on the clipboard');
    assert.match(md, /^# Gateway Warden diagnostics report/);
    assert.match(md, /\| VS Code \| Fake Code 1\.99\.0-fake \(desktop\) \|/);
    assert.match(md, /\| Gateway Warden \| 0\.0\.0-test \|/);
    assert.match(md, new RegExp(`^State: \\*\\*running\\*\\*, pid ${pid}$`, 'm'));
    assert.match(md, new RegExp(`^### Host ${host.owner.pid}:${host.owner.startTime}:\\S+ \\(this window\\)$`, 'm'));
    assert.match(md, new RegExp(`^${pid}\\s+[RSD]\\s+.*\\sgateway\\s`, 'm'), 'the gateway in this window\'s tree (its checkpoint)');
    assert.match(md, /\| gatewayWarden\.gateway\.args \| \S+fakeGateway\.js --api-key=\[redacted\] \|/);
    assert.match(md, /^- Setting gatewayWarden\.watchdog\.pollMs = 5 is outside/m);
    assert.match(md, /^## Orphans\n\nNo orphans found\./m);
    assert.match(md, /\[info\] key \[redacted\] in use/);
    assert.ok(!md.includes(SECRET_ARG) && !md.includes(SECRET_LOG), 'no secret');
    assert.deepEqual(fake.notifications.map((n) => [n.kind, n.message]), [['info', COPIED_MESSAGE]]);
  } finally {
    ui.dispose();
    await host.dispose();
  }
});

test('failures are notifications: no clipboard and no editor → an error; a failing build → an error; the command never rejects', async () => {
  const { fake, host, ui } = setup('fail');
  try {
    fake.clipboard.fail = new Error('clipboard unavailable');
    fake.vs.workspace.failOpen = new Error('no editor');
    await assert.doesNotReject(Promise.resolve(fake.vs.commands.executeCommand(COMMAND)));
    const n = fake.notifications.at(-1)!;
    assert.equal(n.kind, 'error');
    assert.match(n.message, /not copied to the clipboard \(clipboard unavailable\) and not opened in an editor \(no editor\)/);
    assert.deepEqual(n.items, ['Show Log']);

    fake.clipboard.fail = undefined;
    await fake.vs.commands.executeCommand(COMMAND);
    assert.equal(fake.notifications.at(-1)!.kind, 'warning', 'copied but not opened: a warning');
    assert.match(fake.clipboard.text, /^# Gateway Warden diagnostics report/);
  } finally {
    ui.dispose();
    await host.dispose();
  }
  const broken = setup('broken', { settings: () => { throw new Error('settings exploded'); } });
  try {
    await assert.doesNotReject(Promise.resolve(broken.fake.vs.commands.executeCommand(COMMAND)));
    const n = broken.fake.notifications.at(-1)!;
    assert.equal(n.kind, 'error');
    assert.match(n.message, /Could not make the diagnostics report: settings exploded/);
    assert.equal(broken.fake.documents.length, 0);
    assert.ok(broken.log.lines.some((l) => /settings exploded/.test(l)));
  } finally {
    broken.ui.dispose();
    await broken.host.dispose();
  }
});
