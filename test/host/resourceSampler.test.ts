import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceSampler } from '../../src/host/resourceSampler';
import { killTracked, readLineMatching, spawnNode, track, waitFor } from '../support/processes';

after(killTracked);
const linux = process.platform === 'linux';

test('samples CPU and memory of a root and lists its children with full command lines', { skip: !linux }, async () => {
  const root = spawnNode(
    "const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'marker-arg'], { stdio: 'ignore' }); console.log(c.pid);" +
    'for (;;) { const t = Date.now(); while (Date.now() - t < 50) {} }',
  );
  const child = await readLineMatching(root.stdout!, (l) => Number(l) || undefined);
  track(child);
  const sampler = new ResourceSampler(() => [root.pid!]);
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
