// The session layer shared by the four state machines (PROTOCOL.md §6.2, §9, §10).
//
// Order of checks for an incoming envelope: size and strict JSON (parseEnvelope), then
// kind / requestId / from / to (E_SESSION) and the peer's Ed25519 signature (E_AUTH). A
// message failing these is not the peer's: it is rejected and the session is unchanged.
// Everything after authentication is the peer's word: a byte-identical retransmission gets
// the same reply, anything unexpected or invalid aborts the session (Class A) and erases
// its secrets, and nothing ever advances the state machine except a valid next message.

import { TecdsaError, isProtocolErrorCode, toTecdsaError } from './errors.ts';
import { equalBytes } from './bytes.ts';
import {
  type Envelope,
  type Identity,
  type Kind,
  type Party,
  abortBody,
  abortCode,
  parseEnvelope,
  signEnvelope,
  verifyEnvelope,
} from './envelope.ts';
import { type ModPow } from './arith.ts';
import { type Rng } from './rng.ts';
import { type Profile } from './params.ts';

export interface SessionOptions {
  /** This party's Ed25519 identity. */
  identity: Identity;
  /** The peer's registered identity public key (never taken from the coordinator). */
  peerPublicKey: Uint8Array;
  requestId: Uint8Array;
  rng: Rng;
  modPow: ModPow;
  /** Milliseconds; injected so tests can move time. */
  now: () => number;
  profile: Profile;
}

export interface Step<R> {
  /** The envelope to send to the peer, if any. */
  send?: Envelope;
  /** Set once this party's part of the protocol is complete. */
  result?: R;
}

export abstract class Session<R> {
  protected abstract readonly kind: Kind;
  protected abstract readonly self: Party;
  /** The round number of the next message this party accepts. */
  protected expected = 0;
  private readonly seen = new Map<number, Uint8Array>();
  private readonly replies = new Map<number, Envelope | undefined>();
  private failure: TecdsaError | undefined;
  /** The message being handled right now (a handler may await the caller, e.g. beforeDecrypt). */
  private inFlight: { round: number; body: Uint8Array; reply: Promise<Step<R>> } | undefined;
  private finished = false;
  protected readonly startedAt: number;
  protected lastActivity: number;

  constructor(protected readonly opts: SessionOptions) {
    if (opts.requestId.length !== 32) throw new TecdsaError('E_INPUT', 'requestId must be 32 bytes');
    this.startedAt = opts.now();
    this.lastActivity = this.startedAt;
  }

  protected get peer(): Party {
    return this.self === 'P1' ? 'P2' : 'P1';
  }

  /** True once another message interrupted a handler that was awaiting (see inFlight). */
  protected get interrupted(): boolean {
    return this.failure !== undefined;
  }

  /** The error that closed this session, if one did. */
  get error(): TecdsaError | undefined {
    return this.failure;
  }

  get done(): boolean {
    return this.finished;
  }

  /** Checks the per-run limits; throws E_TIMEOUT. */
  protected abstract checkTimeout(now: number): void;

  /** Handles the message of round `expected`; returns the reply and/or result. */
  protected abstract handle(body: Uint8Array): Promise<Step<R>>;

  /** Drops every session secret (references only: BigInt cannot be wiped, §13.4). */
  protected abstract erase(): void;

  protected envelope(round: number, body: Uint8Array): Envelope {
    return signEnvelope(this.opts.identity, {
      v: 1,
      kind: this.kind,
      requestId: this.opts.requestId,
      round,
      from: this.self,
      to: this.peer,
      body,
    });
  }

  /** A signed abort envelope carrying `code` (round 0, §3.2a item 7). */
  abortEnvelope(code: string): Envelope {
    if (!isProtocolErrorCode(code)) throw new TecdsaError('E_INPUT', 'only protocol codes go to the peer');
    return this.envelope(0, abortBody(code));
  }

  /** Emits this party's first message (for the initiating party). */
  protected begin(round: number, body: Uint8Array, nextExpected: number): Envelope {
    const env = this.envelope(round, body);
    this.expected = nextExpected;
    return env;
  }

  async receive(input: string | Uint8Array | Envelope): Promise<Step<R>> {
    const env = input instanceof Uint8Array || typeof input === 'string' ? parseEnvelope(input) : input;
    if (env.kind !== this.kind || !equalBytes(env.requestId, this.opts.requestId))
      throw new TecdsaError('E_SESSION', 'envelope is not for this session');
    if (env.from !== this.peer || env.to !== this.self)
      throw new TecdsaError('E_SESSION', 'envelope has the wrong roles');
    verifyEnvelope(env, this.opts.peerPublicKey);
    // From here on the message is the peer's.
    if (this.inFlight) {
      // A copy of the message being handled shares its outcome; anything else while a
      // handler is awaiting closes the session (the handler sees it before going on).
      if (this.inFlight.round === env.round && equalBytes(this.inFlight.body, env.body)) return this.inFlight.reply;
      const err = new TecdsaError(
        'E_EQUIVOCATION',
        `round ${env.round} arrived while round ${this.inFlight.round} was being handled`,
      );
      if (!this.failure) this.failure = err;
      throw err;
    }
    const prev = this.seen.get(env.round);
    if (prev !== undefined && equalBytes(prev, env.body) && !this.failure) {
      return { send: this.replies.get(env.round) };
    }
    if (this.failure)
      throw new TecdsaError('E_UNEXPECTED', 'session is closed', { details: { closedWith: this.failure.code } });
    try {
      const now = this.opts.now();
      this.checkTimeout(now);
      if (env.round === 0) {
        throw new TecdsaError('E_ABORTED', 'the peer aborted the session', {
          details: { peerCode: abortCode(env.body) },
        });
      }
      if (prev !== undefined) throw new TecdsaError('E_EQUIVOCATION', `a different message for round ${env.round}`);
      if (this.finished || env.round !== this.expected)
        throw new TecdsaError('E_UNEXPECTED', `round ${env.round} is not expected now`);
      const reply = this.handle(env.body);
      this.inFlight = { round: env.round, body: env.body, reply };
      let step: Step<R>;
      try {
        step = await reply;
      } finally {
        this.inFlight = undefined;
      }
      if (this.failure) throw this.failure;
      this.seen.set(env.round, env.body);
      this.replies.set(env.round, step.send);
      this.lastActivity = this.opts.now();
      if (step.result !== undefined) {
        this.finished = true;
        this.erase();
      }
      return step;
    } catch (e) {
      const err = toTecdsaError(e);
      this.failure = err;
      this.erase();
      throw err;
    }
  }

  /** Closes the session from outside (e.g. the caller's own timeout or shutdown). */
  cancel(code: 'E_TIMEOUT' | 'E_SESSION' = 'E_SESSION'): void {
    if (!this.failure) this.failure = new TecdsaError(code, 'session cancelled');
    this.erase();
  }
}
