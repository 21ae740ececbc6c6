// The gateway's cgroup v2 containment (Linux, where our own cgroup lets us create children):
// a gateway-warden-<pid> tree with a `gateway` leaf the gateway moves into at start and one leaf
// per session, which each worker joins before it runs anything (--cgroup), or, with the hermes and
// command backends, a `program` leaf their program joins the same way. Everything a worker (or program)
// ever starts stays in its leaf, setsid and double forks included, so teardown is cgroup.kill on
// the leaf through the engine, and the tree is removed at exit. Where cgroups are unavailable (or
// GATEWAY_WARDEN_CGROUPS=off) nothing here acts and the process-group guards carry on alone.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { childCgroups } from '../core/cgroup/cgroupMembers';
import { GATEWAY_LEAF } from '../core/cgroup/cgroupNames';
import { probeCgroups } from '../core/cgroup/cgroupProbe';
import { CgroupTree, createProgramLeaf, createSessionLeaf, createTree, moveBackToParent, moveMember, removeCgroups, sessionLeafPath } from '../core/cgroup/cgroupTree';
import { removeEmptyDeadTrees } from '../core/cgroup/emptyTrees';
import { cgroupTarget, describeProblems, Target, teardown, TeardownReport, teardownSync } from '../core/kill';
import { shutdownBoundMs } from '../core/timeouts';

export type ContainmentKind = 'cgroup' | 'process-group';

/** What gateway.ready and gateway.status say about it. */
export interface ContainmentInfo {
  containment: ContainmentKind;
  /** The tree's directory, or null without one. */
  cgroup: string | null;
  /** Why there is no tree (process-group only). */
  containmentReason?: string;
}

export class Containment {
  private removed = false;
  /**
   * Set by main: this process may end itself once the host is gone (nothing is left to close,
   * nobody to tell): `lastHooks` are what must still happen, `end` ends it. Unset (a gateway
   * inside a test's process), the host-gone sweep never ends it and the usual shutdown follows.
   */
  hostGoneEnd?: { lastHooks: () => void; end: () => void };

  private constructor(
    readonly tree: CgroupTree | undefined,
    readonly reason: string | undefined,
    private readonly log: (m: string) => void,
  ) {}

  /** Probes and, where it can, creates the tree and moves this process into its gateway leaf. Never throws. */
  static setUp(env: NodeJS.ProcessEnv, log: (m: string) => void): Containment {
    try {
      const probe = probeCgroups(env);
      if (!probe.available) return new Containment(undefined, probe.reason, log);
      const made = createTree(probe);
      if (!made.ok) return new Containment(undefined, made.why, log);
      if (!made.tree.killFile) {
        // Linux < 5.14: the engine falls back to SIGKILL by pid per member; still contained.
        log(`cgroup: ${made.tree.path} has no cgroup.kill; members are killed by pid`);
      }
      removeEmptyDeadTrees({ except: made.tree.path, env, log });
      return new Containment(made.tree, undefined, log);
    } catch (e) {
      return new Containment(undefined, `cgroup set-up failed: ${(e as Error).message}`, log);
    }
  }

  /** No tree: containment is the process-group guards alone. */
  static none(reason: string, log: (m: string) => void = () => undefined): Containment {
    return new Containment(undefined, reason, log);
  }

  get kind(): ContainmentKind {
    return this.tree && !this.removed ? 'cgroup' : 'process-group';
  }

  info(): ContainmentInfo {
    if (this.kind === 'cgroup') return { containment: 'cgroup', cgroup: this.tree!.path };
    return { containment: 'process-group', cgroup: null, containmentReason: this.removed ? 'the cgroup tree was removed (shutting down)' : this.reason ?? 'unknown' };
  }

  /** The session's leaf, created now (an existing one is fine); undefined without a tree or when it cannot be made (logged). */
  sessionLeaf(sessionId: string): string | undefined {
    if (this.kind !== 'cgroup') return undefined;
    const leaf = createSessionLeaf(this.tree!, sessionId);
    if (leaf.ok) return leaf.path;
    this.log(`cgroup: no leaf for session ${sessionId} (${leaf.why}); its worker is contained by its process group only`);
    return undefined;
  }

  /**
   * The leaf of the hermes/command backend's program, created now; undefined without a tree or
   * when it cannot be made (logged: the program then runs in our own leaf, as without cgroups).
   */
  programLeaf(): string | undefined {
    if (this.kind !== 'cgroup') return undefined;
    const leaf = createProgramLeaf(this.tree!);
    if (leaf.ok) return leaf.path;
    this.log(`cgroup: no leaf for the program (${leaf.why}); it runs in the gateway's own leaf, taken down by its group and tag`);
    return undefined;
  }

  /**
   * Moves a process of the program's leaf (`programLeaf`) into the session's leaf, created now: a
   * hermes worker, which hermes starts in the program's leaf. Returns the leaf, or undefined when
   * it cannot be moved (logged; it stays in the program's leaf, contained with the program).
   */
  adoptIntoSessionLeaf(sessionId: string, proc: { pid: number; startTime: number }, programLeaf: string): string | undefined {
    const leaf = this.sessionLeaf(sessionId);
    if (leaf === undefined) return undefined;
    const moved = moveMember(proc, programLeaf, leaf);
    if (moved.ok) return leaf;
    if (!moved.gone) this.log(`cgroup: pid ${proc.pid} stays in ${programLeaf}: ${moved.why}`);
    return undefined;
  }

  /** The session's leaf when it exists now (no I/O beyond one lstat). */
  existingLeaf(sessionId: string): string | undefined {
    if (this.kind !== 'cgroup') return undefined;
    const leaf = sessionLeafPath(this.tree!, sessionId);
    return fs.existsSync(leaf) ? leaf : undefined;
  }

  /**
   * A closed session's leaf, if one is left (its worker closed by now, never started, or exited
   * without a close): what is still in it — an escapee too — SIGKILLed, and the leaf removed.
   * Cheap when it is empty or gone: one list, one rmdir. Logged when anything refused.
   */
  async dropSessionLeaf(sessionId: string): Promise<void> {
    const leaf = this.existingLeaf(sessionId);
    if (leaf === undefined) return;
    const r = await teardown([this.leafTarget(leaf)], { graceMs: 0, firstSignal: 'SIGKILL', timeoutMs: 2000 });
    const problems = describeProblems(r);
    if (problems) this.log(`session ${sessionId}: its cgroup: ${problems}`);
  }

  /** A session's (or the program's) leaf as a teardown target (the tree must sit in our parent cgroup). */
  leafTarget(leaf: string): Target {
    return cgroupTarget(leaf, { parent: this.tree?.parentDir });
  }

  /**
   * Everything the tree holds but this process: every other leaf — the sessions', the program's —
   * (one cgroup.kill each) and the others in our own gateway leaf (by pid; the leaf is kept while we are in it).
   * `removeLeaves: false`: the emptied leaves are left for one removal of the whole tree.
   */
  sweepTargets(opts: { removeLeaves?: boolean } = {}): Target[] {
    if (this.kind !== 'cgroup') return [];
    const tree = this.tree!;
    const kids = childCgroups(tree.path);
    const leaves = kids.state === 'found' ? kids.value.filter((d) => path.basename(d) !== GATEWAY_LEAF) : [];
    const remove = opts.removeLeaves ?? true;
    return [
      ...leaves.map((d) => cgroupTarget(d, { parent: tree.parentDir, ...(remove ? {} : { remove: false }) })),
      cgroupTarget(path.join(tree.path, GATEWAY_LEAF), { parent: tree.parentDir, remove: false }),
    ];
  }

  /**
   * The host is gone (lifeline) with cgroup containment, whatever the backend: the whole tree
   * through the engine, SIGTERM and the grace only for members that handle it, then one
   * cgroup.kill of the tree that ends this process too, atomic like the kernel's own floor
   * (issue 13, row 1: per-member signals and per-leaf writes were each paced by the woken members
   * preempting us on 2 cores); `lastWords` (the attach owners' session.closed) and main's last
   * hooks right before. `extra`: targets outside the tree (a worker that never joined its leaf).
   * When every member else was gone before the write, the gateway ends at once after the same
   * last acts. Returns only when it did not end us (a member of another uid, a failed write; or
   * no hostGoneEnd: a gateway inside a test's process): then the usual shutdown goes on.
   * The tree is left where it is, emptied: the next gateway's start removes dead gateways' empty
   * trees (removeEmptyDeadTrees). Removing it here meant first stepping out of our gateway leaf,
   * and a move waits for an RCU grace period holding the kernel's cgroup mutex: 5–7 ms on a quiet
   * machine, 10–40 ms under load, after the last member was dead.
   */
  endHostGone(lastWords: () => void, graceMs: number, extra: readonly Target[] = []): TeardownReport {
    const end = this.hostGoneEnd;
    let said = false;
    const lastActs = () => {
      if (said) return;
      said = true;
      lastWords();
      end?.lastHooks();
    };
    // Without a way to end ourselves, every leaf but ours (sweepTargets); the tree stays ours to remove.
    const tree = this.kind !== 'cgroup' ? [] : end ? [cgroupTarget(this.tree!.path, { parent: this.tree!.parentDir, remove: false, endsSelf: true })] : this.sweepTargets({ removeLeaves: false });
    const r = teardownSync([...tree, ...extra], { graceMs, timeoutMs: shutdownBoundMs(graceMs), ...(end ? { beforeSelfEnd: lastActs } : {}) });
    const proven = r.survivors.length === 0 && r.refusals.length === 0 && (r.cgroups ?? []).every((c) => c.outcome === 'empty' || c.outcome === 'gone');
    if (end && this.kind === 'cgroup' && proven) {
      lastActs();
      end.end();
    }
    return r;
  }

  /** At exit, after the sweep: moves us back to the parent cgroup and removes the tree. Idempotent. */
  remove(): void {
    if (!this.tree || this.removed) return;
    this.removed = true;
    const moved = moveBackToParent(this.tree);
    if (!moved.ok) this.log(`cgroup: ${moved.why}; the gateway leaf stays until we exit`);
    this.removeTree();
  }

  /** The whole tree in one walk; what refused is logged. */
  private removeTree(): boolean {
    const r = removeCgroups(this.tree!.path);
    if (!r.removed) this.log(`cgroup: ${this.tree!.path} not removed: ${r.left.map((l) => `${l.dir}: ${l.why}`).join('; ')}`);
    return r.removed;
  }
}
