// The P2 worker's WSS connection to the coordinator (/api/v1/mpc): TLS checked against the configured CA (or the
// default store), the bearer token in the upgrade's Authorization header, one correlation id per request so each
// reply finds its caller, a timeout per request, and pushed frames (events, errors for no request) handed to a
// callback. Every failure is a P2Error: the coordinator's error frames keep its code, a dropped connection is
// CONNECTION_LOST (UNAUTHENTICATED when the coordinator closed it because the token expired or was revoked).
//
// Only public protocol material crosses this socket; it never sees a share or a password.

import { type ClientRequest, type IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { P2Error } from './errors.ts';
import { trustOptions } from './trust.ts';
import {
  type EventFrame,
  type ErrorFrame,
  type OutgoingMessage,
  type ReplyFrame,
  type SignResultFrame,
  parseFrame,
} from './frames.ts';

export interface CoordinatorSocketOptions {
  /** wss://host[:port]/api/v1/mpc (see mpcUrl). */
  url: string;
  token: string;
  caFile?: string;
  /** Default wait for each reply. The bank signer's heavy rounds (DKG) can take tens of seconds. */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Frames that answer no request: events (something awaits this user) and errors about no live request. */
  onEvent?: (frame: EventFrame | ErrorFrame) => void;
  /** Called once when the connection ends, whoever ended it. */
  onClose?: () => void;
}

/** The coordinator caps frames at 300 KiB; a little room on top, and nothing larger is read. */
const MAX_INCOMING_BYTES = 512 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
const CLOSE_GRACE_MS = 3_000;
/** The coordinator closes with 4401 when the token stops being valid. */
const CLOSE_TOKEN_INVALID = 4401;

interface Pending {
  expect: ReplyFrame['type'];
  sessionId: string | undefined;
  ok: (frame: ReplyFrame) => void;
  fail: (e: P2Error) => void;
  timer: NodeJS.Timeout;
  onAhead: ((frame: SignResultFrame) => void) | undefined;
}

const coordinatorError = (f: ErrorFrame) => new P2Error(f.code, f.message, { source: 'coordinator' });

function refusedUpgrade(status: number, body: string): P2Error {
  let code: string | undefined;
  try {
    const c = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    if (typeof c === 'string' && /^[A-Z_]{1,40}$/.test(c)) code = c;
  } catch {
    // Not our coordinator's JSON: the status alone says enough.
  }
  if (status === 401)
    return new P2Error('UNAUTHENTICATED', 'Your sign-in to the coordinator has expired. Sign in again.', {
      source: 'coordinator',
    });
  return new P2Error(code ?? 'CONNECTION_FAILED', `The coordinator refused the connection (HTTP ${status}).`, {
    source: code ? 'coordinator' : 'desktop',
  });
}

function unreachable(e: Error & { code?: string }): P2Error {
  const code = e.code ?? '';
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME/.test(code);
  const message = tls
    ? `The coordinator's certificate is not trusted (${code}). Check the coordinator address and its certificate authority in the settings, or contact IT.`
    : `Tandem cannot reach the coordinator${code ? ` (${code})` : ''}. Check the network and the coordinator address in the settings.`;
  return new P2Error('CONNECTION_FAILED', message, { cause: e });
}

export class CoordinatorSocket {
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  /** Set once the socket is closed or unusable: every later request fails with it. */
  private ended: P2Error | undefined;

  private constructor(
    private readonly ws: WebSocket,
    private readonly opts: CoordinatorSocketOptions,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code) => {
      const e =
        code === CLOSE_TOKEN_INVALID
          ? new P2Error('UNAUTHENTICATED', 'Your sign-in to the coordinator has expired. Sign in again.', {
              source: 'coordinator',
            })
          : new P2Error('CONNECTION_LOST', 'The connection to the coordinator was lost. Try again.');
      this.end(this.ended ?? e);
      this.opts.onClose?.();
    });
    // 'close' always follows and fails what is pending; this only keeps the error from being unhandled.
    ws.on('error', () => {});
  }

  /** Opens the socket; resolves once the coordinator has accepted the token. */
  static connect(opts: CoordinatorSocketOptions): Promise<CoordinatorSocket> {
    if (!/^wss:\/\//.test(opts.url))
      return Promise.reject(new P2Error('CONNECTION_FAILED', 'The coordinator connection must use wss://.'));
    let ws: WebSocket;
    try {
      ws = new WebSocket(opts.url, {
        ...trustOptions(opts.caFile),
        headers: { authorization: `Bearer ${opts.token}` },
        handshakeTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        maxPayload: MAX_INCOMING_BYTES,
        perMessageDeflate: false,
      });
    } catch (e) {
      return Promise.reject(e instanceof P2Error ? e : unreachable(e as Error));
    }
    return new Promise((resolve, reject) => {
      const onOpen = () => {
        detach();
        resolve(new CoordinatorSocket(ws, opts));
      };
      const onError = (e: Error) => fail(unreachable(e));
      const onRefused = (req: ClientRequest, res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 4096) body += chunk;
        });
        res.on('end', () => {
          req.destroy();
          fail(refusedUpgrade(res.statusCode ?? 0, body));
        });
        res.on('error', () => fail(refusedUpgrade(res.statusCode ?? 0, body)));
      };
      const detach = () => {
        ws.off('open', onOpen);
        ws.off('error', onError);
        ws.off('unexpected-response', onRefused);
      };
      const fail = (e: P2Error) => {
        detach();
        ws.on('error', () => {}); // terminating may still report the aborted handshake
        ws.terminate();
        reject(e);
      };
      ws.once('open', onOpen);
      ws.once('error', onError);
      ws.once('unexpected-response', onRefused);
    });
  }

  get isOpen(): boolean {
    return this.ended === undefined && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Sends one message and resolves with the reply of type `expect`. An error frame for it rejects with the
   * coordinator's code; a reply of any other type is BAD_FRAME; no reply in time is TIMEOUT. A sign_result for the
   * message's session, while the reply is awaited, goes to `onAhead`.
   */
  request<T extends ReplyFrame['type']>(
    msg: OutgoingMessage,
    expect: T,
    opts: { timeoutMs?: number; onAhead?: (frame: SignResultFrame) => void } = {},
  ): Promise<Extract<ReplyFrame, { type: T }>> {
    if (this.ended) return Promise.reject(this.ended);
    const id = `p2-${++this.seq}`;
    const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new P2Error('TIMEOUT', 'The coordinator did not answer in time. Try again.'));
      }, timeoutMs);
      this.pending.set(id, {
        expect,
        sessionId: 'sessionId' in msg ? msg.sessionId : undefined,
        ok: (f) => resolve(f as Extract<ReplyFrame, { type: T }>),
        fail: reject,
        timer,
        onAhead: opts.onAhead,
      });
      this.ws.send(JSON.stringify({ ...msg, id }), (err) => {
        if (err) this.settle(id, new P2Error('CONNECTION_LOST', 'The connection to the coordinator was lost.'));
      });
    });
  }

  /** Closes the connection (the coordinator then abandons any session still open on it). */
  async close(): Promise<void> {
    this.end(this.ended ?? new P2Error('CONNECTION_LOST', 'The connection to the coordinator was closed.'));
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
      this.ws.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      if (this.ws.readyState !== WebSocket.CLOSING) this.ws.close(1000, 'done');
    });
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    let frame;
    try {
      if (isBinary) throw new P2Error('BAD_FRAME', 'The coordinator sent a binary frame. Try again.');
      frame = parseFrame(data.toString());
    } catch (e) {
      // A frame we cannot read may have been the answer someone waits for: stop everything rather than hang.
      this.end(e as P2Error);
      this.ws.close(1002, 'bad frame');
      return;
    }
    if (frame.type === 'event') return this.opts.onEvent?.(frame);
    if (frame.type === 'sign_result') {
      const id = this.idForSession(frame.sessionId);
      return id === undefined ? undefined : this.pending.get(id)!.onAhead?.(frame); // none waits: nothing to do
    }
    if (frame.type === 'error') {
      const id = frame.id ?? this.idForSession(frame.sessionId);
      if (id !== undefined && this.pending.has(id)) return this.settle(id, coordinatorError(frame));
      return this.opts.onEvent?.(frame);
    }
    const p = this.pending.get(frame.id);
    if (!p) return; // a late reply to a request that already timed out
    if (frame.type !== p.expect)
      return this.settle(frame.id, new P2Error('BAD_FRAME', `The coordinator answered with ${frame.type}. Try again.`));
    this.settle(frame.id, frame);
  }

  /** An error frame without an id (a session's round timeout) belongs to the request waiting in that session. */
  private idForSession(sessionId: string | undefined): string | undefined {
    if (sessionId === undefined) return undefined;
    for (const [id, p] of this.pending) if (p.sessionId === sessionId) return id;
    return undefined;
  }

  private settle(id: string, outcome: ReplyFrame | P2Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (outcome instanceof P2Error) p.fail(outcome);
    else p.ok(outcome);
  }

  private end(e: P2Error): void {
    this.ended ??= e;
    for (const id of [...this.pending.keys()]) this.settle(id, e);
  }
}
