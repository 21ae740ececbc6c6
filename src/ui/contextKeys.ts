// Context keys read by `when` clauses in package.json menus and viewsWelcome.
import type { GatewayStatus } from '../host/supervisor';

export interface ContextKeys {
  'gatewayWarden.gatewayState': GatewayStatus['state'];
  'gatewayWarden.gatewayActive': boolean;
  'gatewayWarden.hasSessions': boolean;
  'gatewayWarden.hasWorkers': boolean;
  /** The backend of the last start (`command` has no sessions: New Session and Run Slash Command are hidden). */
  'gatewayWarden.backend': string;
}

export function contextKeys(gateway: GatewayStatus, sessions: number, workers: number): ContextKeys {
  return {
    'gatewayWarden.gatewayState': gateway.state,
    'gatewayWarden.gatewayActive': gateway.state === 'running' || gateway.state === 'starting' || gateway.state === 'restarting',
    'gatewayWarden.hasSessions': sessions > 0,
    'gatewayWarden.hasWorkers': workers > 0,
    'gatewayWarden.backend': gateway.backend ?? '',
  };
}
