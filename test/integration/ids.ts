// Names DESIGN.md fixes, shared by the suite files (a suite file imported by another would run twice).
export const EXTENSION_ID = 'gateway-warden.gateway-warden';
export const DESIGN_COMMANDS = [
  'startGateway', 'stopGateway', 'restartGateway', 'newSession', 'closeSession',
  'runSlashCommand', 'killWorker', 'clearOrphans', 'refresh', 'showLog',
  // Issue 11: Kill Process on a row of the gateway's process tree (the command backend's program
  // and descendants, a stale hermes worker).
  'killProcess',
  // Issue 14: the diagnostics report (palette and view title).
  'copyDiagnosticsReport',
].map((c) => `gatewayWarden.${c}`);
