// The CLI's tables are core's (the diagnostics report renders the same ones).
export { renderTable, truncate } from '../core/textTable';
