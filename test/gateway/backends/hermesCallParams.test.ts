import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkHermesCallParams, isKnownHermesMethod } from '../../../src/gateway/backends/hermesCallParams';

const bad = (method: string, params: unknown): string => {
  const r = checkHermesCallParams(method, params);
  assert.equal(r.ok, false, `${method} ${JSON.stringify(params)} should be refused`);
  return (r as { message: string }).message;
};

test('known hermes methods: fields of the wrong type or out of bounds are refused, saying which and what is expected', () => {
  // Each of these ends a real hermes gateway (an inline int() of the value) or is past our bounds.
  assert.equal(bad('session.create', { cols: 'abc' }), 'hermes session.create: "cols" must be an integer from 1 to 10000');
  assert.match(bad('session.create', { cols: null }), /"cols" must be an integer/);
  assert.match(bad('session.create', { cols: 1e300 }), /"cols" must be an integer/);
  assert.match(bad('session.create', { cols: 80.5 }), /"cols" must be an integer/);
  assert.match(bad('session.create', { title: 'x'.repeat(201) }), /"title" must be a string of at most 200 characters/);
  assert.match(bad('session.create', { close_on_disconnect: 'yes' }), /"close_on_disconnect" must be true or false/);
  assert.match(bad('spawn_tree.list', { limit: 'abc' }), /"limit" must be an integer/);
  assert.match(bad('terminal.resize', { session_id: 's', cols: '80' }), /"cols" must be an integer/);
  assert.match(bad('session.close', { session_id: [] }), /"session_id" must be a string/);
  assert.match(bad('slash.exec', { session_id: 's', command: 'x'.repeat(64 * 1024 + 1) }), /"command" must be a string of at most 65536/);
  assert.match(bad('session.create', ['title']), /takes its params as an object/);
});

test('good params, unknown fields and unknown methods pass unchanged', () => {
  const p = { title: 't', cols: 120, close_on_disconnect: true, messages: [{ role: 'user', content: 'hi' }] };
  assert.deepEqual(checkHermesCallParams('session.create', p), { ok: true, value: p });
  assert.deepEqual(checkHermesCallParams('session.active_list', undefined), { ok: true, value: undefined });
  assert.deepEqual(checkHermesCallParams('session.list', { limit: 5 }), { ok: true, value: { limit: 5 } });
  assert.equal(isKnownHermesMethod('pet.hatch'), false);
  assert.deepEqual(checkHermesCallParams('pet.hatch', [1, 'x']), { ok: true, value: [1, 'x'] });
  assert.equal(isKnownHermesMethod('toString'), false, 'no inherited names');
});
