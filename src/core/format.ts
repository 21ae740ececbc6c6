// Every figure shown to a person, in one form wherever it is shown — the tree, the status bar,
// the palette, the CLI's tables and the diagnostics report all call these (src/ui imports them
// from here). For display only: identity is always the fingerprint, never an age or a size.

/** "850 B", "2.0 KB", "44 MB", "1.5 GB" (1 KB = 1024 bytes): one decimal below 10, "?" when unknown. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return '?';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** Whole megabytes, the unit of the MB settings ("64 MB" beside limits.workerMemoryMB = 64). */
export function formatMegabytes(n: number): string {
  return `${Math.round(n / (1024 * 1024))} MB`;
}

/**
 * "850ms", "42s", "7m 3s", "5h 2m", "3d 4h", "?" when unknown. `'minute'`: "<1m", "7m", "5h 2m" —
 * for a figure that is redrawn only when it changes (a tree row's age: see ui/processTree.ts).
 */
export function formatDuration(ms: number | null | undefined, precision: 'second' | 'minute' = 'second'): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '?';
  if (precision === 'minute' && ms < 60_000) return '<1m';
  if (ms < 1000) return `${Math.floor(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return precision === 'minute' ? `${m}m` : `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Share of one CPU: "7.5% CPU", "13% CPU"; undefined when unknown (left out of a description). */
export function formatCpuPercent(p: number | undefined): string | undefined {
  return p === undefined ? undefined : `${p < 10 ? p.toFixed(1) : Math.round(p)}% CPU`;
}

/** CPU time used: "1.25s" below a minute, then as a duration; "?" when unknown. */
export function formatCpuTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '?';
  return ms < 60_000 ? `${(ms / 1000).toFixed(2)}s` : formatDuration(ms);
}

/** "3 of 16 workers" when the cap is known (the gateway reported it), else "3 workers". */
export function formatWorkerCount(n: number, max: number | undefined): string {
  const noun = (max ?? n) === 1 ? 'worker' : 'workers';
  return max === undefined ? `${n} ${noun}` : `${n} of ${max} ${noun}`;
}

/** At most `max` characters, an ellipsis ending what was cut. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

/** An aligned plain-text table (the CLI's listings, the diagnostics report); the last column is cut to the width (default: the terminal's). */
export function renderTable(header: string[], rows: string[][], width = process.stdout.columns || 120): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const fixed = widths.slice(0, -1).reduce((a, w) => a + w + 2, 0);
  const lastMax = Math.max(20, width - fixed);
  return all
    .map((r) =>
      r.map((cell, i) => (i === r.length - 1 ? truncate(cell, lastMax) : cell.padEnd(widths[i]))).join('  ').trimEnd(),
    )
    .join('\n');
}
