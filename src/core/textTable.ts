// Aligned plain-text tables (the CLI's listings and the diagnostics report); the last column is
// truncated to the given width (default: the terminal's).
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

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}
