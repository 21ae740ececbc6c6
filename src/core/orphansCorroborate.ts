// A checkpoint record alone never makes a process an orphan: anyone who can write a file can name
// any process, and a fingerprint (pid, start time, boot id) is world-readable in /proc. The live
// process must bear the record out:
//   marker   (Linux) it carries the recording host's GATEWAY_WARDEN_OWNER in /proc/PID/environ,
//            which only that host's descendants inherit and only its user can read
//   command  (elsewhere, where the environment cannot be read) its command line is exactly the
//            recorded one
// Checked at detection, and again by the clear path right before the first signal.
import { Fingerprint, formatFingerprint, parseFingerprint, sameFingerprint } from './fingerprint';
import { OWNER_ENV } from './ownerMarker';
import { readProcEnvVar } from './procfs';
import { listProcesses } from './processTable';

export type CorroborationMode = 'marker' | 'command';

export function defaultCorroboration(): CorroborationMode {
  return process.platform === 'linux' ? 'marker' : 'command';
}

const short = (s: string) => JSON.stringify(s.length > 120 ? `${s.slice(0, 117)}...` : s);

/**
 * Why a live process does not bear out a record of `owner` (with `recordedCommand`), or
 * undefined when it does. `marker` is its GATEWAY_WARDEN_OWNER (undefined: none, or unreadable).
 */
export function corroborationProblem(
  mode: CorroborationMode,
  live: { marker?: string; cmdline: string },
  owner: Fingerprint,
  recordedCommand: string | undefined,
): string | undefined {
  if (mode === 'marker') {
    if (live.marker === undefined) return `it carries no ${OWNER_ENV} marker (none, or unreadable), so nothing shows the recording host started it`;
    const fp = parseFingerprint(live.marker);
    if (!fp || !sameFingerprint(fp, owner)) return `its ${OWNER_ENV} marker is ${short(live.marker)}, not the recording host's ${formatFingerprint(owner)}`;
    return undefined;
  }
  if (recordedCommand === undefined || live.cmdline.trim() !== recordedCommand.trim()) {
    return `its command line ${short(live.cmdline)} is not the recorded ${recordedCommand === undefined ? '(none)' : short(recordedCommand)}`;
  }
  return undefined;
}

/** corroborationProblem on the process as it is now (the clear path, right before signalling). */
export async function corroborationProblemNow(
  mode: CorroborationMode,
  fp: Fingerprint,
  owner: Fingerprint,
  recordedCommand: string | undefined,
): Promise<string | undefined> {
  if (mode === 'marker') return corroborationProblem(mode, { marker: readProcEnvVar(fp.pid, OWNER_ENV), cmdline: '' }, owner, recordedCommand);
  const p = (await listProcesses()).find((x) => x.pid === fp.pid);
  if (!p) return 'it is no longer in the process table';
  return corroborationProblem(mode, { cmdline: p.cmdline }, owner, recordedCommand);
}
