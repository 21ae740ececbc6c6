import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceSampler, sampledMemoryBytes, sampledTotals } from '../../src/host/resourceSampler';
import { cgroupsUnavailable, cleanupCgroupTrees, pidLine, shellInLeaf, startCgroupGateway } from '../support/cgroups';
import { killTracked, readLineMatching, spawnNode, track, waitFor } from '../support/processes';
import { readProcStat } from '../../src/core/procfs';

after(killTracked);
const linux = process.platform === 'linux';

test('samples CPU and memory of a root and lists its children with full command lines', { skip: !linux }, async () => {
  const root = spawnNode(
    "const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'marker-arg'], { stdio: 'ignore' }); console.log(c.pid);" +
    'for (;;) { const t = Date.now(); while (Date.now() - t < 50) {} }',
  );
  const child = await readLineMatching(root.stdout!, (l) => Number(l) || undefined);
  track(child);
  const sampler = new ResourceSampler(() => [{ pid: root.pid! }]);
  let samples = 0;
  sampler.onDidSample(() => samples++);
  const first = sampler.sample();
  assert.equal(first.usage.get(root.pid!)?.cpuPercent, undefined, 'no CPU figure from a single sample');
  // The child may be between fork and exec at the first look.
  await waitFor(() => /marker-arg/.test(sampler.sample().children.get(root.pid!)?.[0]?.cmdline ?? ''), 'the child exec\'d');
  assert.ok((first.usage.get(root.pid!)?.rssBytes ?? 0) > 1024 * 1024, 'resident memory in bytes');
  const later = sampler.current;
  assert.deepEqual(later.children.get(root.pid!)!.map((p) => p.pid), [child]);
  assert.match(later.children.get(root.pid!)![0].cmdline, /setInterval.* marker-arg/);
  assert.match(later.cmdlines.get(root.pid!)!, /for \(;;\)/);
  const busy = await waitFor(() => {
    const s = sampler.sample();
    const cpu = s.usage.get(root.pid!)?.cpuPercent;
    return cpu !== undefined && cpu > 5 ? cpu : undefined;
  }, 'a busy process to show CPU use', 10_000, 200);
  assert.ok(busy <= 200, `plausible CPU figure (${busy})`);
  assert.ok(samples >= 2);
  assert.equal(sampler.running, false, 'sampling on demand does not start the timer');
  sampler.start();
  assert.equal(sampler.running, true);
  sampler.dispose();
  assert.equal(sampler.running, false);
});

test('a backgrounded child re-parented away from the worker is still listed through the worker\'s group', { skip: !linux }, async () => {
  // Like `/run sleep 600 &`: sh forks the sleep and exits, so the sleep's parent is no longer the root.
  const root = spawnNode(
    "const c = require('child_process').spawn('/bin/sh', ['-c', 'sleep 600 & echo $$ $!'], { stdio: ['ignore', 'pipe', 'ignore'] });" +
    "c.stdout.on('data', (d) => process.stdout.write(d)); setInterval(() => {}, 1000)",
    { detached: true },
  );
  const [shPid, sleepPid] = await readLineMatching(root.stdout!, (l) => (/^\d+ \d+$/.test(l) ? l.split(' ').map(Number) : undefined));
  track(sleepPid);
  // Until sh has exited, the sleep is its child, and so still a descendant of the root.
  await waitFor(() => { const st = readProcStat(sleepPid); return st !== undefined && st.ppid !== shPid; }, 'sh to exit and the sleep to be re-parented');
  const withGroup = new ResourceSampler(() => [{ pid: root.pid!, pgid: root.pid! }]);
  const kids = await waitFor(() => {
    const k = withGroup.sample().children.get(root.pid!) ?? [];
    return k.some((p) => p.pid === sleepPid) ? k : undefined;
  }, 'the re-parented sleep in the root\'s group');
  assert.ok(kids.find((p) => p.pid === sleepPid)!.ppid !== root.pid, 'it is not a descendant any more');
  const pidOnly = new ResourceSampler(() => [{ pid: root.pid! }]);
  assert.ok(!(pidOnly.sample().children.get(root.pid!) ?? []).some((p) => p.pid === sleepPid), 'descendants alone would miss it');
});

test('process.tree (command backend): asked on the sampler\'s own tick only while it runs, one request at a time, parsed into the snapshot; not asked when there is nothing to show; dropped when stopped', async () => {
  let asked = 0;
  let answer: (v: unknown) => void = () => undefined;
  let want = true;
  const sampler = new ResourceSampler(() => [], 60_000, {
    processTree: () => {
      if (!want) return undefined;
      asked++;
      return new Promise((r) => (answer = r));
    },
  });
  const snapshots: (unknown)[] = [];
  sampler.onDidSample((s) => snapshots.push(s.tree));
  assert.equal(asked, 0, 'nothing before the view is visible');
  sampler.start();
  assert.equal(asked, 1);
  sampler.sample();
  sampler.sample();
  assert.equal(asked, 1, 'one in flight at a time');
  answer({ backend: 'command', processes: [{ pid: 5, ppid: 1, startTime: 9, name: 'sh', command: 'sh', role: 'program' }, { pid: 'bad' }], truncated: false, takenAt: 123 });
  await waitFor(() => sampler.current.tree, 'the tree in the snapshot');
  assert.deepEqual(sampler.current.tree!.processes.map((p) => [p.pid, p.role]), [[5, 'program']]);
  assert.ok(snapshots.length >= 3, 'the answer comes as a sample of its own');
  sampler.sample();
  assert.equal(asked, 2);
  assert.equal(sampler.current.tree?.processes[0].pid, 5, 'the last tree stays until the next answer');
  want = false;
  answer(undefined);
  await new Promise((r) => setImmediate(r));
  sampler.sample();
  assert.equal(sampler.current.tree, undefined, 'no longer applicable (another backend, gateway stopped): no tree');
  want = true;
  sampler.sample();
  sampler.stop();
  answer({ processes: [] });
  await new Promise((r) => setImmediate(r));
  assert.equal(sampler.current.tree, undefined, 'an answer after the view was hidden is dropped');
  sampler.dispose();
});

test('sampledMemoryBytes: the sum over every sampled pid once (a root nested in another root counted once); the process.tree\'s without a /proc reading; undefined when nothing was measured', { skip: !linux }, async () => {
  const root = spawnNode(
    "const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000)",
  );
  const child = await readLineMatching(root.stdout!, (l) => Number(l) || undefined);
  track(child);
  // The child is a root of its own too (as a worker is beside the gateway): not counted twice.
  const sampler = new ResourceSampler(() => [{ pid: root.pid! }, { pid: child }]);
  const s = await waitFor(() => {
    const x = sampler.sample(Date.now(), { askTree: false });
    return x.usage.get(child)?.rssBytes && x.usage.get(root.pid!)?.rssBytes ? x : undefined;
  }, 'both measured');
  assert.deepEqual([...s.usage.keys()].sort((a, b) => a - b), [root.pid!, child].sort((a, b) => a - b));
  assert.equal(sampledMemoryBytes(s), s.usage.get(root.pid!)!.rssBytes! + s.usage.get(child)!.rssBytes!);
  const tree = { processes: [{ pid: 1, ppid: 0, startTime: 1, name: 'a', command: 'a', role: 'program', escaped: false, rssBytes: 100 }, { pid: 2, ppid: 1, startTime: 1, name: 'b', command: 'b', role: 'process', escaped: false }], truncated: false, takenAt: 0 };
  assert.equal(sampledMemoryBytes({ usage: new Map(), children: new Map(), cmdlines: new Map(), takenAt: 0, tree }), 100);
  assert.equal(sampledMemoryBytes({ usage: new Map([[5, { cpuPercent: 1 }]]), children: new Map(), cmdlines: new Map(), takenAt: 0 }), undefined);
  sampler.dispose();
});

test('totals per root: the root and its children added up from the table (CPU once both have a second reading), each pid once', { skip: !linux }, async () => {
  const root = spawnNode(
    "const c = require('child_process').spawn(process.execPath, ['-e', 'const b = Buffer.alloc(30*1024*1024, 1); for (;;) { const t = Date.now(); while (Date.now() - t < 50) {} }'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000)",
  );
  const child = await readLineMatching(root.stdout!, (l) => Number(l) || undefined);
  track(child);
  const sampler = new ResourceSampler(() => [{ pid: root.pid! }]);
  const first = sampler.sample();
  assert.equal(first.totals?.get(root.pid!)?.cpuPercent, undefined, 'no CPU total from a single sample');
  const t = await waitFor(() => {
    const s = sampler.sample();
    const tot = s.totals?.get(root.pid!);
    return tot && tot.processes === 2 && (tot.cpuPercent ?? 0) > 20 && (tot.memoryBytes ?? 0) > 30 * 1024 * 1024 ? { tot, s } : undefined;
  }, 'the busy 30 MB child in its root\'s total', 15_000, 300);
  assert.equal(t.tot.source, 'process-table');
  const own = (pid: number) => t.s.usage.get(pid)!;
  assert.equal(t.tot.memoryBytes, own(root.pid!).rssBytes! + own(child).rssBytes!, 'the root\'s and the child\'s memory');
  assert.ok(Math.abs(t.tot.cpuPercent! - (own(root.pid!).cpuPercent! + own(child).cpuPercent!)) < 1e-9, 'and CPU');
  // The whole snapshot: each pid once (here root and child), CPU summed.
  const all = sampledTotals(t.s);
  assert.equal(all?.memoryBytes, t.tot.memoryBytes);
  assert.equal(all?.source, 'process-table');
});

const noCgroups = cgroupsUnavailable();
test('totals from a root\'s cgroup (its files, no table): the members of the leaf, CPU from cpu.stat between two samples; a leaf that is gone falls back to the table', { skip: !linux || noCgroups }, async () => {
  const gw = await startCgroupGateway();
  try {
    const leaf = await gw.request<{ ok: boolean; path: string; why?: string }>({ op: 'leaf', sessionId: `sampler${Date.now()}` });
    assert.ok(leaf.ok, leaf.why);
    const busy = shellInLeaf(leaf.path, 'echo $$; sleep 1000 & while :; do :; done');
    const pid = await pidLine(busy);
    const sampler = new ResourceSampler(() => [{ pid, cgroup: leaf.path }]);
    const first = sampler.sample().totals?.get(pid);
    assert.equal(first?.source, 'cgroup');
    const t = await waitFor(() => {
      const tot = sampler.sample().totals?.get(pid);
      return tot?.cpuPercent !== undefined && tot.cpuPercent > 20 && tot.processes === 2 ? tot : undefined;
    }, 'the shell and its sleep, CPU from cpu.stat', 15_000, 300);
    assert.equal(t.source, 'cgroup');
    assert.ok((t.memoryBytes ?? 0) > 0);
    assert.deepEqual(sampledTotals(sampler.current, pid), t, 'a root with a cgroup: its totals are the snapshot\'s');
    const gone = new ResourceSampler(() => [{ pid, cgroup: `${leaf.path}-missing` }]);
    assert.equal(gone.sample().totals?.get(pid)?.source, 'process-table');
  } finally {
    cleanupCgroupTrees();
  }
});
