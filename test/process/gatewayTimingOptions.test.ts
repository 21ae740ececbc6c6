// A timing option too long for a timer (Node turns a delay of 2^31 ms or more into 1 ms) is
// refused like any bad value — a warning on stderr, the default kept — never silently run as 1 ms,
// which for the idle timeout closed every session at once.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TIMEOUTS, MAX_TIMING_OPTION_MS } from '../../src/core/timeouts';
import { createSession, exec, startHostedGateway, stopHostedGateway } from '../support/gatewayHost';
import { killTracked, waitFor } from '../support/processes';

after(killTracked);

test('--worker-idle-timeout-ms 2147483648: a warning naming the flag and its bound, the default idle timeout in force, sessions stay open', async () => {
  const g = await startHostedGateway({ args: ['--worker-idle-timeout-ms', String(2 ** 31)] });
  try {
    const warning = `warning: --worker-idle-timeout-ms="2147483648" is not an integer from 0 to ${MAX_TIMING_OPTION_MS}; using the default ${DEFAULT_TIMEOUTS.workerIdleTimeoutMs}`;
    // stderr is a pipe of its own: the line may come after gateway.ready.
    await waitFor(() => g.stderr().includes(warning), 'the warning on stderr', 5000).catch(() => assert.fail(`no warning ${JSON.stringify(warning)} on stderr; it has:\n${g.stderr()}`));
    assert.doesNotMatch(g.stderr(), /TimeoutOverflowWarning/);
    const status = await g.rpc.request<{ options: { workerIdleTimeoutMs: number } }>('gateway.status', {});
    assert.equal(status.options.workerIdleTimeoutMs, DEFAULT_TIMEOUTS.workerIdleTimeoutMs);
    // With the idle timer at 1 ms the session closed as soon as its first command ended.
    const s = await createSession(g);
    assert.equal(await exec(g, s, '/echo one'), 'one');
    assert.equal(await exec(g, s, '/echo two'), 'two');
    assert.equal(g.events.some((e) => e.type === 'session.closed'), false, JSON.stringify(g.events));
  } finally {
    await stopHostedGateway(g);
  }
});
