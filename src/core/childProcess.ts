// node:child_process, loaded on first use rather than when a module is: the process table and
// the /proc readers are in every process of ours but spawn only off Linux or on rare paths (one
// `getconf`), and an idle worker on Linux never does. child_process and what it pulls in (net's
// socket list, dgram) cost ~0.13 MB private in a process that never spawns (issue 13 item 4).
import type * as ChildProcessModule from 'node:child_process';

export function childProcess(): typeof ChildProcessModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a require in a function is what keeps it out of start-up
  return require('node:child_process') as typeof ChildProcessModule;
}
