// Launch specs for the fake gateway fixture, each with a unique owner marker so a test can find
// every process it caused (pidsWithMarker) and prove none is left.
import * as path from 'node:path';
import { OWNER_ENV } from '../../src/core/ownerMarker';
import type { LaunchSpec } from '../../src/host/launchSpec';
import type { Log } from '../../src/host/seams';
import { testMarker } from '../support/processes';

export const FAKE_GATEWAY = path.join(__dirname, 'fixtures', 'fakeGateway.js');

export function fakeSpec(name: string, env: Record<string, string> = {}): { spec: LaunchSpec; marker: string } {
  const marker = testMarker(name);
  const args = [FAKE_GATEWAY];
  return {
    marker,
    spec: {
      command: process.execPath,
      args,
      env: { ...process.env, [OWNER_ENV]: marker, ...env },
      display: `node fakeGateway.js (${name})`,
      embedded: false,
    },
  };
}

/** A Log that remembers every line (and can print them when a test fails). */
export function memoryLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => {
    lines.push(`${level} ${m}`);
  };
  return { lines, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
