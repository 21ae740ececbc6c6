// Where the extension keeps its checkpoints: <globalStorage>/registry, for every VS Code flavour
// the CLI knows of. GATEWAY_WARDEN_CHECKPOINTS (path-list) replaces the defaults. Only the
// defaults are our own registry (tightened to 0700 when loose); a named directory is only read.
import * as os from 'node:os';
import * as path from 'node:path';
import { CHECKPOINT_SUBDIR } from '../core/checkpoint';

export const CHECKPOINTS_ENV = 'GATEWAY_WARDEN_CHECKPOINTS';
const EXTENSION_ID = 'gateway-warden.gateway-warden';
const FLAVOURS = ['Code', 'Code - Insiders', 'Code - OSS', 'VSCodium'];

/** The user-data directories of the VS Code flavours (and code-server) on this platform. */
function userDataDirs(env: NodeJS.ProcessEnv, home: string): string[] {
  switch (process.platform) {
    case 'darwin':
      return FLAVOURS.map((f) => path.join(home, 'Library', 'Application Support', f));
    case 'win32': {
      const appData = env.APPDATA ?? path.join(home, 'AppData', 'Roaming');
      return FLAVOURS.map((f) => path.join(appData, f));
    }
    default: {
      const config = env.XDG_CONFIG_HOME || path.join(home, '.config');
      const data = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
      return [...FLAVOURS.map((f) => path.join(config, f)), path.join(data, 'code-server')];
    }
  }
}

export function defaultCheckpointDirs(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string[] {
  const fromEnv = env[CHECKPOINTS_ENV];
  if (fromEnv) return fromEnv.split(path.delimiter).filter(Boolean);
  return userDataDirs(env, home).map((d) => path.join(d, 'User', 'globalStorage', EXTENSION_ID, CHECKPOINT_SUBDIR));
}

/** The directories to read: `--checkpoints` values, else the environment's, else the defaults (`own`). */
export function resolveCheckpointDirs(given: readonly string[] | undefined, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): { dirs: string[]; own: boolean } {
  if (given) return { dirs: [...given], own: false };
  return { dirs: defaultCheckpointDirs(env, home), own: !env[CHECKPOINTS_ENV] };
}
