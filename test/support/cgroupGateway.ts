// A stand-in gateway for cgroup tests, run as its own process (node out/test/support/cgroupGateway.js):
// it probes, creates its gateway-warden-<pid> tree and moves itself into the `gateway` leaf, as
// the real gateway will, then answers JSON lines on stdin ({id, op, ...} → {id, ...}) and exits
// when stdin ends (its lifeline). It never cleans its tree up: a killed one leaves a leftover.
import * as readline from 'node:readline';
import { probeCgroups } from '../../src/core/cgroup/cgroupProbe';
import { createSessionLeaf, createTree } from '../../src/core/cgroup/cgroupTree';
import { cgroupTarget, teardownSync } from '../../src/core/kill';

function reply(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

function main(): void {
  const support = probeCgroups();
  if (!support.available) {
    reply({ ready: false, why: support.reason });
    return;
  }
  const made = createTree(support);
  if (!made.ok) {
    reply({ ready: false, why: made.why });
    return;
  }
  const tree = made.tree;
  reply({ ready: true, tree });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let req: { id?: number; op?: string; sessionId?: string; path?: string; opts?: Record<string, unknown> };
    try {
      req = JSON.parse(line);
    } catch {
      return;
    }
    if (req.op === 'leaf') reply({ id: req.id, ...createSessionLeaf(tree, String(req.sessionId)) });
    else if (req.op === 'kill') reply({ id: req.id, result: teardownSync([cgroupTarget(String(req.path))], req.opts ?? {}) });
    else reply({ id: req.id, error: `unknown op ${req.op}` });
  });
  rl.on('close', () => process.exit(0));
}

main();
