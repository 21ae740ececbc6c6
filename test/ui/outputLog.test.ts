// The extension's log over a channel VS Code may already have closed (it disposes the
// subscriptions right after calling deactivate): no call throws; warnings and errors still go
// somewhere (stderr), debug chatter is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outputLog } from '../../src/ui/outputLog';

function channel() {
  const lines: string[] = [];
  let closed = false;
  const guard = () => {
    if (closed) throw new Error('Channel has been closed');
  };
  const at = (level: string) => (m: string) => {
    guard();
    lines.push(`${level} ${m}`);
  };
  return {
    lines,
    trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'),
    show: () => guard(),
    dispose: () => {
      guard();
      closed = true;
    },
  };
}

test('an open channel gets every line as it is', () => {
  const c = channel();
  const log = outputLog(c, () => assert.fail('no fallback while the channel is open'));
  log.debug('d');
  log.info('i');
  log.error('e');
  assert.deepEqual(c.lines, ['debug d', 'info i', 'error e']);
});

test('a closed channel throws nothing: warnings and errors go to the fallback, debug and trace are dropped', () => {
  const c = channel();
  const fallback: string[] = [];
  const log = outputLog(c, (l) => fallback.push(l));
  log.dispose();
  assert.doesNotThrow(() => {
    log.trace('t');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    log.show();
    log.dispose();
  });
  assert.deepEqual(fallback, [
    'Gateway Warden [info] i (the log channel: Channel has been closed)',
    'Gateway Warden [warn] w (the log channel: Channel has been closed)',
    'Gateway Warden [error] e (the log channel: Channel has been closed)',
  ]);
});
