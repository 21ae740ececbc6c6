// Process age for DISPLAY only (identity is the fingerprint's raw start ticks, never this):
// Linux start time is in clock ticks since boot, so age = uptime - start / CLK_TCK.
import * as fs from 'node:fs';

import { clockTicksPerSecond } from './procfs';

/** Seconds since boot from /proc/uptime, or undefined off Linux. */
export function uptimeSeconds(): number | undefined {
  try {
    const s = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Number.isFinite(s) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** A function from Linux start ticks to age in ms, fixed at one uptime reading. */
export function ageFromStartTicks(uptime = uptimeSeconds(), hz = clockTicksPerSecond()): (startTicks?: number) => number | undefined {
  return (startTicks) => {
    if (uptime === undefined || startTicks === undefined) return undefined;
    return Math.max(0, Math.round((uptime - startTicks / hz) * 1000));
  };
}

/** "850ms", "42s", "7m03s", "5h02m", "3d04h". */
export function formatAge(ms: number | undefined): string {
  if (ms === undefined) return '?';
  if (ms < 1000) return `${ms}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** "44.0 MB" (1 MB = 2^20 bytes), "?" when unknown. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '?';
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
