// CoordinatorSocket (src/p2/coordinatorSocket.ts) against a scripted coordinator: a real HTTPS + WebSocket server on
// 127.0.0.1 with development TLS from @tandem/common, whose replies each test chooses. Correlation ids, error frames
// with their codes, round timeouts addressed by session, pushed events, wrong reply types, garbage, per-request
// timeouts, a revoked token, a refused upgrade, an untrusted certificate, and a clean close.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { ensureDevPki, type TlsPaths } from '@tandem/common/devPki';
import { CoordinatorSocket } from '../src/p2/coordinatorSocket.ts';
import { type EventFrame, type ErrorFrame } from '../src/p2/frames.ts';
import { P2Error } from '../src/p2/errors.ts';

type Frame = Record<string, unknown> & { id: string; type: string };
type Script = (frame: Frame, ws: WebSocket) => void;

let dir: string;
let pki: TlsPaths;
let server: Server;
let wss: WebSocketServer;
let url: string;
/** How the scripted coordinator answers each frame; set per test. */
let script: Script = () => {};
/** Authorization headers seen at upgrade, and close codes seen from clients. */
const authSeen: (string | undefined)[] = [];
const closesSeen: number[] = [];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tandem-socket-'));
  pki = ensureDevPki(path.join(dir, 'tls'));
  server = createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) });
  wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    authSeen.push(req.headers.authorization);
    if (req.headers.authorization !== 'Bearer good-token') {
      const body = JSON.stringify({ error: { code: 'TOKEN_EXPIRED', message: 'expired' } });
      socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data) => script(JSON.parse(data.toString()) as Frame, ws));
      ws.on('close', (code) => closesSeen.push(code));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `wss://localhost:${(server.address() as AddressInfo).port}/api/v1/mpc`;
});
after(async () => {
  for (const c of wss.clients) c.terminate();
  wss.close();
  await new Promise((ok) => server.close(ok));
  rmSync(dir, { recursive: true, force: true });
});

const open = (extra: Partial<Parameters<typeof CoordinatorSocket.connect>[0]> = {}) =>
  CoordinatorSocket.connect({ url, token: 'good-token', caFile: pki.caCert, ...extra });

async function rejectsWith(p: Promise<unknown>, code: string): Promise<P2Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof P2Error, `expected P2Error ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  return assert.fail(`expected ${code}`);
}

const send = (ws: WebSocket, f: object) => ws.send(JSON.stringify(f));

test('replies find their request by id, whatever their order; the token goes in the Authorization header', async () => {
  const held: [Frame, WebSocket][] = [];
  script = (f, ws) => {
    held.push([f, ws]);
    if (held.length === 2)
      for (const [g, w] of held.reverse())
        send(w, { type: 'dkg_round', id: g.id, sessionId: `s-${String(g['walletId'])}`, envelope: '{}' });
  };
  const socket = await open();
  assert.equal(authSeen.at(-1), 'Bearer good-token');
  const [a, b] = await Promise.all([
    socket.request({ type: 'dkg_start', walletId: 'A', envelope: '{}' }, 'dkg_round'),
    socket.request({ type: 'dkg_start', walletId: 'B', envelope: '{}' }, 'dkg_round'),
  ]);
  assert.equal(a.sessionId, 's-A');
  assert.equal(b.sessionId, 's-B');
  await socket.close();
});

test("an error frame rejects its request with the coordinator's code", async () => {
  script = (f, ws) =>
    send(ws, { type: 'error', id: f.id, code: 'SIGNER_UNAVAILABLE', message: 'the bank signer is unreachable' });
  const socket = await open();
  const e = await rejectsWith(
    socket.request({ type: 'sign_start', withdrawalId: 'w1', envelope: '{}' }, 'sign_round'),
    'SIGNER_UNAVAILABLE',
  );
  assert.equal(e.source, 'coordinator');
  assert.equal(e.message, 'the bank signer is unreachable');
  assert.equal(socket.isOpen, true, 'an error frame leaves the socket usable');
  await socket.close();
});

test("a session's round timeout (no id, only the sessionId) reaches the request waiting in that session", async () => {
  script = (f, ws) => {
    if (f.type === 'sign_round')
      send(ws, { type: 'error', sessionId: f['sessionId'], code: 'SESSION_TIMEOUT', message: 'start again' });
  };
  const socket = await open();
  await rejectsWith(
    socket.request({ type: 'sign_round', sessionId: 'sess-7', envelope: '{}' }, 'sign_round'),
    'SESSION_TIMEOUT',
  );
  await socket.close();
});

test('pushed events and errors for no request go to the callback', async () => {
  const pushed: (EventFrame | ErrorFrame)[] = [];
  script = (f, ws) => {
    send(ws, { type: 'event', event: 'withdrawal_changed', withdrawalId: 'w9' });
    send(ws, { type: 'error', sessionId: 'gone', code: 'SESSION_TIMEOUT', message: 'late' });
    send(ws, { type: 'sign_round', id: f.id, sessionId: 's', envelope: '{}' });
  };
  const socket = await open({ onEvent: (e) => pushed.push(e) });
  await socket.request({ type: 'sign_start', withdrawalId: 'w9', envelope: '{}' }, 'sign_round');
  assert.deepEqual(pushed, [
    { type: 'event', event: 'withdrawal_changed', withdrawalId: 'w9' },
    { type: 'error', sessionId: 'gone', code: 'SESSION_TIMEOUT', message: 'late' },
  ]);
  await socket.close();
});

test("a sign_result reaches the waiting request's onAhead before its reply; one for no waiting request is dropped", async () => {
  const order: string[] = [];
  const pushed: (EventFrame | ErrorFrame)[] = [];
  script = (f, ws) => {
    send(ws, { type: 'sign_result', sessionId: 'other', envelope: '{"x":0}' });
    send(ws, { type: 'sign_result', sessionId: f['sessionId'], envelope: '{"x":1}' });
    send(ws, {
      type: 'sign_complete',
      id: f.id,
      sessionId: f['sessionId'],
      withdrawalId: 'w1',
      envelope: '{"x":1}',
      txHash: '0x01',
    });
  };
  const socket = await open({ onEvent: (e) => pushed.push(e) });
  const complete = await socket.request({ type: 'sign_round', sessionId: 'sess-5', envelope: '{}' }, 'sign_complete', {
    onAhead: (a) => order.push(`ahead ${a.sessionId} ${a.envelope}`),
  });
  order.push(`reply ${complete.envelope}`);
  assert.deepEqual(order, ['ahead sess-5 {"x":1}', 'reply {"x":1}']);
  assert.deepEqual(pushed, [], 'a sign_result is never an event');
  assert.equal(socket.isOpen, true);

  // A sign_result with an id or an unknown field is not one the coordinator sends: BAD_FRAME, and the socket stops.
  script = (f, ws) => send(ws, { type: 'sign_result', id: f.id, sessionId: f['sessionId'], envelope: '{}' });
  await rejectsWith(
    socket.request({ type: 'sign_round', sessionId: 'sess-6', envelope: '{}' }, 'sign_complete'),
    'BAD_FRAME',
  );
  await socket.close();
});

test('a reply of another type, or with unknown fields, is BAD_FRAME', async () => {
  script = (f, ws) => {
    if (f['walletId'] === 'other-type') send(ws, { type: 'sign_round', id: f.id, sessionId: 's', envelope: '{}' });
    else send(ws, { type: 'dkg_round', id: f.id, sessionId: 's', envelope: '{}', extra: 1 });
  };
  const socket = await open();
  await rejectsWith(
    socket.request({ type: 'dkg_start', walletId: 'other-type', envelope: '{}' }, 'dkg_round'),
    'BAD_FRAME',
  );
  // A frame the socket cannot read ends the connection: whoever waits is told at once.
  await rejectsWith(socket.request({ type: 'dkg_start', walletId: 'extra', envelope: '{}' }, 'dkg_round'), 'BAD_FRAME');
  await rejectsWith(socket.request({ type: 'dkg_start', walletId: 'x', envelope: '{}' }, 'dkg_round'), 'BAD_FRAME');
  await socket.close();
});

test('no reply in time is TIMEOUT', async () => {
  script = () => {};
  const socket = await open({ requestTimeoutMs: 60_000 });
  const started = Date.now();
  await rejectsWith(
    socket.request({ type: 'dkg_start', walletId: 'w', envelope: '{}' }, 'dkg_round', { timeoutMs: 200 }),
    'TIMEOUT',
  );
  assert.ok(Date.now() - started < 5_000);
  await socket.close();
});

test('the coordinator closing with 4401 (token revoked) is UNAUTHENTICATED; a plain drop is CONNECTION_LOST', async () => {
  script = (_f, ws) => ws.close(4401, 'token no longer valid');
  const socket = await open();
  await rejectsWith(
    socket.request({ type: 'dkg_start', walletId: 'w', envelope: '{}' }, 'dkg_round'),
    'UNAUTHENTICATED',
  );
  script = (_f, ws) => ws.terminate();
  const again = await open();
  await rejectsWith(
    again.request({ type: 'dkg_start', walletId: 'w', envelope: '{}' }, 'dkg_round'),
    'CONNECTION_LOST',
  );
});

test('a refused upgrade, an untrusted certificate and a non-wss address fail to connect with clear codes', async () => {
  await rejectsWith(open({ token: 'stale' }), 'UNAUTHENTICATED');
  const e = await rejectsWith(open({ caFile: undefined }), 'CONNECTION_FAILED');
  assert.match(e.message, /certificate is not trusted/);
  await rejectsWith(open({ url: url.replace('wss:', 'ws:') }), 'CONNECTION_FAILED');
  await rejectsWith(open({ caFile: path.join(dir, 'missing.pem') }), 'CONNECTION_FAILED');
});

test('close() is a clean close (1000), and later requests fail at once', async () => {
  script = () => {};
  const socket = await open();
  const before = closesSeen.length;
  await socket.close();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(closesSeen.slice(before), [1000]);
  assert.equal(socket.isOpen, false);
  await rejectsWith(
    socket.request({ type: 'dkg_start', walletId: 'w', envelope: '{}' }, 'dkg_round'),
    'CONNECTION_LOST',
  );
});
