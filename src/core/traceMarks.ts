// TEMPORARY (not to be committed): timing marks for the reap investigation.
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
const file = process.env.GATEWAY_WARDEN_TRACE;
const marks: string[] = [];
export function mark(l: string): void {
  if (file) marks.push(`${(performance.timeOrigin + performance.now()).toFixed(2)} ${process.pid} ${l}`);
}
export function flushMarks(): void {
  if (file && marks.length) fs.appendFileSync(file, marks.splice(0).join('\n') + '\n');
}
process.on('exit', flushMarks);
