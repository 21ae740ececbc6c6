// A preload (`node -r out/test/support/fillFdsAtStart.js dist/gateway.js`) that starts the
// gateway with its descriptor table already full: just before the gateway's bundle runs (after
// node has read it), it opens /dev/null until open fails with EMFILE and keeps every descriptor.
// Node raises its soft limit to the hard one at start-up, so start it under
// `prlimit --nofile=N:N` to keep the table small.
import * as fs from 'node:fs';
import * as Module from 'node:module';

const held: number[] = [];
type Compile = (this: unknown, content: string, filename: string) => unknown;
const proto = (Module as unknown as { prototype: { _compile: Compile } }).prototype;
const compile = proto._compile;
proto._compile = function (content: string, filename: string) {
  if (filename.endsWith('gateway.js') && held.length === 0) {
    try {
      for (;;) held.push(fs.openSync('/dev/null', 'r'));
    } catch (e) {
      process.stderr.write(`fillFdsAtStart: ${held.length} descriptors held (${(e as NodeJS.ErrnoException).code})\n`);
    }
  }
  return compile.call(this, content, filename);
};
