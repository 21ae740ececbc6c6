// The gateway's life inside a real extension host: it starts as this host's child carrying the
// owner marker, sessions and slash commands go through the contributed commands, and a clean
// deactivate leaves no process with this host's marker behind (read from /proc).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatFingerprint, selfFingerprint } from '../../src/core/fingerprint';
import { ProcessInfo, scanProcSync } from '../../src/core/processTable';
import { pidsWithMarker, waitFor } from '../support/processes';
import { EXTENSION_ID } from './ids';
import { stubWindow, WindowStub } from './windowStub';

const marker = formatFingerprint(selfFingerprint());
const owned = (): ProcessInfo[] => scanProcSync().filter((p) => p.owner === marker && p.state !== 'Z');

describe('Gateway lifecycle in the extension host', function () {
  this.timeout(60_000);
  let ui: WindowStub;
  let gatewayPid = 0;

  before(async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    await ext.activate();
    ui = stubWindow();
  });
  after(() => ui?.restore());

  it('starts the gateway as a child of this host, carrying the owner marker', async () => {
    const gw = await waitFor(
      () => owned().find((p) => p.ppid === process.pid && /gateway\.js/.test(p.cmdline)),
      `a gateway child of host ${process.pid} with ${marker}`,
      30_000,
      50,
    );
    gatewayPid = gw.pid;
    // Running (ready), as the commands see it: with the gateway up and no sessions, Close Session
    // says there is nothing to close; before that it says the gateway is not running.
    await waitFor(async () => {
      ui.messages.length = 0;
      await vscode.commands.executeCommand('gatewayWarden.closeSession');
      return ui.messages.includes('There are no sessions to close.');
    }, 'the gateway to be running (Close Session: "There are no sessions to close.")', 30_000, 100);
    ui.messages.length = 0;
  });

  it('creates two sessions and runs /echo in one through the commands; the worker is the gateway\'s child', async () => {
    ui.inputs.push('alpha', 'beta');
    await vscode.commands.executeCommand('gatewayWarden.newSession');
    await vscode.commands.executeCommand('gatewayWarden.newSession');
    ui.picks.push('alpha');
    ui.inputs.push('/echo hi');
    await vscode.commands.executeCommand('gatewayWarden.runSlashCommand');
    assert.ok(ui.messages.some((m) => /^\/echo hi: hi\b/.test(m)), `messages: ${JSON.stringify(ui.messages)}`);
    const workers = owned().filter((p) => p.ppid === gatewayPid && /worker\.js/.test(p.cmdline));
    assert.equal(workers.length, 1, `one worker (alpha's) under gateway ${gatewayPid}; owned: ${owned().map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
  });

  it('a clean deactivate leaves no process with this host\'s marker', async () => {
    assert.ok(owned().length >= 2, 'the gateway and a worker are running before deactivate');
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    // The same module instance the host activated (Node's require cache is shared in the host).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const main = require(path.join(ext.extensionPath, 'dist', 'extension.js')) as { deactivate(): unknown };
    await main.deactivate();
    await waitFor(() => pidsWithMarker(marker).length === 0, `no process with ${marker} after deactivate`, 10_000, 20).catch((e: Error) => {
      throw new Error(`${e.message}; left: ${owned().map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
    });
  });
});
