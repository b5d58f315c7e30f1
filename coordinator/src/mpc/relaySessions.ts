// The coordinator's side of each MPC session it relays: which socket and user it belongs to,
// the signer's session id, how many rounds have passed, and a per-round timer. A session ends on
// completion, on any error, on its round timeout, or when its socket closes.
//
// A session's onAbort may be async (it may write to the database): abort() does not wait for it,
// but a failure is caught and logged, never left an unhandled rejection, and abortAll() resolves
// once every handler it started has settled, so shutdown can wait before closing the store.

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
  /**
   * Called once when the session ends without completing (timeout, disconnect, error), with the
   * session. It may be async: a promise it returns is not awaited, but its failure is logged.
   */
  onAbort: (reason: string, session: RelaySession) => void;
}

/** Where a failed onAbort is reported: the coordinator's logger (pino's error fits). */
export interface ErrorLog {
  error(obj: object, msg: string): void;
}

/** Without a logger: standard error. */
const stderrLog: ErrorLog = { error: (obj, msg) => console.error(msg, obj) };

export class RelaySessions {
  private readonly live = new Map<string, RelaySession>();
  /** onAbort handlers still running. */
  private readonly aborting = new Set<Promise<void>>();

  constructor(
    private readonly roundTimeoutMs: number,
    private readonly log: ErrorLog = stderrLog,
  ) {}

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
    this.runOnAbort(s, reason);
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

  /**
   * Shutdown: every session ends now, while the database is still open. Resolves once their
   * onAbort handlers have settled (it never rejects).
   */
  abortAll(reason: string): Promise<void> {
    for (const id of [...this.live.keys()]) this.abort(id, reason);
    return this.settled();
  }

  /** Resolves once every onAbort handler started so far has settled. */
  async settled(): Promise<void> {
    while (this.aborting.size > 0) await Promise.all([...this.aborting]);
  }

  /** Runs the session's onAbort; a throw or a rejected promise is logged, never propagated. */
  private runOnAbort(s: RelaySession, reason: string): void {
    const failed = (err: unknown) =>
      this.log.error(
        { err, session: s.id, kind: s.kind, subject: s.subject, reason },
        'aborting a relay session failed',
      );
    let result: unknown;
    try {
      result = s.onAbort(reason, s);
    } catch (err) {
      failed(err);
      return;
    }
    if (!(result instanceof Promise)) return;
    const done: Promise<void> = result.then(() => undefined, failed).finally(() => this.aborting.delete(done));
    this.aborting.add(done);
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
