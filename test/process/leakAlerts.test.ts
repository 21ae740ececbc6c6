// The periodic leak check on real processes: the extension's UI glue (fake vscode module) over a
// real WardenHost running the real embedded gateway, the real orphan source and the real resource
// sampler. An orphan created after start-up (a re-parented process carrying a dead host's owner
// marker) is reported within one interval; the memory total comes from the same sampler.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as vscode from 'vscode';
import { formatFingerprint } from '../../src/core/fingerprint';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { readProcRss } from '../../src/core/procfs';
import { createOrphanSource } from '../../src/host/orphanSource';
import { DEFAULT_SETTINGS, WardenSettings } from '../../src/host/settings';
import { WardenHost } from '../../src/host/wardenHost';
import { WardenUi } from '../../src/ui/wardenUi';
import { memoryLog } from '../host/fakeGatewaySpec';
import { killTracked, testMarker, track, waitFor } from '../support/processes';
import { fakeVscodeModule } from '../ui/fakeVscodeModule';
import { deadFingerprint, doubleForked } from './orphansScene';
import { DEFAULT_TIMEOUTS } from '../../src/core/timeouts';

const linux = process.platform === 'linux';
const root = path.resolve(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-leak-'));
after(() => {
  killTracked();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const INTERVAL_MS = 2000;

test('an orphan created after start-up is reported within one interval (plus the scan); the total memory, gateway included, is compared from the same sampler', { skip: !linux }, async (t) => {
  assert.ok(fs.existsSync(path.join(root, 'dist', 'gateway.js')), 'dist/gateway.js is built');
  const warnedAt = new Map<string, number>();
  const fake = fakeVscodeModule((n) => {
    if (n.kind === 'warning') warnedAt.set(n.message, performance.now());
    return undefined;
  });
  const log = Object.assign(memoryLog(), { show: () => undefined });
  const checkpointDir = path.join(tmp, 'registry');
  // 1 MB: any running gateway is above it, so the memory alert must fire on the first check.
  const settings: WardenSettings = { ...DEFAULT_SETTINGS, timeouts: { ...DEFAULT_TIMEOUTS, shutdownGraceMs: 200 }, alertIntervalMs: INTERVAL_MS, alertTotalMemoryBytes: 1024 * 1024 };
  const host = new WardenHost({ extensionPath: root, checkpointDir, log, settings: () => settings });
  host.supervisor.onDidStart((gw) => track(gw.pid, true));
  const ui = new WardenUi({
    vs: fake.vs as unknown as typeof vscode,
    host,
    log: log as unknown as vscode.LogOutputChannel,
    orphans: createOrphanSource({ checkpointDir, patterns: () => [], graceMs: () => 200, log }),
    graceMs: () => 200,
    settings: () => settings,
  });
  try {
    await host.supervisor.start();
    const gatewayPid = host.supervisor.current.pid!;
    // Activation as in the extension: the start-up scan (anything already orphaned on this
    // machine, e.g. from other tests, is announced there, not by the check).
    await ui.startupScan(10);
    const before = fake.notifications.length;

    const dead = await deadFingerprint();
    const name = testMarker('leak-orphan');
    const created = performance.now();
    const pid = await doubleForked(name, { ...process.env, [OWNER_ENV]: formatFingerprint(dead) });
    const ours = (m: string) => m.startsWith('Gateway Warden: ') && new RegExp(`orphaned process.*\\(pid [^)]*\\b${pid}\\b`).test(m);
    const message = await waitFor(() => [...warnedAt.keys()].find(ours), `the alert naming pid ${pid}`, 3 * INTERVAL_MS + 30_000);
    const ms = warnedAt.get(message)! - created;
    t.diagnostic(`orphan pid ${pid} created → warning shown: ${Math.round(ms)} ms (interval ${INTERVAL_MS} ms); checks skipped while one ran: ${ui.leakWatch.skipped}; the last check took ${ui.leakWatch.lastCheckMs} ms (orphan scan + one sampler reading)`);
    // The next tick comes within one interval; the check then scans (its deadline is the interval).
    assert.ok(ms <= 2 * INTERVAL_MS, `reported after ${Math.round(ms)} ms, more than one interval plus the scan's deadline`);
    const n = fake.notifications.slice(before).find((x) => x.message === message)!;
    assert.deepEqual(n.items, ['Clear Orphans', 'Show', 'Copy Report', "Don't Show Again"]);
    assert.equal((fake.status as { backgroundColor?: { id: string } }).backgroundColor?.id, 'statusBarItem.warningBackground');
    ui.tree.refreshNow();
    assert.ok(ui.tree.getChildren().find((c) => c.id === 'orphans')?.children.some((c) => c.label === `pid ${pid}`), 'the tree lists it too');

    // The memory alert: the sampler's total, gateway included (the view is hidden: one sample per check).
    const mem = [...warnedAt.keys()].find((m) => /use \d+ MB, above gatewayWarden\.alerts\.totalMemoryMB \(1 MB\)/.test(m));
    assert.ok(mem, [...warnedAt.keys()].join('\n'));
    const total = Number(/use (\d+) MB/.exec(mem)![1]);
    const gatewayMb = Math.floor((readProcRss(gatewayPid) ?? 0) / (1024 * 1024));
    t.diagnostic(`memory alert: total ${total} MB, gateway alone now ${gatewayMb} MB`);
    assert.ok(total >= gatewayMb * 0.5 && total > 1, `total ${total} MB covers the gateway (${gatewayMb} MB now)`);
    assert.equal(ui.leakWatch.skipped, 0, 'no check overlapped another');
    // Nothing was cleared: the orphan is still there (the check only reports).
    assert.ok(fs.existsSync(`/proc/${pid}`));
  } finally {
    ui.dispose();
    await host.dispose();
  }
});
