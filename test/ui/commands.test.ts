import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayModel } from '../../src/host/gatewayModel';
import type { GatewayStatus } from '../../src/host/supervisor';
import { CommandDeps, COMMAND_IDS, createHandlers, GatewayControl } from '../../src/ui/commands';
import { fakeWindow } from './fakeVscode';
import { RpcError, RpcErrorCode } from '../../src/core/rpcError';

function fakeGateway(state: GatewayStatus['state'] = 'running', replies: Record<string, unknown> = {}) {
  const calls: { method: string; params: unknown }[] = [];
  const g: GatewayControl & { calls: typeof calls; status: GatewayStatus } = {
    calls,
    status: { state },
    get current() {
      return this.status;
    },
    start: async () => {
      g.status = { state: 'running', pid: 1 };
    },
    stop: async () => {
      g.status = { state: 'stopped' };
    },
    restart: async () => undefined,
    request: async <T>(method: string, params?: unknown) => {
      calls.push({ method, params });
      const r = replies[method];
      if (r instanceof Error) throw r;
      return (typeof r === 'function' ? r(params) : r) as T;
    },
  };
  return g;
}

function setup(over: Partial<CommandDeps> & { answers?: Parameters<typeof fakeWindow>[0]; gateway?: ReturnType<typeof fakeGateway> } = {}) {
  const window = fakeWindow(over.answers);
  const gateway = over.gateway ?? fakeGateway();
  const model = new GatewayModel();
  const lines: string[] = [];
  let shownLog = 0;
  const log = {
    trace: () => undefined, debug: () => undefined,
    info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`), error: (m: string) => lines.push(`error ${m}`),
    show: () => shownLog++,
  };
  const killed: number[] = [];
  const killedIn: string[] = [];
  const h = createHandlers({
    window, gateway, model, log,
    killWorker: async (sessionId, w) => {
      killed.push(w.pid);
      killedIn.push(sessionId);
      return { ok: true, message: 'ended' };
    },
    refreshView: () => undefined,
    clearOrphans: async () => undefined,
    ...over,
  });
  return { h, window, gateway, model, lines, killed, killedIn, shownLog: () => shownLog };
}

test('every command id of DESIGN.md has a handler', () => {
  const { h } = setup();
  assert.deepEqual(Object.keys(h).sort(), [...COMMAND_IDS].sort());
  // DESIGN.md's ten, Kill Process (a row of the gateway's process tree: issue 11) and Copy
  // Diagnostics Report (issue 14).
  assert.equal(COMMAND_IDS.length, 12);
});

test('runSlashCommand: asks for the command, sends slash.exec, shows the output and logs it', async () => {
  const gateway = fakeGateway('running', { 'slash.exec': { output: 'hello\nworld' } });
  const { h, window, model, lines } = setup({ gateway, answers: { input: ['/echo hello'] } });
  model.applyEvent({ type: 'session.created', sessionId: 's1', label: 'one' });
  await h['gatewayWarden.runSlashCommand']();
  assert.deepEqual(gateway.calls, [{ method: 'slash.exec', params: { sessionId: 's1', command: '/echo hello' } }]);
  const info = window.shown.find((s) => s.kind === 'info')!;
  assert.match(info.message, /\/echo hello: hello\nworld/);
  assert.ok(lines.includes('info [s1] hello') && lines.includes('info [s1] world'));
});

test('runSlashCommand: a warning beside the output (hermes: a /model that needs a confirmation) is shown as a warning first, and logged', async () => {
  const gateway = fakeGateway('running', { 'slash.exec': { output: '  Current model: m1', warning: 'Switching to expensive-x costs more; confirm to switch' } });
  const { h, window, model, lines } = setup({ gateway, answers: { input: ['/model expensive-x'] } });
  model.applyEvent({ type: 'session.created', sessionId: 's1', label: 'one' });
  await h['gatewayWarden.runSlashCommand']();
  assert.deepEqual(window.shown.map((x) => x.kind), ['input', 'warning'], 'a warning, not the all-clear info');
  assert.equal(window.shown[1].message, '/model expensive-x: Switching to expensive-x costs more; confirm to switch — Current model: m1');
  assert.deepEqual(window.shown[1].items, ['Show Log']);
  assert.ok(lines.includes('warn [s1] /model expensive-x: Switching to expensive-x costs more; confirm to switch'), lines.join('\n'));

  // An empty or non-string warning is no warning.
  for (const warning of ['', '  ', 42]) {
    const g2 = fakeGateway('running', { 'slash.exec': { output: 'ok', warning } });
    const b = setup({ gateway: g2, answers: { input: ['/help'] } });
    b.model.applyEvent({ type: 'session.created', sessionId: 's1' });
    await b.h['gatewayWarden.runSlashCommand']();
    assert.deepEqual(b.window.shown.map((x) => x.kind), ['input', 'info'], JSON.stringify(warning));
  }
});

test('runSlashCommand validates input: text without a leading slash is rejected', async () => {
  const { h, window, gateway, model } = setup({ answers: { input: ['help'] } });
  model.applyEvent({ type: 'session.created', sessionId: 's1' });
  await h['gatewayWarden.runSlashCommand']();
  assert.match(String(window.shown.find((s) => s.kind === 'input')!.items), /starts with "\/"/);
  assert.equal((gateway as ReturnType<typeof fakeGateway>).calls.length, 0);
});

test('newSession: a cancelled input box sends nothing; a label is passed through', async () => {
  const gateway = fakeGateway('running', { 'session.create': { sessionId: 's9' } });
  const a = setup({ gateway, answers: { input: [undefined] } });
  await a.h['gatewayWarden.newSession']();
  assert.equal(gateway.calls.length, 0);
  const b = setup({ gateway, answers: { input: ['  refactor '] } });
  await b.h['gatewayWarden.newSession']();
  assert.deepEqual(gateway.calls, [{ method: 'session.create', params: { label: 'refactor' } }]);
});

test('commands never write the model: only the gateway\'s events (and session.list) do', async () => {
  // This gateway answers but sends no events: the model must stay as it was.
  const gateway = fakeGateway('running', { 'session.create': { sessionId: 's9' }, 'session.close': { closed: true }, 'slash.exec': { output: 'x' } });
  const { h, model } = setup({ gateway, answers: { input: ['label', '/echo x'], pick: [(items: { s: unknown }[]) => items[0]] } });
  model.applyEvent({ type: 'worker.started', sessionId: 'old', pid: 5, startTime: 1, pgid: 5 });
  const before = JSON.stringify(model.list());
  let changes = 0;
  model.onDidChange(() => changes++);
  await h['gatewayWarden.newSession']();
  await h['gatewayWarden.runSlashCommand']({ id: 'session/old', ref: { kind: 'session', sessionId: 'old' } });
  await h['gatewayWarden.closeSession']({ id: 'session/old', ref: { kind: 'session', sessionId: 'old' } });
  await h['gatewayWarden.stopGateway']();
  assert.deepEqual(gateway.calls.map((c) => c.method), ['session.create', 'slash.exec', 'session.close']);
  assert.equal(changes, 0, 'no command changed the model');
  assert.equal(JSON.stringify(model.list()), before);
});

test('closeSession from a tree node closes that session without asking', async () => {
  const gateway = fakeGateway('running', { 'session.close': { closed: true } });
  const { h, window, model } = setup({ gateway });
  model.applyEvent({ type: 'session.created', sessionId: 's1' });
  model.applyEvent({ type: 'session.created', sessionId: 's2' });
  await h['gatewayWarden.closeSession']({ id: 'session/s2', ref: { kind: 'session', sessionId: 's2' } });
  assert.deepEqual(gateway.calls, [{ method: 'session.close', params: { sessionId: 's2' } }]);
  assert.equal(window.shown.filter((s) => s.kind === 'pick').length, 0);
});

test('killWorker from the palette picks among sessions with workers and kills the chosen one', async () => {
  const { h, killed, killedIn, model, window } = setup({ answers: { pick: [(items: { s: { sessionId: string } }[]) => items.find((i) => i.s.sessionId === 's2')] } });
  model.applyEvent({ type: 'worker.started', sessionId: 's1', pid: 11, startTime: 1, pgid: 11 });
  model.applyEvent({ type: 'worker.started', sessionId: 's2', pid: 22, startTime: 2, pgid: 22 });
  model.applyEvent({ type: 'session.created', sessionId: 's3' });
  await h['gatewayWarden.killWorker']();
  assert.equal((window.shown.find((s) => s.kind === 'pick')!.items as unknown[]).length, 2, 'only sessions with workers are offered');
  assert.deepEqual(killed, [22]);
  assert.deepEqual(killedIn, ['s2'], 'the gateway is asked by session');
});

test('killWorker from a stale row names the row\'s worker (pid and start time), not the session\'s newer one; a refusal is a warning', async () => {
  const asked: { pid: number; startTime: number }[] = [];
  const { h, model, window } = setup({
    killWorker: async (_sessionId, w) => {
      asked.push({ pid: w.pid, startTime: w.startTime });
      return { ok: false, message: `worker ${w.pid} had already exited; the session's worker is now 42, which was not killed` };
    },
  });
  model.applyEvent({ type: 'worker.started', sessionId: 's1', pid: 41, startTime: 1, pgid: 41 });
  const row = { id: 'worker/s1/41', ref: { kind: 'worker', sessionId: 's1', pid: 41, startTime: 1, pgid: 41 } };
  // The row's worker exited and the session has a new one; the row was drawn before.
  model.applyEvent({ type: 'worker.exited', sessionId: 's1', pid: 41, startTime: 1 });
  model.applyEvent({ type: 'worker.started', sessionId: 's1', pid: 42, startTime: 2, pgid: 42 });
  await h['gatewayWarden.killWorker'](row);
  assert.deepEqual(asked, [{ pid: 41, startTime: 1 }]);
  assert.match(window.shown.find((s) => s.kind === 'warning')!.message, /Worker 41: .*now 42, which was not killed/);
});

test('a failing request becomes an error message with Show Log, never a throw', async () => {
  const gateway = fakeGateway('running', { 'session.create': new Error('boom') });
  const { h, window, lines, shownLog } = setup({ gateway, answers: { input: [''], error: ['Show Log'] } });
  await h['gatewayWarden.newSession']();
  const err = window.shown.find((s) => s.kind === 'error')!;
  assert.match(err.message, /Could not create a session: boom/);
  assert.deepEqual(err.items, ['Show Log']);
  assert.ok(lines.some((l) => l.startsWith('error Could not create a session')));
  assert.equal(shownLog(), 1);
});

test('commands that need the gateway offer to start it when it is stopped', async () => {
  const gateway = fakeGateway('stopped', { 'session.create': { sessionId: 's1' } });
  const { h, window } = setup({ gateway, answers: { warning: ['Start Gateway'], input: [''] } });
  await h['gatewayWarden.newSession']();
  assert.match(window.shown[0].message, /not running \(stopped\)/);
  assert.equal(gateway.current.state, 'running');
  assert.deepEqual(gateway.calls.map((c) => c.method), ['session.create']);
});

test('refresh resynchronises the model from session.list', async () => {
  const gateway = fakeGateway('running', { 'session.list': { sessions: [{ sessionId: 'a', label: 'x', closeOnDisconnect: true, createdAt: 5, attached: true, worker: { pid: 7, startTime: 8, pgid: 7, state: 'idle', lastActivityAt: 9 } }] } });
  const { h, model } = setup({ gateway });
  model.applyEvent({ type: 'session.created', sessionId: 'gone' });
  await h['gatewayWarden.refresh']();
  assert.deepEqual(model.list().map((s) => [s.sessionId, s.label, s.client, s.worker?.pid, s.worker?.lastUsedAt]), [['a', 'x', 'attached', 7, 9]]);
});

test('closeSession from the palette asks even when there is one session; cancelling sends nothing and claims nothing', async () => {
  const gateway = fakeGateway('running', { 'session.close': { closed: true } });
  const { h, window, model } = setup({ gateway, answers: { pick: [undefined] } });
  model.applyEvent({ type: 'session.created', sessionId: 'only', label: 'mine' });
  await h['gatewayWarden.closeSession']();
  const pick = window.shown.find((s) => s.kind === 'pick')!;
  assert.equal((pick.items as unknown[]).length, 1, 'the single session is offered, not closed unasked');
  assert.equal(gateway.calls.length, 0);
  assert.equal(window.shown.filter((s) => s.kind === 'info').length, 0, 'no "there are no sessions" after a cancel');
  assert.deepEqual(model.list().map((s) => s.sessionId), ['only']);
});

test('killWorker from the palette asks even for a single worker, and kills what was picked', async () => {
  const { h, window, model, killed } = setup({ answers: { pick: [undefined, (items: { s: unknown }[]) => items[0]] } });
  model.applyEvent({ type: 'worker.started', sessionId: 's1', pid: 31, startTime: 1, pgid: 31 });
  await h['gatewayWarden.killWorker']();
  assert.equal(window.shown.filter((s) => s.kind === 'pick').length, 1);
  assert.deepEqual(killed, [], 'cancelled pick kills nothing');
  await h['gatewayWarden.killWorker']();
  assert.deepEqual(killed, [31]);
});

test('runSlashCommand shows progress once a command runs longer than the delay', async () => {
  let during: string | undefined;
  const gateway = fakeGateway('running', {});
  const { h, window, model } = setup({ gateway, answers: { input: ['/sleep 10'] }, progressDelayMs: 0 });
  // Answers after the (0 ms) delay has passed: the progress shows while it runs.
  gateway.request = ((method: string) => new Promise<unknown>((resolve) => setTimeout(() => {
    during = window.shown.filter((s) => s.kind === 'progress').map((s) => s.message).join();
    resolve(method === 'slash.exec' ? { output: 'slept' } : undefined);
  }, 50))) as typeof gateway.request;
  model.applyEvent({ type: 'session.created', sessionId: 's1', label: 'one' });
  await h['gatewayWarden.runSlashCommand']();
  assert.equal(during, 'Running /sleep 10 in session one…');
  assert.match(window.shown.find((s) => s.kind === 'info')!.message, /slept/);
});

test('runSlashCommand: a quick command shows its result without a progress notification first', async () => {
  const gateway = fakeGateway('running', { 'slash.exec': { output: 'hi' } });
  const { h, window, model } = setup({ gateway, answers: { input: ['/echo hi'] }, progressDelayMs: 60_000 });
  model.applyEvent({ type: 'session.created', sessionId: 's1', label: 'one' });
  await h['gatewayWarden.runSlashCommand']();
  assert.deepEqual(window.shown.filter((s) => s.kind === 'progress'), []);
  assert.equal(window.shown.find((s) => s.kind === 'info')!.message, '/echo hi: hi');
});

test('runSlashCommand: a failure after the progress showed is reported, not thrown', async () => {
  const gateway = fakeGateway('running', {});
  const { h, window, model } = setup({ gateway, answers: { input: ['/boom'] }, progressDelayMs: 0 });
  gateway.request = (() => new Promise((_resolve, reject) => setTimeout(() => reject(new Error('worker died')), 50))) as typeof gateway.request;
  model.applyEvent({ type: 'session.created', sessionId: 's1', label: 'one' });
  await h['gatewayWarden.runSlashCommand']();
  assert.equal(window.shown.filter((s) => s.kind === 'progress').length, 1);
  assert.match(window.shown.find((s) => s.kind === 'error')!.message, /Slash command failed: worker died/);
});

test('from the palette with no argument and no gateway, every command says why (or offers a start) and never throws', async () => {
  const gateway = fakeGateway('stopped');
  for (const id of ['gatewayWarden.newSession', 'gatewayWarden.closeSession', 'gatewayWarden.runSlashCommand', 'gatewayWarden.killWorker'] as const) {
    const { h, window } = setup({ gateway });
    await h[id]();
    assert.equal(window.shown.length, 1, id);
    assert.match(window.shown[0].message, /not running|no workers/, id);
    assert.equal(window.shown.filter((s) => s.kind === 'error').length, 0, id);
  }
  assert.equal(gateway.calls.length, 0);
});

test('runSlashCommand with no session: a cancelled input creates nothing; a command runs in a new session', async () => {
  const gateway = fakeGateway('running', { 'session.create': { sessionId: 'new1' }, 'slash.exec': { output: 'ok' } });
  const a = setup({ gateway, answers: { input: [undefined] } });
  await a.h['gatewayWarden.runSlashCommand']();
  assert.equal(gateway.calls.length, 0, 'no empty session left behind by a cancel');
  assert.match(a.window.shown.find((s) => s.kind === 'input')!.message, /new one/);
  const b = setup({ gateway, answers: { input: ['/pid'] } });
  await b.h['gatewayWarden.runSlashCommand']();
  assert.deepEqual(gateway.calls.map((c) => c.method), ['session.create', 'slash.exec']);
  assert.deepEqual(gateway.calls[1].params, { sessionId: 'new1', command: '/pid' });
  assert.deepEqual(b.model.list(), [], 'the model waits for the gateway\'s session.created event');
});

test('runSlashCommand: a gateway answering session.create without an id gives a clear error', async () => {
  const gateway = fakeGateway('running', { 'session.create': {} });
  const { h, window } = setup({ gateway, answers: { input: ['/pid'] } });
  await h['gatewayWarden.runSlashCommand']();
  assert.match(window.shown.find((s) => s.kind === 'error')!.message, /Slash command failed: session\.create returned no sessionId/);
});

test('a command issued while the gateway is still starting waits for it instead of saying "not running"', async () => {
  const gateway = fakeGateway('starting', { 'session.create': { sessionId: 's1' } });
  const { h, window } = setup({ gateway, answers: { input: ['x'] } });
  await h['gatewayWarden.newSession']();
  assert.equal(window.shown.filter((s) => s.kind === 'warning').length, 0, window.shown.map((s) => s.message).join());
  assert.deepEqual(gateway.calls.map((c) => c.method), ['session.create']);
});

test('clearOrphans: from an orphan row it passes that pid; from the palette or the Orphans node, none', async () => {
  const asked: (number | undefined)[] = [];
  const { h } = setup({ clearOrphans: async (only?: number) => void asked.push(only) });
  await h['gatewayWarden.clearOrphans']({ id: 'orphan/77/1', ref: { kind: 'orphan', pid: 77 } });
  await h['gatewayWarden.clearOrphans']({ id: 'orphans', ref: { kind: 'orphans' } });
  await h['gatewayWarden.clearOrphans']();
  assert.deepEqual(asked, [77, undefined, undefined]);
});

test('refresh also re-scans orphans (one that exited by itself leaves the tree)', async () => {
  let rescans = 0;
  const { h } = setup({ gateway: fakeGateway('running', { 'session.list': { sessions: [] } }), rescanOrphans: async () => void rescans++ });
  await h['gatewayWarden.refresh']();
  assert.equal(rescans, 1);
});

test('a limit refusal (LimitReached) is a warning naming the setting with Open Settings, not an error; Open Settings opens that setting', async () => {
  const refusal = new RpcError(
    RpcErrorCode.LimitReached,
    'maxWorkers limit reached (16): all 16 workers are busy. Wait for a command to finish, or raise the setting gatewayWarden.limits.maxWorkers (gateway flag --max-workers).',
    { limit: 'maxWorkers', value: 16, setting: 'gatewayWarden.limits.maxWorkers' },
  );
  const gateway = fakeGateway('running', { 'slash.exec': refusal });
  const opened: string[] = [];
  const { h, window, model, lines, shownLog } = setup({ gateway, answers: { input: ['/echo hi'], warning: ['Open Settings'] }, openSettings: (q) => opened.push(q) });
  model.applyEvent({ type: 'session.created', sessionId: 's1' });
  await h['gatewayWarden.runSlashCommand']();
  assert.equal(window.shown.filter((s) => s.kind === 'error').length, 0, 'no error toast');
  const warn = window.shown.find((s) => s.kind === 'warning')!;
  assert.match(warn.message, /^Slash command failed: maxWorkers limit reached \(16\): all 16 workers are busy\./);
  assert.match(warn.message, /gatewayWarden\.limits\.maxWorkers/);
  assert.doesNotMatch(warn.message, /\bat \S+ \(|RpcError/, 'no stack trace');
  assert.deepEqual(warn.items, ['Open Settings', 'Show Log']);
  assert.deepEqual(opened, ['gatewayWarden.limits.maxWorkers']);
  assert.equal(shownLog(), 0);
  assert.ok(lines.some((l) => l.startsWith('warn Slash command failed: maxWorkers limit reached')));
});

test('session cap refusal from a gateway whose message does not name the setting: the warning adds it', async () => {
  const refusal = new RpcError(RpcErrorCode.LimitReached, 'too many sessions', { limit: 'maxSessions', value: 3, setting: 'gatewayWarden.limits.maxSessions' });
  const gateway = fakeGateway('running', { 'session.create': refusal });
  const { h, window } = setup({ gateway, answers: { input: [''] }, openSettings: () => undefined });
  await h['gatewayWarden.newSession']();
  const warn = window.shown.find((s) => s.kind === 'warning')!;
  assert.equal(warn.message, 'Could not create a session: too many sessions (raise the setting gatewayWarden.limits.maxSessions)');
});

test('a LimitReached whose data names no gatewayWarden setting is an ordinary error (nothing else is opened)', async () => {
  for (const data of [undefined, { setting: 'workbench.colorTheme' }, { setting: 42 }]) {
    const gateway = fakeGateway('running', { 'session.create': new RpcError(RpcErrorCode.LimitReached, 'full', data) });
    const opened: string[] = [];
    const { h, window } = setup({ gateway, answers: { input: [''] }, openSettings: (q) => opened.push(q) });
    await h['gatewayWarden.newSession']();
    assert.match(window.shown.find((s) => s.kind === 'error')!.message, /Could not create a session: full/, JSON.stringify(data));
    assert.deepEqual(opened, []);
  }
});

test('killProcess: a process row → process.kill {pid, startTime} at the gateway, the view refreshed; survivors are a warning; no row and nothing to kill → a hint, nothing sent', async () => {
  const gateway = fakeGateway('running', { 'process.kill': { pid: 120, startTime: 4, killed: true, survivors: [], elapsedMs: 37 } });
  let refreshed = 0;
  const { h, window, lines } = setup({ gateway, refreshView: () => refreshed++ });
  const node = { id: 'process/120/4', ref: { kind: 'process', pid: 120, startTime: 4, role: 'process' } };
  await h['gatewayWarden.killProcess'](node);
  assert.deepEqual(gateway.calls, [{ method: 'process.kill', params: { pid: 120, startTime: 4 } }]);
  assert.ok(lines.some((l) => /kill process 120: it and everything below it ended in 37 ms/.test(l)), lines.join('\n'));
  assert.equal(window.shown.length, 0);
  assert.equal(refreshed, 1);

  const stubborn = fakeGateway('running', { 'process.kill': { pid: 400, startTime: 40, killed: false, survivors: [401] } });
  const b = setup({ gateway: stubborn });
  await b.h['gatewayWarden.killProcess']({ ref: { kind: 'process', pid: 400, startTime: 40, role: 'staleWorker' } });
  assert.match(b.window.shown[0].message, /^Kill stale worker 400: still alive after the teardown: 401$/);

  const c = setup({ gateway: fakeGateway('running', {}) });
  await c.h['gatewayWarden.killProcess']();
  assert.equal((c.gateway as ReturnType<typeof fakeGateway>).calls.length, 0);
  assert.match(c.window.shown[0].message, /There is no process to kill/);
});

test('killProcess without a row (the palette, or a menu in the moment VS Code re-fetches the rows): a pick of the killable rows, always shown; cancelling sends nothing', async () => {
  const row = (id: string, label: string, contextValue: string, ref: object, children: object[] = []) => ({ id, label, description: `d ${label}`, contextValue, ref, children, icon: 'x', collapsible: 'none' });
  const rows = () => {
    const kid = row('process/121/5', 'sleep', 'process processKillable', { kind: 'process', pid: 121, startTime: 5, role: 'process' });
    const program = row('program/120/4', 'sh', 'program processKillable', { kind: 'process', pid: 120, startTime: 4, role: 'program' }, [kid]);
    const exited = row('program/99/1', 'sh', 'program', { kind: 'process', pid: 99, startTime: 1, role: 'program' });
    const gw = row('gateway', 'Gateway', 'gateway running', { kind: 'gateway' }, [program, exited]);
    return [gw, program, kid, exited] as never[];
  };
  const gateway = fakeGateway('running', { 'process.kill': { killed: true, survivors: [] } });
  const { h, window } = setup({ gateway, rows, answers: { pick: [(items: unknown[]) => items[1]] } });
  await h['gatewayWarden.killProcess']();
  const pick = window.shown.filter((x) => x.kind === 'pick');
  assert.equal(pick.length, 1);
  assert.deepEqual((pick[0].items as { label: string; description?: string }[]).map((i) => `${i.label} ${i.description}`), ['sh d sh', 'sleep d sleep'], 'the killable rows only, in view order');
  assert.match(pick[0].message, /Process to kill/);
  assert.deepEqual(gateway.calls, [{ method: 'process.kill', params: { pid: 121, startTime: 5 } }]);

  const one = fakeGateway('running', {});
  const solo = setup({ gateway: one, rows: () => rows().slice(0, 2), answers: { pick: [undefined] } });
  await solo.h['gatewayWarden.killProcess']();
  assert.deepEqual(solo.window.shown.map((x) => `${x.kind} ${(x.items as unknown[]).length}`), ['pick 1'], 'a single candidate is still asked about, and nothing else shown');
  assert.deepEqual(one.calls, [], 'cancelled: nothing sent');
});
