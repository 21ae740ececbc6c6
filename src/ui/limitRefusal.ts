// A gateway refusal at one of its caps (JSON-RPC LimitReached): shown as a warning that names the
// setting that raises the cap, with an action that opens it — not as a failure with "Show Log".
import { RpcErrorCode } from '../core/rpcError';

export interface LimitRefusal {
  /** The setting that raises the cap, e.g. gatewayWarden.limits.maxWorkers. */
  setting: string;
  message: string;
}

export const OPEN_SETTINGS = 'Open Settings';

/** The refusal in `e`, or undefined for any other error (including a malformed `data`). */
export function limitRefusal(what: string, e: unknown): LimitRefusal | undefined {
  const err = e as { code?: unknown; message?: unknown; data?: { setting?: unknown; limit?: unknown; value?: unknown } } | undefined;
  if (!err || typeof err !== 'object' || err.code !== RpcErrorCode.LimitReached) return undefined;
  const setting = err.data?.setting;
  // Only our own settings: a custom gateway's data is not trusted to name anything else.
  if (typeof setting !== 'string' || !/^gatewayWarden\.[A-Za-z0-9.]+$/.test(setting)) return undefined;
  const text = typeof err.message === 'string' && err.message ? err.message : `limit ${String(err.data?.limit)} reached`;
  // The gateway's message names the setting; a custom gateway's might not.
  const message = `${what}: ${text}${text.includes(setting) ? '' : ` (raise the setting ${setting})`}`;
  return { setting, message };
}
