// The diagnostics report's data, gathered once and redacted before anyone renders it: versions,
// containment (cgroup v2 here, and where each live gateway actually is), the live hosts with their
// process trees (the `status` gathering: describeLiveOwners over the orphan scan's own snapshot),
// orphans with their reasons and the checkpoint problems (findOrphans, the `orphans` scan), and
// what only the caller knows (the extension: VS Code, settings, the live model, the log).
// The CLI and the extension both call buildReport; reportMarkdown.ts renders it, and the CLI's
// jsonShapes.ts turns it into `report --json`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { probeCgroups } from '../cgroup/cgroupProbe';
import { listCgroupTrees } from '../cgroup/cgroupLeftovers';
import { readMountTable, readProcCgroupPath } from '../cgroup/cgroupMount';
import { parseTreeName } from '../cgroup/cgroupNames';
import { readCgroupTotals } from '../cgroup/cgroupTotals';
import { Fingerprint, sameFingerprint } from '../fingerprint';
import type { NotCorroborated, Orphan } from '../orphans';
import { FindOrphansOptions, findOrphans } from '../orphansFind';
import { describeLiveOwners } from '../orphansStatus';
import type { ProcessInfo } from '../processTable';
import { clockTicksPerSecond, readProcEnvVar } from '../procfs';
import { createRedactor, secretEnvValues } from './redact';

/** Defaults of the gateway's caps (gateway/options.ts; the settings say the same). */
export const DEFAULT_CAPS = { maxSessions: 256, maxWorkers: 16 } as const;

export interface ReportVersions {
  /** Gateway Warden's version (package.json). */
  extension: string | null;
  /** VS Code (or the fork) and where it runs; null from the CLI. */
  vscode: string | null;
  node: string;
  /** e.g. "Linux 6.8.0-45-generic x64 (Ubuntu 24.04.1 LTS)". */
  os: string;
  /** os.release() and os.version(). */
  kernel: string;
}

export interface ReportSetting {
  key: string;
  /** Shown as text (arrays as a command line), redacted. */
  value: string;
}

export interface ReportSettings {
  /** Where the values come from: "VS Code settings (effective values)" or why there are none. */
  source: string;
  backend: string | null;
  entries: ReportSetting[];
  /** Rejected values (the extension's settings problems). */
  problems: string[];
}

export interface ReportCaps {
  maxSessions: number | null;
  maxWorkers: number | null;
  source: string;
}

export interface ReportCgroupTree {
  name: string;
  gatewayPid: number;
  owner: string;
  members: number | null;
  leaves: number;
  memoryBytes: number | null;
  /** memory.max: bytes, 'max' (no limit), null (no memory controller / unread). */
  memoryMax: number | 'max' | null;
}

export interface ReportContainment {
  /** Whether this process (the extension host, or the CLI) could contain children in cgroup v2. */
  cgroupV2: 'usable' | 'unavailable';
  /** Usable: where; unavailable: why. */
  detail: string;
  /** Each live gateway: the cgroup it is in, and whether that is one of ours. */
  gateways: { pid: number; cgroup: string | null; contained: boolean }[];
  /** Our gateway-warden-* cgroups under this process's cgroup parent. */
  trees: ReportCgroupTree[];
  /** What guards a gateway that is not in a cgroup of ours. */
  fallback: string;
}

export interface ReportProcess {
  pid: number;
  ppid: number;
  pgid: number | null;
  /** 0 for a process whose parent is not owned too. */
  depth: number;
  /** Linux /proc state letter (R, S, D, T, Z …); null where unknown. */
  state: string | null;
  command: string;
  ageMs: number | null;
  /** CPU time used so far (user + system). */
  cpuMs: number | null;
  rssBytes: number | null;
  role: string | null;
  sessionId: string | null;
}

export interface ReportGatewayProcess {
  pid: number;
  /** From its `--backend` flag; `embedded` for our gateway without one; null for another program. */
  backend: string | null;
  maxSessions: number | null;
  maxWorkers: number | null;
  /** Where the caps were read: "flags", "environment", "defaults", "unknown" (or a mix: "flags; the rest are defaults"). */
  capsFrom: string;
}

export interface ReportHost {
  owner: Fingerprint;
  command: string | null;
  checkpointFile: string | null;
  /** The extension host that made this report. */
  thisWindow: boolean;
  /** Tree order. */
  processes: ReportProcess[];
  gateways: ReportGatewayProcess[];
  totals: { processes: number; rssBytes: number; cpuMs: number };
}

/** The live model of the window that made the report (extension only). */
export interface ReportLive {
  gateway: { state: string; pid: number | null; message: string | null };
  backend: { name: string; state: string; pid: number | null; program: string | null; error: string | null } | null;
  sessions: {
    sessionId: string;
    label: string | null;
    client: string | null;
    ageMs: number | null;
    worker: { pid: number; state: string; busy: boolean; ageMs: number | null; idleMs: number | null } | null;
    evicted: { pid: number; reason: string; agoMs: number } | null;
    agentError: string | null;
  }[];
  staleWorkers: { pid: number; sessionKey: string | null; command: string | null; staleForMs: number }[];
}

export interface ReportLog {
  /** Where the lines come from, or why there are none. */
  source: string;
  lines: string[] | null;
}

export interface ReportData {
  generatedAt: string;
  generatedBy: 'cli' | 'extension';
  versions: ReportVersions;
  settings: ReportSettings;
  caps: ReportCaps;
  containment: ReportContainment;
  live: ReportLive | null;
  hosts: ReportHost[];
  orphans: Orphan[];
  notCorroborated: NotCorroborated[];
  /** Unreadable or quarantined checkpoints, skipped files, patterns out of time: one sentence each. */
  problems: string[];
  checkpointDirs: { editor: string; dir: string }[];
  scan: { processes: number; scanMs: number; detectMs: number; checkpoints: number };
  log: ReportLog;
}

export interface ReportInput {
  generatedBy: 'cli' | 'extension';
  extensionVersion?: string;
  vscode?: string;
  settings?: Omit<ReportSettings, 'source'>;
  caps?: { maxSessions: number; maxWorkers: number; source?: string };
  live?: ReportLive;
  log: ReportLog;
  /** The scan, exactly as `orphans` (CLI) or the Orphans node (extension) runs it. */
  scan: FindOrphansOptions;
  /** The checkpoint directories that exist, with their editor (the CLI's `status` list). */
  checkpointDirs?: { editor: string; dir: string }[];
  /** The extension host making the report. */
  thisHost?: Fingerprint;
  /** Exact values to redact wherever they appear (besides the rules and the environment's secrets). */
  secrets?: string[];
  env?: NodeJS.ProcessEnv;
  now?: Date;
}

const FALLBACK =
  'the three guards alone: stdin lifeline (EOF when the parent dies), fingerprint watchdog (pid + start time + boot id, polled), and group teardown (SIGTERM, grace, SIGKILL until the group is empty); escapees that leave the group are found by the owner marker';

/** Gathers, then redacts: nothing unredacted leaves this function. */
export async function buildReport(input: ReportInput): Promise<ReportData> {
  const env = input.env ?? process.env;
  // A full scan: the live hosts' trees below come from the same snapshot, and the cheap scan reads
  // command lines and markers only of orphan candidates (a live worker's children would be blank).
  const found = await findOrphans({ ...input.scan, scan: 'full' });
  const byPid = new Map(found.table.map((p) => [p.pid, p] as const));
  const hz = process.platform === 'linux' ? clockTicksPerSecond() : undefined;
  const cpuMs = (p: ProcessInfo | undefined) => (p?.cpuTicks !== undefined && hz ? Math.round((p.cpuTicks / hz) * 1000) : null);

  const hosts: ReportHost[] = describeLiveOwners(found.table, found.checkpoints).map((o) => {
    const thisWindow = input.thisHost !== undefined && sameFingerprint(o.owner, input.thisHost);
    // The window's own gateway may be found by its marker before its checkpoint names its role.
    const liveGateway = thisWindow ? input.live?.gateway.pid ?? undefined : undefined;
    const processes: ReportProcess[] = o.processes.map((p) => ({
      pid: p.pid, ppid: p.ppid, pgid: p.pgid ?? null, depth: p.depth, state: byPid.get(p.pid)?.state ?? null, command: p.command,
      ageMs: p.ageMs ?? null, cpuMs: cpuMs(byPid.get(p.pid)), rssBytes: p.rss ?? null, role: p.role ?? (p.pid === liveGateway ? 'gateway' : null), sessionId: p.sessionId ?? null,
    }));
    const gateways = processes
      .filter((p) => p.role === 'gateway' || (p.role === null && /\bgateway\.js\b/.test(p.command) && p.depth === 0))
      .map((p) => gatewayOf(byPid.get(p.pid)));
    return {
      owner: o.owner, command: o.command ?? null, checkpointFile: o.checkpointFile ?? null,
      thisWindow, processes, gateways,
      totals: {
        processes: processes.length,
        rssBytes: processes.reduce((n, p) => n + (p.rssBytes ?? 0), 0),
        cpuMs: processes.reduce((n, p) => n + (p.cpuMs ?? 0), 0),
      },
    };
  });

  const settings: ReportSettings = input.settings
    ? { source: 'VS Code settings (effective values, after validation)', ...input.settings }
    : {
      source: 'not known to the CLI (settings live in VS Code; run "Gateway Warden: Copy Diagnostics Report" there); the backend and caps of each live gateway are read from its command line and environment below',
      backend: null, entries: [], problems: [],
    };
  const caps: ReportCaps = input.caps
    ? { maxSessions: input.caps.maxSessions, maxWorkers: input.caps.maxWorkers, source: input.caps.source ?? 'settings gatewayWarden.limits.*, applied when the gateway starts' }
    : { maxSessions: null, maxWorkers: null, source: 'per live gateway, below' };

  const data: ReportData = {
    generatedAt: (input.now ?? new Date()).toISOString(),
    generatedBy: input.generatedBy,
    versions: versions(input),
    settings,
    caps,
    containment: containment(hosts, env),
    live: input.live ?? null,
    hosts,
    orphans: found.orphans,
    notCorroborated: found.notCorroborated,
    problems: found.problems,
    checkpointDirs: input.checkpointDirs ?? input.scan.checkpointDirs.map((dir) => ({ editor: 'given', dir })),
    scan: { processes: found.table.length, scanMs: found.scanMs, detectMs: found.detectMs, checkpoints: found.checkpoints.length },
    log: input.log,
  };
  const tokens = attachTokens(hosts.flatMap((h) => h.gateways.map((g) => byPid.get(g.pid))));
  return createRedactor([...secretEnvValues(env), ...tokens, ...(input.secrets ?? [])]).deep(data);
}

function versions(input: ReportInput): ReportVersions {
  return {
    extension: input.extensionVersion ?? null,
    vscode: input.vscode ?? null,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}${distro() ? ` (${distro()})` : ''}`,
    kernel: `${os.release()} ${safe(() => os.version()) ?? ''}`.trim(),
  };
}

let distroName: string | null | undefined;
/** PRETTY_NAME from /etc/os-release (Linux), read once. */
function distro(): string | null {
  if (distroName !== undefined) return distroName;
  distroName = null;
  if (process.platform === 'linux') {
    const text = safe(() => fs.readFileSync('/etc/os-release', 'utf8').slice(0, 8192));
    const m = text ? /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text) : null;
    distroName = m ? m[1].slice(0, 200) : null;
  }
  return distroName;
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** Backend and caps of a live gateway from its argv (our gateway's flags), else its environment (Linux). */
function gatewayOf(p: ProcessInfo | undefined): ReportGatewayProcess {
  const pid = p?.pid ?? 0;
  const argv = p?.argv ?? p?.cmdline.split(' ') ?? [];
  const flag = (name: string): string | undefined => {
    const end = argv.indexOf('--');
    const own = end >= 0 ? argv.slice(0, end) : argv;
    for (let i = 0; i < own.length; i++) {
      if (own[i] === name) return own[i + 1];
      if (own[i].startsWith(`${name}=`)) return own[i].slice(name.length + 1);
    }
    return undefined;
  };
  const ours = argv.some((a) => /(^|[\\/])gateway\.js$/.test(a));
  const backend = flag('--backend') ?? (ours ? 'embedded' : null);
  const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
  let maxSessions = int(flag('--max-sessions'));
  let maxWorkers = int(flag('--max-workers'));
  let capsFrom = maxSessions !== undefined || maxWorkers !== undefined ? 'flags' : 'unknown';
  if (process.platform === 'linux' && pid) {
    const s = int(readProcEnvVar(pid, 'GATEWAY_WARDEN_MAX_SESSIONS'));
    const w = int(readProcEnvVar(pid, 'GATEWAY_WARDEN_MAX_WORKERS'));
    if ((maxSessions === undefined && s !== undefined) || (maxWorkers === undefined && w !== undefined)) capsFrom = capsFrom === 'flags' ? 'flags and environment' : 'environment';
    maxSessions ??= s;
    maxWorkers ??= w;
  }
  if (ours && (maxSessions === undefined || maxWorkers === undefined)) {
    if (capsFrom === 'unknown') capsFrom = 'defaults';
    else capsFrom += '; the rest are defaults';
    maxSessions ??= DEFAULT_CAPS.maxSessions;
    maxWorkers ??= DEFAULT_CAPS.maxWorkers;
  }
  return { pid, backend, maxSessions: maxSessions ?? null, maxWorkers: maxWorkers ?? null, capsFrom };
}

/**
 * The attach tokens of live gateways, read from their token files (`--token-file` or
 * GATEWAY_WARDEN_TOKEN_FILE): only to redact them wherever they appear. A file that is not a small
 * regular file of ours is not read.
 */
function attachTokens(processes: readonly (ProcessInfo | undefined)[]): string[] {
  const tokens: string[] = [];
  for (const p of processes) {
    if (!p) continue;
    const argv = p.argv ?? [];
    let file: string | undefined;
    // Anywhere in argv (also a wrapped program's): the file is only read to redact its content.
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === '--token-file') file = argv[i + 1];
      else if (argv[i].startsWith('--token-file=')) file = argv[i].slice('--token-file='.length);
    }
    if (file === undefined && process.platform === 'linux') file = readProcEnvVar(p.pid, 'GATEWAY_WARDEN_TOKEN_FILE');
    const token = file ? readSmallOwnFile(file) : undefined;
    if (token) tokens.push(token.trim());
  }
  return tokens;
}

function readSmallOwnFile(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > 4096 || (process.getuid && st.uid !== process.getuid())) return undefined;
    const buf = Buffer.alloc(st.size);
    const n = fs.readSync(fd, buf, 0, st.size, 0);
    return buf.toString('utf8', 0, n);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function containment(hosts: readonly ReportHost[], env: NodeJS.ProcessEnv): ReportContainment {
  const probe = probeCgroups(env);
  const gateways: ReportContainment['gateways'] = [];
  const mounts = process.platform === 'linux' ? readMountTable() : undefined;
  for (const g of hosts.flatMap((h) => h.gateways)) {
    if (!mounts || mounts.state !== 'found') {
      gateways.push({ pid: g.pid, cgroup: null, contained: false });
      continue;
    }
    const cg = readProcCgroupPath(g.pid);
    const cgroup = cg.state === 'found' ? cg.value : null;
    // Ours: somewhere below a gateway-warden-<pid> directory named for this very gateway.
    const contained = cgroup !== null && cgroup.split('/').some((part) => parseTreeName(part) === g.pid);
    gateways.push({ pid: g.pid, cgroup, contained });
  }
  const trees: ReportCgroupTree[] = [];
  if (probe.available) {
    const listed = listCgroupTrees(probe.mount, probe.parentDir);
    if (listed.state === 'found') {
      for (const t of listed.value) {
        const totals = readCgroupTotals(t.path);
        trees.push({
          name: t.name, gatewayPid: t.gatewayPid, owner: t.owner + (t.ownerWhy ? ` (${t.ownerWhy})` : ''),
          members: t.members?.length ?? null, leaves: t.leaves.length,
          memoryBytes: totals.state === 'found' ? totals.value.memoryBytes ?? null : null,
          memoryMax: totals.state === 'found' ? totals.value.memoryMax ?? null : null,
        });
      }
    }
  }
  return {
    cgroupV2: probe.available ? 'usable' : 'unavailable',
    detail: probe.available
      ? `cgroup2 at ${probe.mount.mountPoint} (${probe.layout}); trees are created in ${probe.parentDir}; cgroup.kill ${probe.killFile ? 'available' : 'not available (freeze + SIGKILL instead)'}; controllers delegated: ${probe.delegated.join(' ') || 'none'}`
      : probe.reason,
    gateways,
    trees,
    fallback: FALLBACK,
  };
}
