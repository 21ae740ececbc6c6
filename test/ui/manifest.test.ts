// package.json contributions match the code and DESIGN.md's contract names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMAND_IDS } from '../../src/ui/commands';
import { contextKeys } from '../../src/ui/contextKeys';
import { buildTree } from '../../src/ui/treeNodes';
import { ALERT_BOUNDS, DEFAULT_SETTINGS, GATEWAY_BACKENDS, LIMIT_BOUNDS } from '../../src/host/settings';

const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const c = pkg.contributes;

test('every command is contributed under the "Gateway Warden" category; activation only where needed', () => {
  const ids = c.commands.map((x: { command: string }) => x.command).sort();
  assert.deepEqual(ids, [...COMMAND_IDS].sort());
  for (const cmd of c.commands) assert.equal(cmd.category, 'Gateway Warden', cmd.command);
  // Contributed commands and views activate the extension implicitly since VS Code 1.74; only the
  // auto start needs an event of its own.
  assert.deepEqual(pkg.activationEvents, ['onStartupFinished']);
  const [major, minor] = /(\d+)\.(\d+)/.exec(pkg.engines.vscode)!.slice(1).map(Number);
  assert.ok(major > 1 || minor >= 74, `engines.vscode ${pkg.engines.vscode} predates implicit activation`);
});

test('every context key the code sets is read by a when clause (no dead keys)', () => {
  const manifest = JSON.stringify(pkg.contributes);
  const keys = Object.keys(contextKeys({ state: 'stopped' }, 0, 0));
  assert.ok(keys.length > 0);
  for (const key of keys) assert.ok(manifest.includes(key), `${key} is set but no when clause reads it`);
});

test('view container gatewayWarden with the processes view, an icon that exists, and welcome content with a Start link', () => {
  const container = c.viewsContainers.activitybar.find((v: { id: string }) => v.id === 'gatewayWarden');
  assert.ok(container);
  assert.ok(fs.existsSync(path.resolve(__dirname, '..', '..', '..', container.icon)));
  assert.equal(c.views.gatewayWarden[0].id, 'gatewayWarden.processes');
  assert.ok(c.viewsWelcome.some((w: { contents: string }) => w.contents.includes('command:gatewayWarden.startGateway')));
  assert.ok(fs.existsSync(path.resolve(__dirname, '..', '..', '..', pkg.icon)));
});

test('menus reference contributed commands only; item menus match contextValue tokens', () => {
  const known = new Set(COMMAND_IDS);
  for (const [menu, entries] of Object.entries(c.menus) as [string, { command: string; when?: string }[]][]) {
    for (const e of entries) assert.ok(known.has(e.command as never), `${menu}: ${e.command}`);
  }
  const tokens = new Set(['gateway', 'running', 'starting', 'restarting', 'stopped', 'session', 'closable', 'worker', 'killable', 'orphans', 'processKillable']);
  let checked = 0;
  for (const e of c.menus['view/item/context']) {
    for (const m of e.when!.matchAll(/\\b(\w+)\\b/g)) {
      checked++;
      assert.ok(tokens.has(m[1]), `unknown token ${m[1]}`);
    }
  }
  assert.ok(checked >= 8, `checked ${checked} tokens`);
  // Inline icons are not enough: a right-click must offer the same actions.
  const items = c.menus['view/item/context'] as { command: string; group: string }[];
  for (const e of items.filter((x) => x.group.startsWith('inline'))) {
    assert.ok(items.some((x) => x.command === e.command && !x.group.startsWith('inline')), `${e.command} is also in the context menu`);
  }
});

test('gateway backend, command, args and cwd, and the extra orphan patterns, are machine-scoped and restricted in untrusted workspaces; every setting is documented', () => {
  const props = c.configuration.properties;
  // A cloned repository's .vscode/settings.json can neither pick the program to run (nor where) nor aim the orphan sweep.
  for (const key of ['gatewayWarden.gateway.backend', 'gatewayWarden.gateway.command', 'gatewayWarden.gateway.args', 'gatewayWarden.gateway.cwd', 'gatewayWarden.orphans.extraPatterns']) {
    assert.equal(props[key].scope, 'machine', key);
    assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(key), key);
  }
  for (const [key, p] of Object.entries(props) as [string, { description?: string; markdownDescription?: string; default?: unknown }][]) {
    assert.ok((p.description ?? p.markdownDescription ?? '').length > 20, `${key} is documented`);
    assert.ok('default' in p, `${key} has a default`);
  }
  assert.equal(Object.keys(props).length, 15);
  // The backend enum is the one the host reads, with a description for each value.
  assert.deepEqual(props['gatewayWarden.gateway.backend'].enum, [...GATEWAY_BACKENDS]);
  assert.equal(props['gatewayWarden.gateway.backend'].enumDescriptions.length, GATEWAY_BACKENDS.length);
  assert.equal(props['gatewayWarden.gateway.backend'].default, DEFAULT_SETTINGS.backend);
});

test('welcome content: exactly one applies whenever the tree can be empty (stopped, failed, before activation), each with a Start link', () => {
  // The `when` clauses here are conjunctions of `key == value` / `key != value`.
  const holds = (when: string, state: string | undefined) =>
    when.split('&&').every((clause) => {
      const m = /^\s*gatewayWarden\.gatewayState\s*(==|!=)\s*(\w+)\s*$/.exec(clause);
      assert.ok(m, `understood clause: ${clause}`);
      return m[1] === '==' ? state === m[2] : state !== m[2];
    });
  const welcome = c.viewsWelcome as { view: string; contents: string; when: string }[];
  for (const state of ['stopped', 'failed', undefined]) {
    const shown = welcome.filter((w) => w.view === 'gatewayWarden.processes' && holds(w.when, state));
    assert.equal(shown.length, 1, `one welcome for ${state}`);
    assert.match(shown[0].contents, /\[Start Gateway\]\(command:gatewayWarden\.startGateway\)/, `${state}`);
    assert.match(shown[0].contents, /^The gateway is not running\./, `${state}`);
  }
  const failed = welcome.find((w) => holds(w.when, 'failed'))!;
  assert.match(failed.contents, /command:gatewayWarden\.showLog/);
  assert.match(failed.contents, /command:workbench\.action\.openSettings\?/);
});

/** Evaluates a `when` clause of the forms used here (&&, ||, !, ==, !=, =~, parentheses) against context keys. */
function evalWhen(when: string, ctx: Record<string, unknown>): boolean {
  const js = when
    .replace(/([\w.]+)\s*=~\s*\/((?:\\\/|[^/])*)\//g, (_m, k: string, re: string) => `new RegExp(${JSON.stringify(re)}).test(String(ctx[${JSON.stringify(k)}] ?? ''))`)
    .replace(/(==|!=)\s*([\w.-]+)/g, (_m, op: string, v: string) => `${op}= ${JSON.stringify(v)}`)
    .replace(/(?<!["\w])([a-zA-Z][\w]*(?:\.[\w]+)+|view|viewItem)(?![\w"])/g, (_m, k: string) => `ctx[${JSON.stringify(k)}]`);
  return Boolean(new Function('ctx', `return (${js});`)(ctx));
}

test('palette when-clauses follow the gateway state: Stop hidden when stopped, Start hidden while running, item commands only when they can act', () => {
  const palette = new Map((c.menus.commandPalette as { command: string; when: string }[]).map((e) => [e.command, e.when]));
  const visible = (id: string, ctx: Record<string, unknown>) => !palette.has(id) || evalWhen(palette.get(id)!, ctx);
  const stopped = { ...contextKeys({ state: 'stopped' }, 0, 0) };
  const failed = { ...contextKeys({ state: 'failed' }, 0, 0) };
  const running = { ...contextKeys({ state: 'running' }, 2, 1) };
  const runningEmpty = { ...contextKeys({ state: 'running' }, 0, 0) };
  assert.deepEqual(COMMAND_IDS.filter((id) => visible(id, stopped)), ['gatewayWarden.startGateway', 'gatewayWarden.clearOrphans', 'gatewayWarden.refresh', 'gatewayWarden.showLog', 'gatewayWarden.copyDiagnosticsReport']);
  assert.deepEqual(COMMAND_IDS.filter((id) => visible(id, failed)), ['gatewayWarden.startGateway', 'gatewayWarden.restartGateway', 'gatewayWarden.clearOrphans', 'gatewayWarden.refresh', 'gatewayWarden.showLog', 'gatewayWarden.copyDiagnosticsReport']);
  // Kill Process ends a row of the command or hermes backend's processes (without a row it asks
  // which): not offered for the embedded gateway, whose rows are sessions and workers.
  assert.deepEqual(COMMAND_IDS.filter((id) => !visible(id, running)), ['gatewayWarden.startGateway', 'gatewayWarden.killProcess']);
  assert.deepEqual(COMMAND_IDS.filter((id) => !visible(id, runningEmpty)), ['gatewayWarden.startGateway', 'gatewayWarden.closeSession', 'gatewayWarden.killWorker', 'gatewayWarden.killProcess']);
  // The command backend has no sessions: nothing offers to make one or run a slash command in it.
  const command = { ...contextKeys({ state: 'running', backend: 'command' }, 0, 0) };
  assert.deepEqual(COMMAND_IDS.filter((id) => !visible(id, command)), ['gatewayWarden.startGateway', 'gatewayWarden.newSession', 'gatewayWarden.closeSession', 'gatewayWarden.runSlashCommand', 'gatewayWarden.killWorker']);
  assert.deepEqual(COMMAND_IDS.filter((id) => !visible(id, { ...contextKeys({ state: 'running', backend: 'hermes' }, 1, 1) })), ['gatewayWarden.startGateway']);
  assert.ok(!visible('gatewayWarden.killProcess', { ...contextKeys({ state: 'starting', backend: 'command' }, 0, 0) }));
  const titleCommand = (c.menus['view/title'] as { command: string; when: string }[]).filter((e) => evalWhen(e.when, { ...command, view: 'gatewayWarden.processes' })).map((e) => e.command);
  assert.ok(!titleCommand.includes('gatewayWarden.newSession'), titleCommand.join());
  // view/title: the same rule for Start/Stop/Restart.
  const title = (c.menus['view/title'] as { command: string; when: string }[]).filter((e) => evalWhen(e.when, { ...stopped, view: 'gatewayWarden.processes' })).map((e) => e.command);
  assert.ok(title.includes('gatewayWarden.startGateway') && !title.includes('gatewayWarden.stopGateway') && !title.includes('gatewayWarden.restartGateway'), title.join());
});

test('an orphan row offers Clear Orphaned Processes in its context menu (matching its contextValue)', () => {
  const items = c.menus['view/item/context'] as { command: string; when: string }[];
  assert.ok(items.some((e) => e.command === 'gatewayWarden.clearOrphans' && evalWhen(e.when, { view: 'gatewayWarden.processes', viewItem: 'orphan' })));
});

test('the gateway row offers Stop while running and while starting or waiting to restart (a crash loop can be stopped from the row)', () => {
  const items = c.menus['view/item/context'] as { command: string; when: string }[];
  const menuOf = (state: 'running' | 'starting' | 'restarting') => {
    const row = buildTree({ gateway: { state }, sessions: [], orphans: [], now: 0 })[0];
    return items.filter((e) => evalWhen(e.when, { view: 'gatewayWarden.processes', viewItem: row.contextValue })).map((e) => e.command);
  };
  for (const state of ['running', 'starting', 'restarting'] as const) assert.ok(menuOf(state).includes('gatewayWarden.stopGateway'), state);
  assert.ok(!menuOf('restarting').includes('gatewayWarden.newSession'));
});

test('limits settings: machine-overridable integers whose default and bounds are the ones the host reads, restricted in untrusted workspaces, saying what happens at the limit', () => {
  const props = c.configuration.properties;
  for (const name of ['maxSessions', 'maxWorkers'] as const) {
    const key = `gatewayWarden.limits.${name}`;
    const p = props[key];
    assert.equal(p.scope, 'machine-overridable', key);
    assert.equal(p.type, 'integer', key);
    assert.equal(p.default, DEFAULT_SETTINGS[name], key);
    assert.deepEqual([p.minimum, p.maximum], [LIMIT_BOUNDS[name].min, LIMIT_BOUNDS[name].max], key);
    assert.match(p.markdownDescription, /refused at once with an error that names this setting/, key);
    assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(key), key);
  }
  assert.match(props['gatewayWarden.limits.maxWorkers'].markdownDescription, /least recently used idle worker is stopped/);
  const mem = props['gatewayWarden.limits.workerMemoryMB'];
  assert.equal(mem.scope, 'machine-overridable');
  assert.equal(mem.type, 'integer');
  assert.equal(mem.default, DEFAULT_SETTINGS.workerMemoryMB);
  assert.deepEqual([mem.default, mem.minimum, mem.maximum], [LIMIT_BOUNDS.workerMemoryMB.off, LIMIT_BOUNDS.workerMemoryMB.off, LIMIT_BOUNDS.workerMemoryMB.max]);
  assert.ok(mem.markdownDescription.includes(`${LIMIT_BOUNDS.workerMemoryMB.min} to ${LIMIT_BOUNDS.workerMemoryMB.max}`), 'states its bounds');
  assert.match(mem.markdownDescription, /0 \(the default\) turns it off/);
  assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('gatewayWarden.limits.workerMemoryMB'));
});

test('alerts settings: machine-overridable integers whose default and bounds are the ones the host reads, restricted in untrusted workspaces, descriptions stating the bounds', () => {
  const props = c.configuration.properties;
  for (const name of ['intervalMinutes', 'totalMemoryMB'] as const) {
    const key = `gatewayWarden.alerts.${name}`;
    const p = props[key];
    assert.equal(p.scope, 'machine-overridable', key);
    assert.equal(p.type, 'integer', key);
    assert.equal(p.default, ALERT_BOUNDS[name].default, key);
    assert.deepEqual([p.minimum, p.maximum], [ALERT_BOUNDS[name].min, ALERT_BOUNDS[name].max], key);
    assert.ok(p.markdownDescription.includes(`${ALERT_BOUNDS[name].min} to ${ALERT_BOUNDS[name].max}`), `${key} states its bounds`);
    assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(key), key);
  }
  assert.equal(DEFAULT_SETTINGS.alertIntervalMs, ALERT_BOUNDS.intervalMinutes.default * 60_000);
  assert.equal(DEFAULT_SETTINGS.alertTotalMemoryBytes, ALERT_BOUNDS.totalMemoryMB.default * 1024 * 1024);
  assert.match(props['gatewayWarden.alerts.intervalMinutes'].markdownDescription, /0 turns it off/);
});
