// Names DESIGN.md fixes, shared by the suite files (a suite file imported by another would run twice).
export const EXTENSION_ID = 'gateway-warden.gateway-warden';
export const DESIGN_COMMANDS = [
  'startGateway', 'stopGateway', 'restartGateway', 'newSession', 'closeSession',
  'runSlashCommand', 'killWorker', 'clearOrphans', 'refresh', 'showLog',
].map((c) => `gatewayWarden.${c}`);
