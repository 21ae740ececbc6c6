// The slash commands of the embedded worker.
import { delay } from '../core/emitter';
import { readProcStat } from '../core/procfs';
import { RpcError } from '../core/rpc';
import { fitOutput } from './outputFit';
import { loadChildren } from './lazyChildren';

export interface CommandContext {
  testCommands: boolean;
  /** The most a command's output may take in the reply, JSON-encoded (see outputFit). */
  outputBudget: number;
  /** The id of the request being answered (test commands that write their own reply use it). */
  requestId: string | number | null;
  /** Called before a child is started (the group keeper, when there is one, must be up first). */
  beforeChild?(): void;
  /** A child now carries the worker's marker (its teardown looks for it from then on). */
  markedChild(pid: number): void;
  /** Test-only: make the worker misbehave on the wire. */
  sendRaw(line: string): void;
  exit(code: number): void;
}

const HELP = [
  '/help               this list',
  '/echo TEXT          returns TEXT',
  '/sleep MS           waits MS milliseconds',
  '/run SHELL-COMMAND  runs a shell command in the worker\'s process group; returns its output',
  '/pid                the worker\'s pid and process group',
].join('\n');

const TEST_HELP = [
  '/busy [MS]          (test) blocks the event loop for MS ms, or forever',
  '/crash [CODE]       (test) writes to stderr and exits mid-command',
  '/badreply           (test) replies with a wrong id',
  '/bigreply BYTES [id-last]  (test) replies with a raw line of BYTES, past any size check',
].join('\n');

/** The command sends no reply (test: /crash exits, /badreply sent a wrong one). */
export const NO_REPLY = Symbol('no-reply');

export async function execCommand(text: string, ctx: CommandContext): Promise<string | typeof NO_REPLY> {
  const m = /^\s*(\/[A-Za-z-]+)(?:\s+([\s\S]*))?$/.exec(text);
  if (!m) throw RpcError.invalidParams(`not a slash command: ${JSON.stringify(text.slice(0, 100))} (try /help)`);
  const name = m[1];
  const arg = (m[2] ?? '').trim();
  switch (name) {
    case '/help':
      return ctx.testCommands ? `${HELP}\n${TEST_HELP}` : HELP;
    case '/echo':
      return m[2] ?? '';
    case '/sleep': {
      const ms = Number(arg);
      if (!Number.isFinite(ms) || ms < 0 || ms > 24 * 3600_000) throw RpcError.invalidParams(`/sleep needs milliseconds (0..86400000), got ${JSON.stringify(arg)}`);
      await delay(ms);
      return `slept ${ms} ms`;
    }
    case '/run': {
      if (!arg) throw RpcError.invalidParams('/run needs a shell command');
      ctx.beforeChild?.();
      // Each raw byte takes at least one encoded byte: more than the budget could never be shown.
      const r = await loadChildren().runShell(arg, ctx.outputBudget, (pid) => ctx.markedChild(pid));
      const status = r.error !== undefined ? `[failed to start: ${r.error}]` : r.code === 0 ? '' : r.signal ? `[killed by ${r.signal}]` : `[exit code ${r.code}]`;
      return fitOutput(r.head, r.totalBytes, status, ctx.outputBudget);
    }
    case '/pid':
      return `pid ${process.pid} pgid ${processGroup()}`;
  }
  if (ctx.testCommands) {
    switch (name) {
      case '/busy': {
        const ms = arg ? Number(arg) : Infinity;
        const until = Date.now() + ms;
        while (Date.now() < until) {
          // deliberately blocks the event loop
        }
        return `busy for ${ms} ms`;
      }
      case '/crash':
        process.stderr.write(`worker: crashing on purpose (${arg || 'no reason'})\n`);
        ctx.exit(Number(arg) || 3);
        return NO_REPLY;
      case '/badreply':
        ctx.sendRaw(JSON.stringify({ jsonrpc: '2.0', id: 'not-the-id-you-sent', result: { output: 'wrong' } }));
        return NO_REPLY;
      case '/bigreply': {
        // The reply this worker's own size check would never let out: the gateway's reading side
        // must cope. `id-last` hides the id behind the payload, where a line's head cannot show it.
        const [bytesText, order] = arg.split(/\s+/);
        const bytes = Number(bytesText);
        if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > 64 * 1024 * 1024) throw RpcError.invalidParams(`/bigreply needs a byte count (0..67108864), got ${JSON.stringify(bytesText)}`);
        const output = 'x'.repeat(bytes);
        const id = JSON.stringify(ctx.requestId);
        ctx.sendRaw(order === 'id-last' ? `{"jsonrpc":"2.0","result":{"output":"${output}"},"id":${id}}` : `{"jsonrpc":"2.0","id":${id},"result":{"output":"${output}"}}`);
        return NO_REPLY;
      }
    }
  }
  throw RpcError.invalidParams(`unknown slash command ${name} (try /help)`);
}

function processGroup(): number | string {
  return readProcStat(process.pid)?.pgid ?? 'unknown';
}
