import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relaunchOffer, RelaunchPrompter } from '../../src/ui/relaunchPrompt';
import { fakeWindow } from './fakeVscode';
import type { GatewayState } from '../../src/host/supervisor';

const changed = (...keys: string[]) => (section: string) => section === 'gatewayWarden' || keys.some((k) => section === `gatewayWarden.${k}`);

test('a launch setting offers Restart while running and Start while failed; other settings and states offer nothing', () => {
  assert.equal(relaunchOffer('running', changed('gateway.command'))?.command, 'gatewayWarden.restartGateway');
  assert.equal(relaunchOffer('failed', changed('gateway.args'))?.command, 'gatewayWarden.startGateway');
  assert.equal(relaunchOffer('running', changed('limits.maxWorkers'))?.command, 'gatewayWarden.restartGateway', 'the caps are read at launch');
  assert.equal(relaunchOffer('running', changed('limits.workerMemoryMB'))?.command, 'gatewayWarden.restartGateway', 'so is the memory ceiling');
  assert.equal(relaunchOffer('running', changed('limits.maxSessions'))?.command, 'gatewayWarden.restartGateway');
  assert.equal(relaunchOffer('running', changed('gateway.backend'))?.command, 'gatewayWarden.restartGateway', 'a backend is chosen at launch');
  assert.equal(relaunchOffer('failed', changed('gateway.cwd'))?.command, 'gatewayWarden.startGateway');
  assert.equal(relaunchOffer('running', changed('autoStart')), undefined);
  assert.equal(relaunchOffer('running', changed('orphans.extraPatterns')), undefined);
  assert.equal(relaunchOffer('stopped', changed('gateway.command')), undefined);
});

test('a launch setting changed while the gateway starts offers Restart: its launch spec was read before it was starting', () => {
  const offer = relaunchOffer('starting', changed('gateway.args'));
  assert.equal(offer?.command, 'gatewayWarden.restartGateway');
  assert.equal(offer?.action, 'Restart');
  assert.equal(relaunchOffer('starting', changed('autoStart')), undefined, 'not a launch setting: nothing to apply');
});

test('one offer at a time: changes while the toast is open do not stack more toasts; the answer runs the command', async () => {
  let answer!: (v: string | undefined) => void;
  const window = fakeWindow();
  let shown = 0;
  window.showInformationMessage = () => {
    shown++;
    return new Promise<string | undefined>((r) => (answer = r));
  };
  const ran: string[] = [];
  const p = new RelaunchPrompter(window, async (c) => ran.push(c), () => 'running');
  const first = p.onChange('running', changed('watchdog.pollMs'));
  await p.onChange('running', changed('watchdog.pollMs'));
  await p.onChange('running', changed('shutdown.graceMs'));
  assert.equal(shown, 1);
  answer('Restart');
  await first;
  assert.deepEqual(ran, ['gatewayWarden.restartGateway']);
  // Closed: the next change may ask again.
  const second = p.onChange('running', changed('gateway.command'));
  answer(undefined);
  await second;
  assert.equal(shown, 2);
  assert.deepEqual(ran, ['gatewayWarden.restartGateway'], 'dismissed: nothing runs');
});

test('a failing command after the offer never rejects out of the configuration listener', async () => {
  const window = fakeWindow({ info: ['Start Gateway'] });
  const p = new RelaunchPrompter(window, async () => {
    throw new Error('no');
  }, () => 'failed');
  await p.onChange('failed', changed('gateway.command'));
  assert.equal(window.shown.length, 1);
});

test('an offer answered after the gateway changed state runs what fits the state now; an offer of another kind is not held back by one still open', async () => {
  const answers: ((v: string | undefined) => void)[] = [];
  const window = fakeWindow();
  const messages: string[] = [];
  window.showInformationMessage = (message: string) => {
    messages.push(message);
    return new Promise<string | undefined>((r) => answers.push(r));
  };
  let state: GatewayState = 'failed';
  const ran: string[] = [];
  const p = new RelaunchPrompter(window, async (c) => ran.push(c), () => state);
  // Failed: "Start the gateway with them?" — left unanswered (VS Code moves it to the centre).
  const first = p.onChange('failed', changed('gateway.command'));
  // Started from the welcome view meanwhile; then a limit changes: a Restart offer, not held back.
  state = 'running';
  const second = p.onChange('running', changed('limits.maxWorkers'));
  assert.equal(messages.length, 2, messages.join(' | '));
  assert.match(messages[1], /restart the gateway/);
  // The old toast is found and clicked: the gateway runs now, so it restarts (a start would do nothing).
  answers[0]('Start Gateway');
  await first;
  assert.deepEqual(ran, ['gatewayWarden.restartGateway']);
  // Stopped by the time the other is clicked: nothing to run (the next start reads the settings).
  state = 'stopped';
  answers[1]('Restart');
  await second;
  assert.deepEqual(ran, ['gatewayWarden.restartGateway']);
});
