// Where the extension keeps its checkpoints: <user data>/User/globalStorage/<extension id>/registry,
// for every editor it can run in — desktop VS Code and its forks, code-server, and the servers
// that Remote-SSH / WSL / dev containers (and the forks' equivalents) run on the remote side,
// where a workspace extension's storage lives. GATEWAY_WARDEN_CHECKPOINTS (path list) replaces
// the defaults.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHECKPOINT_SUBDIR } from '../core/checkpoint';

export const CHECKPOINTS_ENV = 'GATEWAY_WARDEN_CHECKPOINTS';
const EXTENSION_ID = 'gateway-warden.gateway-warden';

/** Desktop editors: the name of their user-data folder (the same on every platform). */
const DESKTOP = ['Code', 'Code - Insiders', 'Code - OSS', 'VSCodium', 'VSCodium - Insiders', 'Cursor', 'Windsurf'];
/** Remote servers: `~/<folder>/data` is the server's user-data directory. */
const SERVERS: readonly [string, string][] = [
  ['VS Code Server', '.vscode-server'],
  ['VS Code Server (Insiders)', '.vscode-server-insiders'],
  ['Code - OSS Server', '.vscode-server-oss'],
  ['VSCodium Server', '.vscodium-server'],
  ['Cursor Server', '.cursor-server'],
  ['Windsurf Server', '.windsurf-server'],
];

export interface CheckpointDir {
  /** Which editor keeps its checkpoints here ("from GATEWAY_WARDEN_CHECKPOINTS", "given" for the others). */
  editor: string;
  dir: string;
}

/** The user-data directories of every known editor on this platform, with their names. */
function userDataDirs(env: NodeJS.ProcessEnv, home: string): CheckpointDir[] {
  let desktopRoot: string;
  switch (process.platform) {
    case 'darwin':
      desktopRoot = path.join(home, 'Library', 'Application Support');
      break;
    case 'win32':
      desktopRoot = env.APPDATA ?? path.join(home, 'AppData', 'Roaming');
      break;
    default:
      desktopRoot = env.XDG_CONFIG_HOME || path.join(home, '.config');
  }
  const dirs = DESKTOP.map((editor) => ({ editor, dir: path.join(desktopRoot, editor) }));
  if (process.platform !== 'darwin' && process.platform !== 'win32') {
    dirs.push({ editor: 'code-server', dir: path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'code-server') });
  }
  // Remote servers run on Linux mostly, but WSL's and SSH's servers use the same layout anywhere.
  for (const [editor, folder] of SERVERS) dirs.push({ editor, dir: path.join(home, folder, 'data') });
  return dirs;
}

export function defaultCheckpointDirs(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): CheckpointDir[] {
  const fromEnv = env[CHECKPOINTS_ENV];
  if (fromEnv) return fromEnv.split(path.delimiter).filter(Boolean).map((dir) => ({ editor: `from ${CHECKPOINTS_ENV}`, dir }));
  return userDataDirs(env, home).map(({ editor, dir }) => ({
    editor,
    dir: path.join(dir, 'User', 'globalStorage', EXTENSION_ID, CHECKPOINT_SUBDIR),
  }));
}

/** The directories to read: `--checkpoints` values, else the environment's, else the defaults (`own`). */
export function resolveCheckpointDirs(
  given: readonly string[] | undefined,
  env: NodeJS.ProcessEnv = process.env,
  home = os.homedir(),
): { dirs: string[]; own: boolean; described: CheckpointDir[] } {
  const described = given ? given.map((dir) => ({ editor: 'given', dir })) : defaultCheckpointDirs(env, home);
  return { dirs: described.map((d) => d.dir), own: !given && !env[CHECKPOINTS_ENV], described };
}

/** Those of `dirs` that exist as directories (lstat: a symlink is not followed, and not counted). */
export function existingCheckpointDirs(dirs: readonly CheckpointDir[]): CheckpointDir[] {
  return dirs.filter((d) => {
    try {
      return fs.lstatSync(d.dir).isDirectory();
    } catch {
      return false;
    }
  });
}
