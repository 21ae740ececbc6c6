// A stand-in for `powershell.exe` on Linux, for tests of the Windows process reader: it decodes
// the -EncodedCommand script of processSourceWindows.ts, answers its Win32_Process query from
// /proc (creation time = boot time + start ticks, in ms) as the same JSON array, and logs each
// run's start and end to FAKE_TOOL_LOG. FAKE_TOOL_DELAY_MS makes it slow, like a loaded machine.
import * as fs from 'node:fs';
import { clockTicksPerSecond, procPidsChecked, readProcCmdline, readProcStat } from '../../src/core/procfs';

const log = (what: string) => {
  if (process.env.FAKE_TOOL_LOG) fs.appendFileSync(process.env.FAKE_TOOL_LOG, `${what} ${Date.now()}\n`);
};
log('start');
const args = process.argv.slice(2);
const script = Buffer.from(args[args.indexOf('-EncodedCommand') + 1] ?? '', 'base64').toString('utf16le');
if (!script.includes('Get-CimInstance -ClassName Win32_Process')) {
  process.stderr.write('fake powershell: not the query it stands in for\n');
  process.exit(1);
}
const filtered = /-Filter '([^']*)'/.exec(script)?.[1];
const pids = filtered ? [...filtered.matchAll(/ProcessId=(\d+)/g)].map((m) => Number(m[1])) : procPidsChecked() ?? [];
const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1]);
const hz = clockTicksPerSecond();
const rows = pids.flatMap((pid) => {
  const st = readProcStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return []; // Windows lists no exited process
  const argv = readProcCmdline(pid);
  return [{ pid, ppid: st.ppid, name: st.comm, cmd: argv.length ? argv.join(' ') : null, start: btime * 1000 + Math.round((st.startTime * 1000) / hz) }];
});
setTimeout(() => {
  process.stdout.write(`${JSON.stringify(rows)}\r\n`);
  log('end');
}, Number(process.env.FAKE_TOOL_DELAY_MS ?? 0));
