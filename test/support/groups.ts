// Process groups to tear down in tests: real processes, tracked for cleanup.
import { ChildProcess } from 'node:child_process';
import { groupMembers } from '../../src/core/kill';
import { isAlive, readLineMatching, spawnTracked, track, waitFor } from './processes';

export interface BuiltGroup {
  pgid: number;
  leader: ChildProcess;
  /** Members the test should see die (the leader excluded). */
  members: number[];
}

/**
 * A group whose leader has already exited, leaving a member that ignores SIGTERM and SIGHUP
 * (the ignore disposition is inherited by its `sleep` children too): only SIGKILL ends it.
 */
export async function orphanedStubbornGroup(opts: { uid?: number; gid?: number } = {}): Promise<BuiltGroup> {
  const leader = spawnTracked(
    'sh',
    ['-c', `sh -c 'trap "" TERM HUP; echo $$; while :; do sleep 1; done' & exit 0`],
    { detached: true, stdio: ['ignore', 'pipe', 'ignore'], ...opts },
  );
  const pgid = leader.pid!;
  const member = await readLineMatching(leader.stdout!, (l) => Number(l) || undefined);
  track(member);
  await waitFor(() => !isAlive(pgid), 'the group leader to exit');
  await waitFor(() => groupMembers(pgid)?.includes(member), 'the member to be listed in the group');
  return { pgid, leader, members: [member] };
}

/** A leader shell with two sleeping children; everyone dies on SIGTERM. */
export async function politeGroup(count = 2): Promise<BuiltGroup> {
  const script = `${'sleep 1000 & '.repeat(count)}wait`;
  const leader = spawnTracked('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  const pgid = leader.pid!;
  const members = await waitFor(() => {
    const m = groupMembers(pgid);
    return m?.length === count + 1 && m;
  }, `${count + 1} members in group ${pgid}`);
  for (const pid of members) track(pid);
  return { pgid, leader, members };
}
