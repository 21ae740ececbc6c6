// Taking down everything a foreign program (hermes, a command) started, with core's primitives:
// the gateway's own group and descendants (the program lives there), every process carrying the
// gateway's tag (setsid and double-fork escapees), and the process groups the backend tracked
// outside the gateway's own (hermes' workers, each in its own session): all SIGTERMed at once, a
// grace, then SIGKILL until empty. Whatever the program itself does on the way out.
// `roots` are the processes the backend knows by fingerprint (the program, hermes' workers): taken
// down with their descendants even when they are no longer ours by parentage (a worker whose
// hermes died). Elsewhere than Linux, where neither the group members nor the tag can be listed,
// they are what is killed (their trees, by parentage).
import { formatFingerprint, Fingerprint, selfFingerprint } from '../../core/fingerprint';
import { SweepTarget, sweepGroups, sweepGroupsSync } from '../../core/groupSweep';
import { killTree, safeKill } from '../../core/kill';
import { takeDownOwned, takeDownOwnedSync } from '../../core/lifelineTeardown';
import { taggedProcessesSync } from '../../core/taggedProcesses';
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

export async function takeDownProgram(groups: readonly SweepTarget[], graceMs: number, roots: readonly Fingerprint[] = []): Promise<ProgramTeardownResult> {
  const t0 = Date.now();
  const linux = process.platform === 'linux';
  const tagged = taggedByThisGateway();
  const [swept, own, trees] = await Promise.all([
    groups.length ? sweepGroups(groups, { graceMs, timeoutMs: graceMs + 3000 }) : Promise.resolve(undefined),
    takeDownOwned(graceMs, [...roots, ...tagged]),
    linux ? Promise.resolve([]) : Promise.all(roots.map((r) => killTree(r, { graceMs, timeoutMs: graceMs + 3000 }))),
  ]);
  return {
    processes: own.targets.length + trees.reduce((n, t) => n + t.processes.length, 0),
    groups: groups.length,
    hardKilled: own.survivors.length,
    survivors: swept?.survivors ?? [],
    refused: swept?.refused ?? [],
    elapsedMs: Date.now() - t0,
  };
}

/** Blocking SIGKILL of the same set (exit paths, where timers may never fire). */
export function takeDownProgramSync(groups: readonly SweepTarget[], roots: readonly Fingerprint[] = []): void {
  if (groups.length) sweepGroupsSync(groups, { graceMs: 0, timeoutMs: 1000, firstSignal: 'SIGKILL' });
  takeDownOwnedSync(0, [...roots, ...taggedByThisGateway()]);
  if (process.platform !== 'linux') for (const r of roots) safeKill(r, 'SIGKILL');
}
