// Everything a worker needs only once it starts a child (/run): starting it (runShell), keeping
// its group watched (the group keeper), taking it down (the teardown engine), and the reaper the
// keeper becomes. Never imported statically: loadChildren() (lazyChildren.ts) requires it on
// first need, so an idle worker that never ran /run never evaluates any of it, nor node's
// child_process, perf_hooks and os modules it pulls in (issue 13 item 4: an idle worker's private
// memory). It stays inside dist/worker.js (esbuild evaluates a module required this way only when
// the require runs): no second file that could be missing when a teardown needs it.
export { runShell } from './runShell';
export { GroupKeeper } from './groupKeeper';
export { reapIfAsked } from './reaper';
export { cgroupTarget, describeProblems, ownProcesses, teardown, teardownSync } from '../core/kill';
