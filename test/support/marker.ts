import * as fs from 'node:fs';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import { readProcEnvVar, readProcStat } from '../../src/core/procfs';

/** Live (non-zombie) pids whose environment has GATEWAY_WARDEN_OWNER starting with `prefix`. */
export function pidsWithMarker(prefix: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const v = readProcEnvVar(pid, OWNER_ENV);
    if (v === undefined || !v.startsWith(prefix)) continue;
    const st = readProcStat(pid);
    if (st && st.state !== 'Z') out.push(pid);
  }
  return out;
}
