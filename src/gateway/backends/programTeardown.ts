// Taking down everything a foreign program (hermes, a command) started, with core's primitives:
// the gateway's own group and descendants (the program lives there), every process carrying the
// gateway's tag (setsid and double-fork escapees), and the process groups the backend tracked
// outside the gateway's own (hermes' workers, each in its own session): all SIGTERMed at once, a
// grace, then SIGKILL until empty. Whatever the program itself does on the way out.
// `roots` are the processes the backend knows by fingerprint (the program, hermes' workers): taken
// down with their descendants even when they are no longer ours by parentage (a worker whose
// hermes died). Elsewhere than Linux, where neither the group members nor the tag can be listed,
// they are what is killed (their trees, by parentage).
// With cgroup containment the program runs in its own leaf, so all of that is one cgroup target:
// members from the leaf's cgroup.procs (the kernel's list: an escapee that left the group, the
// tree and the tag included), SIGTERM, the grace, cgroup.kill, the leaf removed — no /proc scan
// and no environment read. hermes starts its workers in that leaf; those moved into their
// sessions' leaves since (hermesWorkers.ts) are further cgroup targets of the same teardown.
import { formatFingerprint, Fingerprint, selfFingerprint } from '../../core/fingerprint';
import { describeProblems, ownProcesses, processTree, Target, teardown, TeardownReport, teardownSync } from '../../core/kill';
import { taggedProcessesSync } from '../../core/taggedProcesses';
import { shutdownBoundMs } from '../../core/timeouts';
import type { Containment } from '../cgroupContainment';
import { GATEWAY_TAG_ENV } from './program';

/** Live processes carrying this gateway's tag, wherever they went. */
export function taggedByThisGateway(): Fingerprint[] {
  return taggedProcessesSync(GATEWAY_TAG_ENV, formatFingerprint(selfFingerprint()));
}

export interface ProgramTeardownResult {
  /** Processes signalled by pid (group, descendants, tagged). */
  processes: number;
  groups: number;
  /** Processes that outlived the SIGTERM grace and were SIGKILLed. */
  hardKilled: number;
  /** Group members still alive when the group sweep gave up. */
  survivors: number[];
  refused: string[];
  elapsedMs: number;
}

/**
 * One teardown: the tracked groups (processGroup targets), this gateway's own processes, and each
 * root and tagged process with its descendants (tree targets: they are found by parentage where
 * groups and tags cannot be listed).
 */
function targetsOf(groups: readonly Target[], roots: readonly Fingerprint[], leaves: readonly Target[]): Target[] {
  if (leaves.length) return [...leaves];
  const trees = new Map<string, Fingerprint>();
  for (const fp of [...roots, ...taggedByThisGateway()]) trees.set(formatFingerprint(fp), fp);
  return [...groups, ownProcesses(), ...[...trees.values()].map((fp) => processTree(fp))];
}

function summary(groups: readonly Target[], r: TeardownReport, t0: number, leaves: readonly Target[]): ProgramTeardownResult {
  return {
    processes: r.processes.filter((p) => p.outcome === 'killed' || p.outcome === 'survived').length,
    groups: leaves.length ? 0 : groups.length,
    hardKilled: r.processes.filter((p) => p.signals.includes('SIGKILL') && p.signals.length > 1).length,
    survivors: r.survivors,
    refused: r.refusals.map((x) => x.message),
    elapsedMs: Date.now() - t0,
  };
}

/**
 * `leaves`: the program's cgroup leaf, and the session leaves its workers were moved into (hermes),
 * as targets, when it runs in one (then groups and roots are not needed).
 */
export async function takeDownProgram(groups: readonly Target[], graceMs: number, roots: readonly Fingerprint[] = [], leaves: readonly Target[] = []): Promise<ProgramTeardownResult> {
  const t0 = Date.now();
  const r = await teardown(targetsOf(groups, roots, leaves), { graceMs, timeoutMs: shutdownBoundMs(graceMs) });
  return summary(groups, r, t0, leaves);
}

/** Blocking SIGKILL of the same set (exit paths, where timers may never fire). */
export function takeDownProgramSync(groups: readonly Target[], roots: readonly Fingerprint[] = [], leaves: readonly Target[] = []): void {
  teardownSync(targetsOf(groups, roots, leaves), { firstSignal: 'SIGKILL', timeoutMs: 1000 });
}

/**
 * The host is gone (lifeline) with cgroup containment: the program, what it started and this
 * gateway end together, as with the embedded backend (Containment.endHostGone: the grace only for
 * members that handle SIGTERM, then one cgroup.kill of the tree). Returns only when that did not
 * end us; the caller's usual teardown follows then.
 */
export function endTreeWithHost(containment: Containment | undefined, graceMs: number, lastWords: () => void, log: (m: string) => void): void {
  if (containment?.kind !== 'cgroup') return;
  const r = containment.endHostGone(lastWords, graceMs);
  const problems = describeProblems(r);
  log(`the host is gone: swept the cgroup tree in ${Math.round(r.elapsedMs)} ms${problems ? `; ${problems}` : ''}`);
}
