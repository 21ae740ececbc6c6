// Kill primitives. Every signal goes only to a process (or group) re-checked right before it is
// sent; see killSafe (one process), groupTeardown (a group we own), killTree (a tree we don't).
export type {
  RefusalReason,
  SafeKillResult,
  KillGroupOptions,
  KillGroupResult,
  SignalStep,
  KillTreeOutcome,
  KillTreeEntry,
  KillTreeOptions,
  KillTreeResult,
} from './killTypes';
export { safeKill } from './killSafe';
export { killGroup, killGroupSync } from './killGroup';
export { killTree } from './killTree';
export { groupSnapshot, ownProcessGroup } from './killGroupMembers';
export type { GroupSnapshot } from './killGroupMembers';
