// Runs inside a real VS Code extension host: the extension installs, activates and registers the
// commands and view that DESIGN.md names.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { DESIGN_COMMANDS, EXTENSION_ID } from './ids';

describe('Gateway Warden in a real extension host', () => {
  it('is found by its id and activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('registers every command its package.json contributes', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    await ext.activate();
    const contributed: string[] = (ext.packageJSON.contributes?.commands ?? []).map((c: { command: string }) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  it('contributes the DESIGN.md commands and the gatewayWarden.processes view', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    const contributes = ext.packageJSON.contributes ?? {};
    const commands: string[] = (contributes.commands ?? []).map((c: { command: string }) => c.command);
    assert.deepEqual([...commands].sort(), [...DESIGN_COMMANDS].sort());
    const views: string[] = (contributes.views?.gatewayWarden ?? []).map((v: { id: string }) => v.id);
    assert.deepEqual(views, ['gatewayWarden.processes']);
  });

  it('reads the backend settings as contributed: gateway.backend defaults to embedded, with the four backends; backend, command, args and cwd machine-scoped', () => {
    const cfg = vscode.workspace.getConfiguration('gatewayWarden');
    assert.equal(cfg.inspect('gateway.backend')?.defaultValue, 'embedded');
    assert.equal(cfg.inspect('gateway.cwd')?.defaultValue, '');
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const props = ext.packageJSON.contributes.configuration.properties;
    assert.deepEqual(props['gatewayWarden.gateway.backend'].enum, ['embedded', 'warden', 'hermes', 'command']);
    for (const key of ['backend', 'command', 'args', 'cwd']) assert.equal(props[`gatewayWarden.gateway.${key}`].scope, 'machine', key);
  });
});
