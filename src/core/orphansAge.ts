// Process age for DISPLAY only (identity is the fingerprint's raw start ticks, never this):
// Linux start time is in clock ticks since boot, so age = uptime - start / CLK_TCK. Shown by
// formatDuration (core/format.ts).
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
