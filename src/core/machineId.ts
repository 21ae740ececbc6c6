// Which machine this is. A boot id tells this machine's boots apart, but a checkpoint directory
// can be shared between machines (an NFS home under ~/.vscode-server, Remote-SSH to several login
// nodes): another machine's checkpoint has another boot id too, and its owner may well be alive.
// The machine id says which of the two a different boot id means.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export type MachineIdRead = { state: 'known'; id: string } | { state: 'unknown'; why: string };

/** The longest machine id a checkpoint may carry (ours are 32 hex digits or a host name). */
export const MAX_MACHINE_ID_CHARS = 256;

/** Where systemd (and before it D-Bus) keeps the id; absent in many containers. */
const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

let cached: string | undefined;

/**
 * This machine's id on Linux (where a shared home over NFS is common): `/etc/machine-id`, else
 * `host:` and the host name. A read that fails for any reason but absence (EMFILE, EACCES) is
 * 'unknown', never a fallback: a host name in place of the id this machine wrote before would
 * make its own checkpoints look like another machine's. Elsewhere 'unknown' (a Mac's host name
 * changes with its network), and checkpoints carry no machine, as before. Cached once known.
 */
export function readMachineId(): MachineIdRead {
  if (cached !== undefined) return { state: 'known', id: cached };
  if (process.platform !== 'linux') return { state: 'unknown', why: `no machine id is read on ${process.platform}` };
  const r = machineIdFrom(MACHINE_ID_FILES);
  if (r.state === 'known') cached = r.id;
  return r;
}

/** The id the first of `files` that exists holds, else the host name (readMachineId's rule). */
export function machineIdFrom(files: readonly string[]): MachineIdRead {
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return { state: 'unknown', why: `cannot read ${file}: ${(e as Error).message}` };
    }
    // An empty file is systemd's "not yet initialised" (first boot of an image): not an id.
    if (/^[0-9a-f]{32}$/i.test(text)) return { state: 'known', id: text.toLowerCase() };
  }
  const name = hostname();
  return name ? { state: 'known', id: `host:${name}`.slice(0, MAX_MACHINE_ID_CHARS) } : { state: 'unknown', why: 'no machine id and no host name' };
}
