import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  fromHermesActiveList, fromHermesClose, fromHermesCreate, fromHermesSlashExec, HERMES_LIMITS,
  parseHermesEvent, toHermesCreate, toHermesSessionRef, toHermesSlashExec,
} from '../../../src/gateway/backends/hermesProtocol';

test('session.create: label → title, closeOnDisconnect → close_on_disconnect, nothing invented', () => {
  assert.deepEqual(toHermesCreate({ label: 'review', closeOnDisconnect: true }), {
    ok: true, value: { title: 'review', close_on_disconnect: true },
  });
  assert.deepEqual(toHermesCreate({}), { ok: true, value: {} });
  assert.deepEqual(toHermesCreate({ label: '   ' }), { ok: true, value: {} }, 'a blank label is no title (hermes strips it too)');
  assert.deepEqual(toHermesCreate({ cols: 120, cwd: '/w', model: 'm' }), { ok: true, value: { cols: 120, cwd: '/w', model: 'm' } });
});

test('session.create: input that would crash or confuse hermes is refused with a reason', () => {
  // hermes int()s cols inline; a non-numeric one raises and ends the whole gateway (seen on the real one).
  for (const cols of ['abc', 1.5, 0, -3, HERMES_LIMITS.maxCols + 1, Number.NaN] as unknown[]) {
    const r = toHermesCreate({ cols: cols as number });
    assert.equal(r.ok, false, `cols ${String(cols)}`);
    assert.match(!r.ok ? r.message : '', /cols must be an integer/);
  }
  assert.equal(toHermesCreate({ label: 'x'.repeat(HERMES_LIMITS.titleChars + 1) }).ok, false);
  assert.equal(toHermesCreate({ label: 7 as unknown as string }).ok, false);
  assert.equal(toHermesCreate({ closeOnDisconnect: 'yes' as unknown as boolean }).ok, false);
  assert.equal(toHermesCreate({ cwd: '' }).ok, false);
});

test('session.create result → sessionId = session_id, storedSessionId = stored_session_id', () => {
  const real = {
    session_id: '241bec9b', stored_session_id: '20261130_095954_91da88', message_count: 0, messages: [],
    info: { model: 'test-model', tools: {}, skills: {}, cwd: '/x', branch: '', lazy: true, desktop_contract: 2, profile_name: 'default' },
  };
  assert.deepEqual(fromHermesCreate(real), { ok: true, value: { sessionId: '241bec9b', storedSessionId: '20261130_095954_91da88', model: 'test-model' } });
  assert.deepEqual(fromHermesCreate({ session_id: 'a', stored_session_id: 'b' }), { ok: true, value: { sessionId: 'a', storedSessionId: 'b' } });
  for (const bad of [null, [], { session_id: 'a' }, { session_id: 1, stored_session_id: 'b' }, { session_id: '', stored_session_id: 'b' }]) {
    assert.equal(fromHermesCreate(bad).ok, false, JSON.stringify(bad));
  }
});

test('slash.exec and session.close map both ways', () => {
  assert.deepEqual(toHermesSlashExec('s1', '/help'), { ok: true, value: { session_id: 's1', command: '/help' } });
  assert.equal(toHermesSlashExec('', '/help').ok, false);
  assert.equal(toHermesSlashExec('s1', 5).ok, false, 'hermes answers -32000 for a non-string command; refuse it first');
  assert.equal(toHermesSlashExec('s1', 'x'.repeat(HERMES_LIMITS.commandChars + 1)).ok, false);
  assert.deepEqual(fromHermesSlashExec({ output: 'o' }), { ok: true, value: { output: 'o' } });
  assert.deepEqual(fromHermesSlashExec({ output: 'o', warning: 'w' }), { ok: true, value: { output: 'o', warning: 'w' } });
  assert.deepEqual(fromHermesSlashExec({ output: 'o', warning: '' }), { ok: true, value: { output: 'o' } });
  assert.equal(fromHermesSlashExec({}).ok, false);
  assert.deepEqual(toHermesSessionRef('s1'), { ok: true, value: { session_id: 's1' } });
  assert.equal(toHermesSessionRef(undefined).ok, false);
  assert.deepEqual(fromHermesClose({ closed: false }), { ok: true, value: { closed: false } });
  assert.equal(fromHermesClose({ closed: 'yes' }).ok, false);
});

test('session.active_list rows: id/session_key required, other fields bounded text', () => {
  const r = fromHermesActiveList({ sessions: [
    { current: false, id: 'a1', session_key: 'k1', status: 'idle', model: 'test-model', title: 't', preview: '', message_count: 0 },
    { id: 'a2' },
    'junk',
    { id: 'a3', session_key: 'k3', status: 7 },
  ] });
  assert.deepEqual(r, { ok: true, value: [
    { sessionId: 'a1', sessionKey: 'k1', status: 'idle', model: 'test-model', title: 't' },
    { sessionId: 'a3', sessionKey: 'k3', status: '', model: '', title: '' },
  ] });
  assert.equal(fromHermesActiveList({}).ok, false);
  assert.equal(fromHermesActiveList({ sessions: new Array(HERMES_LIMITS.activeSessions + 1).fill({}) }).ok, false);
});

test('hermes events: method "event" with {type, session_id?, payload?}', () => {
  assert.deepEqual(parseHermesEvent('event', { type: 'gateway.ready', payload: { skin: {} } }), { type: 'gateway.ready', payload: { skin: {} } });
  assert.deepEqual(parseHermesEvent('event', { type: 'session.info', session_id: 's', payload: { model: 'm' } }),
    { type: 'session.info', sessionId: 's', payload: { model: 'm' } });
  assert.equal(parseHermesEvent('other', { type: 'x' }), undefined);
  assert.equal(parseHermesEvent('event', { payload: {} }), undefined);
  assert.equal(parseHermesEvent('event', null), undefined);
});
