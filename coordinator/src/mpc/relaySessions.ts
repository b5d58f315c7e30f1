// The coordinator's side of each MPC session it relays: which socket and user it belongs to,
// the signer's session id, how many rounds have passed, and a per-round timer. A session ends on
// completion, on any error, on its round timeout, or when its socket closes.

import { randomBytes } from 'node:crypto';
import { type WebSocket } from 'ws';

export interface RelaySession {
  id: string;
  kind: 'dkg' | 'sign';
  socket: WebSocket;
  userId: string;
  username: string;
  /** walletId for a DKG, withdrawalId for a signing. */
  subject: string;
  signerSessionId: string;
  /** Messages relayed after the start (0, 1, …). */
  rounds: number;
  /** A round is being relayed right now: a second message for the session must wait its turn. */
  busy: boolean;
  /** The final message (SIGN-5 / KG-5) was handed to the signer: its outcome may exist there. */
  finalizing: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Called once when the session ends without completing (timeout, disconnect, error), with the session. */
  onAbort: (reason: string, session: RelaySession) => void;
}

export class RelaySessions {
  private readonly live = new Map<string, RelaySession>();

  constructor(private readonly roundTimeoutMs: number) {}

  open(s: Omit<RelaySession, 'id' | 'rounds' | 'busy' | 'finalizing' | 'timer'>): RelaySession {
    const session: RelaySession = {
      ...s,
      id: randomBytes(16).toString('base64url'),
      rounds: 0,
      busy: false,
      finalizing: false,
      timer: undefined,
    };
    this.live.set(session.id, session);
    this.arm(session);
    return session;
  }

  get(id: string): RelaySession | undefined {
    return this.live.get(id);
  }

  /** (Re)starts the wait for the desktop's next message. */
  private arm(s: RelaySession): void {
    if (s.timer) clearTimeout(s.timer);
    s.timer = setTimeout(() => this.abort(s.id, 'ROUND_TIMEOUT'), this.roundTimeoutMs);
    s.timer.unref();
  }

  /**
   * A message of the session is being handled: a second one must wait its turn, and the round
   * timer stops. The timer measures the desktop's silence only; a slow signer call has its own
   * deadline and must not end the session under the desktop's feet.
   */
  hold(s: RelaySession): void {
    s.busy = true;
    if (s.timer) clearTimeout(s.timer);
    s.timer = undefined;
  }

  /** The answer went out: the wait for the desktop's next message starts, if the session lives. */
  release(s: RelaySession): void {
    s.busy = false;
    if (this.live.get(s.id) === s) this.arm(s);
  }

  /** Ends a session that completed. */
  finish(id: string): void {
    const s = this.live.get(id);
    if (!s) return;
    if (s.timer) clearTimeout(s.timer);
    this.live.delete(id);
  }

  /** Ends a session that did not complete, telling its owner (and its socket, if still open) why. */
  abort(id: string, reason: string): void {
    const s = this.live.get(id);
    if (!s) return;
    this.finish(id);
    s.onAbort(reason, s);
    if (reason === 'ROUND_TIMEOUT' && s.socket.readyState === s.socket.OPEN)
      s.socket.send(
        JSON.stringify({
          type: 'error',
          sessionId: s.id,
          code: 'SESSION_TIMEOUT',
          message: 'no message for this session arrived in time; start again',
        }),
      );
  }

  /** Shutdown: every session ends now, while the database is still open. */
  abortAll(reason: string): void {
    for (const id of [...this.live.keys()]) this.abort(id, reason);
  }

  abortSocket(socket: WebSocket, reason: string): void {
    for (const s of [...this.live.values()]) if (s.socket === socket) this.abort(s.id, reason);
  }

  forSubject(subject: string): RelaySession | undefined {
    for (const s of this.live.values()) if (s.subject === subject) return s;
    return undefined;
  }

  size(): number {
    return this.live.size;
  }
}
