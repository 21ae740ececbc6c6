// cgroup v2 test support: stand-in gateways that own a real gateway-warden-<pid> tree, processes
// started inside a leaf, and an after-hook that takes down and removes every tree a test made,
// whatever the test left running in it (cgroup.kill reaches setsid escapees too).
import { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { probeCgroups } from '../../src/core/cgroup/cgroupProbe';
import type { CgroupTree } from '../../src/core/cgroup/cgroupTree';
import { removeCgroups } from '../../src/core/cgroup/cgroupTree';
import { cgroupTarget, teardownSync } from '../../src/core/kill';
import { atCleanup, readLineMatching, spawnTracked, track } from './processes';

const GATEWAY_SCRIPT = path.join(__dirname, 'cgroupGateway.js');
const madeTrees = new Set<string>();

/** Why the cgroup tests cannot run here (no writable cgroup v2), or undefined when they can. */
export function cgroupsUnavailable(): string | undefined {
  const p = probeCgroups({});
  return p.available ? undefined : `cgroup v2 is not writable here: ${p.reason}`;
}

export interface CgroupGateway {
  child: ChildProcess;
  tree: CgroupTree;
  request<T = Record<string, unknown>>(msg: Record<string, unknown>): Promise<T>;
}

let nextId = 1;

/** Starts a stand-in gateway (tracked) and waits until it has created its tree and moved into it. */
export async function startCgroupGateway(env: NodeJS.ProcessEnv = { GATEWAY_WARDEN_CGROUPS: '' }): Promise<CgroupGateway> {
  const child = spawnTracked(process.execPath, [GATEWAY_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const ready = await readLineMatching(child.stdout!, (l) => {
    try {
      const m = JSON.parse(l);
      return 'ready' in m ? m : undefined;
    } catch {
      return undefined;
    }
  }, 20_000);
  if (!ready.ready) throw new Error(`the stand-in gateway (pid ${child.pid}) could not create its tree: ${ready.why}`);
  const tree = ready.tree as CgroupTree;
  madeTrees.add(tree.path);
  return {
    child,
    tree,
    request: async <T>(msg: Record<string, unknown>) => {
      const id = nextId++;
      const answer = readLineMatching(child.stdout!, (l) => {
        try {
          const m = JSON.parse(l);
          return m.id === id ? m : undefined;
        } catch {
          return undefined;
        }
      }, 20_000);
      child.stdin!.write(`${JSON.stringify({ ...msg, id })}\n`);
      return (await answer) as T;
    },
  };
}

/** Remembers a tree made some other way, for the after-hook (and killTracked, which runs it too). */
export function trackTree(treePath: string): void {
  madeTrees.add(treePath);
  atCleanup(cleanupCgroupTrees);
}

/**
 * `sh -c script` that first moves itself into `leaf` (as a worker does before anything else),
 * tracked. Its first stdout line is returned by the caller's own readLineMatching.
 */
export function shellInLeaf(leaf: string, script: string): ChildProcess {
  const child = spawnTracked('sh', ['-c', `echo $$ > "$LEAF/cgroup.procs" || exit 97\n${script}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LEAF: leaf },
  });
  return child;
}

/** Reads the first line that is a pid from `child`'s stdout and tracks it. */
export async function pidLine(child: ChildProcess): Promise<number> {
  const pid = await readLineMatching(child.stdout!, (l) => (/^\d+$/.test(l.trim()) ? Number(l) : undefined));
  track(pid);
  return pid;
}

/**
 * After-hook: every tree a test made is taken down (SIGKILL: one cgroup.kill for the whole tree,
 * through the teardown engine) and removed. A member of another uid is refused by the engine: the
 * test that made one kills it itself (it is tracked, so killTracked ends it too).
 */
export function cleanupCgroupTrees(): void {
  for (const tree of madeTrees) {
    teardownSync([cgroupTarget(tree)], { firstSignal: 'SIGKILL', timeoutMs: 5000 });
    removeCgroups(tree);
  }
  madeTrees.clear();
}
