// Processes found by an environment tag (NAME=VALUE) that a process set for everything it starts:
// inherited by every descendant, so it finds them wherever they went — out of the group (setsid)
// or out of the tree (a double fork re-parents them to init or a subreaper). Linux only: the
// environment is read from /proc/PID/environ, which only our own processes let us read.
import { Fingerprint, formatFingerprint } from './fingerprint';
import { PARENT_ENV } from './ownerMarker';
import { isLiveState } from './processSource';
import { linuxBootId, procPidsChecked, readProcEnvVar, readProcStat, readProcUidChecked } from './procfs';

/**
 * What `leader` (a worker) started that carries the marker it lends its commands
 * (GATEWAY_WARDEN_PARENT = its fingerprint), wherever it went: setsid, a double fork. Only
 * processes started after it: an older one cannot be its.
 */
export function markedBySync(leader: Fingerprint): Fingerprint[] {
  return taggedProcessesSync(PARENT_ENV, formatFingerprint(leader)).filter((fp) => fp.startTime >= leader.startTime);
}

/** Live processes of this user (this process excluded) whose environment has `name=value`. */
export function taggedProcessesSync(name: string, value: string): Fingerprint[] {
  if (process.platform !== 'linux' || !value) return [];
  const myUid = process.getuid?.();
  const bootId = linuxBootId();
  const out: Fingerprint[] = [];
  for (const pid of procPidsChecked() ?? []) {
    if (pid === process.pid) continue;
    if (myUid !== undefined) {
      const uid = readProcUidChecked(pid);
      if (uid.state !== 'found' || uid.value !== myUid) continue;
    }
    if (readProcEnvVar(pid, name) !== value) continue;
    const st = readProcStat(pid);
    if (st && isLiveState(st.state)) out.push({ pid, startTime: st.startTime, bootId });
  }
  return out;
}
