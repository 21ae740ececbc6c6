// Where a program name resolves, the way execvp does it: a name with a `/` is a path (relative to
// the working directory), any other is looked up in PATH (an empty entry is the working
// directory). For a start that goes through a wrapper (a shell that joins a cgroup, then execs):
// there a missing program is the shell's exit 127, not spawn's ENOENT, so it is checked first to
// keep the clear error. A race (the file removed between the check and the exec) still ends as
// the shell's own message on stderr.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The search path when PATH is unset (the shells' default). */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type ExecutableLookup = { ok: true; file: string } | { ok: false; code: 'ENOENT' | 'EACCES' };

/** ENOENT: no such file anywhere; EACCES: found, but none of them is an executable regular file. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv, cwd: string): ExecutableLookup {
  if (!name) return { ok: false, code: 'ENOENT' };
  const candidates = name.includes('/') ? [path.resolve(cwd, name)]
    : (env.PATH ?? DEFAULT_PATH).split(path.delimiter).map((dir) => path.resolve(cwd, dir || '.', name));
  let found = false;
  for (const file of candidates) {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue; // not here (or unreadable: execvp goes on too)
    }
    found = true;
    if (!st.isFile()) continue;
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return { ok: true, file };
    } catch {
      // not executable: the next one may be
    }
  }
  return { ok: false, code: found ? 'EACCES' : 'ENOENT' };
}
