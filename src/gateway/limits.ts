// How the gateway says no at a cap: one error code (LimitReached), a message that names the limit,
// the gateway flag and the extension setting that raise it, and `data` a client can act on.
import { RpcError, RpcErrorCode } from '../core/rpc';

export type LimitName = 'maxSessions' | 'maxWorkers';

export interface LimitData {
  limit: LimitName;
  value: number;
  setting: string;
}

const RAISED_BY: Record<LimitName, { setting: string; flag: string }> = {
  maxSessions: { setting: 'gatewayWarden.limits.maxSessions', flag: '--max-sessions' },
  maxWorkers: { setting: 'gatewayWarden.limits.maxWorkers', flag: '--max-workers' },
};

/** `why` says what is full, e.g. "256 sessions are open"; the rest of the message is fixed. */
export function limitReached(limit: LimitName, value: number, why: string, whatToDo: string): RpcError {
  const { setting, flag } = RAISED_BY[limit];
  const data: LimitData = { limit, value, setting };
  return new RpcError(
    RpcErrorCode.LimitReached,
    `${limit} limit reached (${value}): ${why}. ${whatToDo}, or raise the setting ${setting} (gateway flag ${flag}).`,
    data,
  );
}
