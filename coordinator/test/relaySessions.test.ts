import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type WebSocket } from 'ws';
import { RelaySessions } from '../src/mpc/relaySessions.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeSocket(): WebSocket & { sent: string[] } {
  const sent: string[] = [];
  return { OPEN: 1, readyState: 1, send: (f: string) => sent.push(f), sent } as unknown as WebSocket & {
    sent: string[];
  };
}

test('the round timer counts only the desktop’s silence, never a slow signer call', async () => {
  const sessions = new RelaySessions(60);
  const aborted: string[] = [];
  const socket = fakeSocket();
  const s = sessions.open({
    kind: 'sign',
    socket,
    userId: 'u',
    username: 'alice',
    subject: 'w1',
    signerSessionId: '',
    onAbort: (reason) => aborted.push(reason),
  });
  sessions.hold(s); // the signer is being asked, for longer than a round timeout
  await sleep(200);
  assert.equal(sessions.get(s.id), s, 'still alive while the signer works');
  assert.deepEqual(aborted, []);
  sessions.release(s); // the answer went to the desktop: now it must reply in time
  assert.equal(s.busy, false);
  await sleep(200);
  assert.equal(sessions.get(s.id), undefined);
  assert.deepEqual(aborted, ['ROUND_TIMEOUT']);
  assert.match(socket.sent[0]!, /SESSION_TIMEOUT/);
});

test('release after the session ended (its socket closed mid-call) does not bring it back', async () => {
  const sessions = new RelaySessions(60);
  const aborted: string[] = [];
  const socket = fakeSocket();
  const s = sessions.open({
    kind: 'dkg',
    socket,
    userId: 'u',
    username: 'alice',
    subject: 'w2',
    signerSessionId: 'x',
    onAbort: (reason) => aborted.push(reason),
  });
  sessions.hold(s);
  sessions.abortSocket(socket, 'DISCONNECTED');
  sessions.release(s);
  await sleep(150);
  assert.equal(sessions.size(), 0);
  assert.deepEqual(aborted, ['DISCONNECTED'], 'aborted once, no timeout afterwards');
});

test('abortAll waits for async onAbort handlers; a failing one is logged, never an unhandled rejection', async () => {
  const logged: string[] = [];
  const sessions = new RelaySessions(60_000, { error: (_obj, msg) => void logged.push(msg) });
  const done: string[] = [];
  const open = (subject: string, onAbort: () => void) =>
    sessions.open({
      kind: 'sign',
      socket: fakeSocket(),
      userId: 'u',
      username: 'alice',
      subject,
      signerSessionId: '',
      onAbort,
    });
  open('w3', async () => {
    await sleep(30);
    done.push('w3');
  });
  open('w4', async () => {
    await sleep(10);
    throw new Error('database closed');
  });
  open('w5', () => {
    throw new Error('synchronous failure');
  });
  await sessions.abortAll('SHUTDOWN');
  assert.deepEqual(done, ['w3'], 'settled before abortAll resolved');
  assert.equal(sessions.size(), 0);
  assert.deepEqual(logged, ['aborting a relay session failed', 'aborting a relay session failed']);
});
