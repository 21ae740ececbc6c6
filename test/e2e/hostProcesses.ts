// What the OS says about the extension host and the processes it owns: the truth the tree is
// checked against. The host is the `--type=extensionHost` child of code-server (one per window).
import { fingerprintOf, formatFingerprint, Fingerprint } from '../../src/core/fingerprint';
import { ProcessInfo, scanProcSync } from '../../src/core/processTable';

export interface HostRef {
  pid: number;
  fingerprint: Fingerprint;
  /** GATEWAY_WARDEN_OWNER value carried by everything this host starts. */
  marker: string;
}

/** Live extension hosts under code-server's process group. */
export function extensionHosts(serverPgid: number, table = scanProcSync({ readOwner: false })): ProcessInfo[] {
  return table.filter((p) => p.pgid === serverPgid && p.state !== 'Z' && /(^| )--type=extensionHost( |$)/.test(p.cmdline));
}

export function hostRef(pid: number): HostRef | undefined {
  const fingerprint = fingerprintOf(pid);
  return fingerprint && { pid, fingerprint, marker: formatFingerprint(fingerprint) };
}

/** Live processes whose owner marker names `host`. */
export function ownedBy(host: HostRef, table = scanProcSync()): ProcessInfo[] {
  return table.filter((p) => p.owner === host.marker && p.state !== 'Z');
}

export function describeProcess(p: ProcessInfo): string {
  return `${p.pid} (ppid ${p.ppid}, pgid ${p.pgid}) ${p.cmdline.slice(0, 120)}`;
}

export function processInfo(pid: number, table = scanProcSync()): ProcessInfo | undefined {
  return table.find((p) => p.pid === pid && p.state !== 'Z');
}
