// killTree: for processes that are not in a group we own. The tree is snapshotted first (a
// child's parent link is lost once the parent dies), every member is fingerprint-checked right
// before each signal, and rounds repeat — picking up children forked meanwhile — until every
// member is gone or the timeout passes.
import { performance } from 'node:perf_hooks';
import { Fingerprint, fingerprintOf, fingerprintOfInfo, isFingerprint, livenessOf } from './fingerprint';
import { checkProcess, protectedPid, safeKill, signalProblem } from './killSafe';
import { DEFAULT_GRACE_MS, DEFAULT_TIMEOUT_MS } from './groupTeardown';
import type { KillTreeEntry, KillTreeOptions, KillTreeResult } from './killTypes';
import { descendantsOf, listProcesses, ProcessInfo } from './processTable';
import { treeKillSpared } from './treeKillSpared';

interface Member {
  fp: Fingerprint;
  entry: KillTreeEntry;
  done: boolean;
}

const KILL_REPEAT_MS = 100;
const MAX_POLL_MS = 25;

export async function killTree(root: Fingerprint, opts: KillTreeOptions = {}): Promise<KillTreeResult> {
  const started = performance.now();
  const result: KillTreeResult = { root: isFingerprint(root) ? root.pid : NaN, processes: [], survivors: [], elapsedMs: 0 };
  const finish = (): KillTreeResult => {
    result.elapsedMs = Math.round((performance.now() - started) * 10) / 10;
    return result;
  };
  try {
    const refusal = checkRoot(root, opts);
    if (refusal) {
      result.processes.push(refusal.entry);
      if (refusal.refused) result.refused = refusal.refused;
      return finish();
    }
    if (process.platform === 'win32') {
      Object.assign(result, await treeKillSpared(root, opts));
      return finish();
    }
    await teardown(root, opts, started, result);
  } catch (e) {
    result.refused = `error: ${(e as Error)?.message ?? String(e)}`;
  }
  return finish();
}

async function teardown(root: Fingerprint, opts: KillTreeOptions, started: number, result: KillTreeResult): Promise<void> {
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const members: Member[] = [newMember(root)];
  const byPid = new Map<number, Member>([[root.pid, members[0]]]);
  const spared = new Map<number, KillTreeEntry>();
  const adopt = (table: readonly ProcessInfo[]) => {
    // Descendants of members still alive; a pid already tracked is kept with its first fingerprint.
    for (const m of members.filter((x) => !x.done)) {
      for (const info of descendantsOf(table, m.fp.pid)) {
        if (byPid.has(info.pid) || spared.has(info.pid)) continue;
        // Parents come before children, so a vetoed process takes its subtree with it.
        const veto = spared.has(info.ppid) ? `below spared pid ${info.ppid}` : opts.spare?.(info);
        if (veto !== undefined) {
          spared.set(info.pid, { pid: info.pid, outcome: 'refused', reason: 'protected', message: `pid ${info.pid} spared: ${veto}`, signals: [] });
          continue;
        }
        const fp = fingerprintOfInfo(info) ?? fingerprintOf(info.pid);
        if (!fp) continue;
        const member = newMember(fp);
        members.push(member);
        byPid.set(info.pid, member);
      }
    }
  };
  const snapshot = () => listProcesses({ readOwner: opts.spare !== undefined });
  adopt(await snapshot());

  let signal: NodeJS.Signals = opts.firstSignal ?? 'SIGTERM';
  let waitMs = graceMs;
  for (;;) {
    for (const m of members) {
      if (m.done) continue;
      const r = safeKill(m.fp, signal);
      if (r.sent) {
        m.entry.signals.push(signal);
        continue;
      }
      m.done = true;
      if (r.reason === 'gone' || r.reason === 'reused') {
        settle(m, r.reason);
      } else {
        Object.assign(m.entry, { outcome: 'refused', reason: r.reason, message: r.message });
      }
    }
    const deadline = signal === 'SIGKILL'
      ? performance.now() + waitMs
      : Math.min(performance.now() + waitMs, started + timeoutMs);
    let pollMs = 1;
    let alive: Member[];
    do {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(pollMs, deadline - performance.now()))));
      pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
      // Only proof ends a member: one that cannot be read now is still waited for (and the
      // next round's safeKill refuses it as 'unknown' rather than guess).
      alive = members.filter((m) => !m.done && livenessOf(m.fp).state !== 'dead');
    } while (alive.length > 0 && performance.now() < deadline);
    for (const m of members) if (!m.done && !alive.includes(m)) { m.done = true; settle(m, 'gone'); }
    if (alive.length === 0) break;
    if (signal === 'SIGKILL' && performance.now() >= started + timeoutMs) {
      for (const m of alive) {
        Object.assign(m.entry, { outcome: 'survived', message: `pid ${m.fp.pid} still alive after ${m.entry.signals.join(', ')}` });
      }
      result.survivors = alive.map((m) => m.fp.pid);
      break;
    }
    // Children forked since the snapshot, while their parents are still alive to name them.
    adopt(await snapshot());
    signal = 'SIGKILL';
    waitMs = KILL_REPEAT_MS;
  }
  result.processes = [...members.map((m) => m.entry), ...spared.values()];
}

function newMember(fp: Fingerprint): Member {
  return { fp, done: false, entry: { pid: fp.pid, outcome: 'survived', message: '', signals: [] } };
}

/** Marks a member that is no longer the recorded process: killed by us, or gone on its own. */
function settle(m: Member, why: 'gone' | 'reused'): void {
  const { entry } = m;
  if (entry.signals.length > 0) {
    Object.assign(entry, { outcome: 'killed', message: `pid ${entry.pid} exited after ${entry.signals.join(', ')}` });
  } else {
    Object.assign(entry, {
      outcome: 'already-gone',
      reason: why,
      message: why === 'gone' ? `pid ${entry.pid} had already exited` : `pid ${entry.pid} had been reused by another process; not signalled`,
    });
  }
}

function checkRoot(root: Fingerprint, opts: KillTreeOptions): { entry: KillTreeEntry; refused?: string } | undefined {
  const refuse = (message: string, reason: KillTreeEntry['reason'] = 'error') => ({
    entry: { pid: isFingerprint(root) ? root.pid : NaN, outcome: 'refused' as const, reason, message, signals: [] },
    refused: message,
  });
  if (!isFingerprint(root)) return refuse(`not a process fingerprint: ${JSON.stringify(root)}`);
  if (opts.firstSignal !== undefined) {
    const problem = signalProblem(opts.firstSignal);
    if (problem) return refuse(problem);
  }
  const why = protectedPid(root.pid);
  if (why) return refuse(`pid ${root.pid} is ${why}; never signalled`, 'protected');
  const check = checkProcess(root);
  if (!check) return undefined;
  if (check.reason === 'gone' || check.reason === 'reused') {
    const m = newMember(root);
    settle(m, check.reason);
    return { entry: m.entry };
  }
  return refuse(check.message, check.reason);
}
