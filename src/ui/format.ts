// Short human-readable durations and sizes for tree descriptions.
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '?';
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

export function formatCpu(p: number | undefined): string | undefined {
  return p === undefined ? undefined : `${p < 10 ? p.toFixed(1) : Math.round(p)}% CPU`;
}

/** "3 of 16 workers" when the cap is known (the gateway reported it), else "3 workers". */
export function formatWorkerCount(n: number, max: number | undefined): string {
  const noun = (max ?? n) === 1 ? 'worker' : 'workers';
  return max === undefined ? `${n} ${noun}` : `${n} of ${max} ${noun}`;
}
