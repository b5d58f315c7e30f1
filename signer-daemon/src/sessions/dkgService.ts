// Key generation at P1 (PROTOCOL.md §7). A keyset row is written only when KG-5 confirms both
// parties hold the same key, in the same transaction that closes the DKG's record, so a DKG
// that breaks off (or a crash at any point) leaves nothing usable.

import { P1Keygen } from '@tandem/tecdsa/keygen';
import { TecdsaError } from '@tandem/tecdsa/errors';
import { type Envelope } from '@tandem/tecdsa/envelope';
import { SignerError } from '../errors.ts';
import { type SignerContext } from '../context.ts';
import { type Keyset } from '../store/keysets.ts';
import { SessionRegistry, type LiveSession } from './registry.ts';
import { bytesOf, envelopeOf, expectRound, keysetIdOf, sessionIdOf } from './inputs.ts';

export interface StartDkgInput {
  keysetId: string;
  walletId: Uint8Array;
  devicePublicKey: Uint8Array;
  envelope: Uint8Array;
}

type Live = LiveSession<P1Keygen> & { devicePublicKey: Uint8Array };

export class DkgService {
  readonly sessions = new SessionRegistry<P1Keygen>();

  constructor(private readonly ctx: SignerContext) {}

  async start(input: StartDkgInput): Promise<{ sessionId: string; envelope: Envelope }> {
    const c = this.ctx;
    const keysetId = keysetIdOf(input.keysetId);
    const walletId = bytesOf(input.walletId, 32, 'wallet_id');
    const devicePublicKey = bytesOf(input.devicePublicKey, 32, 'device_public_key');
    const env = expectRound(envelopeOf(input.envelope), 1, 'StartDKG');
    if (c.keysets.get(keysetId)) throw new SignerError('KEYSET_EXISTS', `keyset ${keysetId} already exists`);
    if (this.sessions.all().some((e) => e.keysetId === keysetId && !e.session.error))
      throw new SignerError('KEYSET_EXISTS', `a key generation for keyset ${keysetId} is already running`);
    if (this.sessions.running() >= c.limits.maxSessionsTotal)
      throw new SignerError('SESSION_LIMIT', 'too many key generations are running');
    const now = c.now();
    const sessionId = SessionRegistry.newId();
    c.db.transaction(() => {
      if (c.db.prepare('SELECT 1 FROM dkg_sessions WHERE request_id = ?').get(env.requestId))
        throw new TecdsaError('E_REPLAY', 'this requestId was used before');
      c.db
        .prepare(
          "INSERT INTO dkg_sessions (session_id, keyset_id, request_id, state, started_at_ms) VALUES (?, ?, ?, 'RUNNING', ?)",
        )
        .run(sessionId, keysetId, env.requestId, now);
    })();
    const keygen = new P1Keygen({
      identity: c.identity,
      peerPublicKey: devicePublicKey,
      requestId: env.requestId,
      rng: c.rng,
      modPow: c.modPow,
      now: c.now,
      profile: c.profile,
      walletId,
    });
    const entry: Live = Object.assign(this.sessions.add(sessionId, keysetId, keygen, now + c.limits.dkgSessionTtlMs), {
      devicePublicKey,
    });
    c.metrics.inc('signer_sessions_started_total', 'Protocol sessions started', { kind: 'dkg' });
    try {
      const step = await this.receive(entry, env);
      return { sessionId, envelope: step.send! };
    } catch (e) {
      // KG-1 was not the device's (E_AUTH, E_SESSION) or failed: the keyset id stays free.
      this.sessions.delete(sessionId);
      entry.session.cancel();
      this.end(sessionId, 'FAILED', e instanceof TecdsaError ? e.code : 'INTERNAL');
      throw e;
    }
  }

  async round(sessionId: string, envelope: Uint8Array): Promise<Envelope> {
    const step = await this.receive(this.entry(sessionId), expectRound(envelopeOf(envelope), 3, 'DKGRound'));
    if (!step.send) throw new SignerError('BAD_REQUEST', 'this message does not belong to DKGRound');
    return step.send;
  }

  async finalize(sessionId: string, envelope: Uint8Array): Promise<Keyset> {
    const c = this.ctx;
    const entry = this.entry(sessionId);
    const step = await this.receive(entry, expectRound(envelopeOf(envelope), 5, 'FinalizeDKG'));
    if (!step.result) {
      // A retransmitted KG-5 after success gets the stored keyset.
      const done = entry.session.done && c.keysets.get(entry.keysetId);
      if (done) return done;
      throw new SignerError('BAD_REQUEST', 'this message does not belong to FinalizeDKG');
    }
    const share = step.result;
    const keyset = c.db.transaction(() => {
      if (c.keysets.get(entry.keysetId))
        throw new SignerError('KEYSET_EXISTS', `keyset ${entry.keysetId} already exists`);
      const k = c.keysets.insert(entry.keysetId, share, entry.devicePublicKey, c.now());
      c.db
        .prepare("UPDATE dkg_sessions SET state = 'COMPLETED', ended_at_ms = ? WHERE session_id = ?")
        .run(c.now(), sessionId);
      c.audit.append('signer', 'keyset.created', entry.keysetId, {
        sessionId,
        address: k.address,
        devicePublicKey: Buffer.from(entry.devicePublicKey).toString('hex'),
      });
      return k;
    })();
    c.log.info({ keysetId: keyset.keysetId, address: keyset.address }, 'keyset created');
    return keyset;
  }

  /** Ends expired sessions (a timeout never freezes). Returns how many. */
  sweep(): number {
    return this.sessions.sweep(this.ctx.now(), (e) => this.end(e.id, 'ABANDONED', 'E_TIMEOUT'));
  }

  /** Shutdown: running sessions end as ABANDONED. */
  abortAll(): void {
    this.sessions.cancelAll((e) => this.end(e.id, 'ABANDONED', 'SHUTTING_DOWN'));
  }

  private entry(sessionId: string): Live {
    const e = this.sessions.get(sessionIdOf(sessionId));
    if (!e) throw new SignerError('SESSION_NOT_FOUND', 'no such key generation session (unknown or expired)');
    return e as Live;
  }

  private async receive(entry: Live, env: Envelope) {
    const wasClosed = entry.session.error !== undefined;
    try {
      return await entry.session.receive(env);
    } catch (e) {
      const err = entry.session.error;
      if (!wasClosed && err) {
        this.end(entry.id, 'FAILED', err.code);
        this.ctx.metrics.inc('signer_session_failures_total', 'Protocol sessions that failed', {
          kind: 'dkg',
          code: err.code,
        });
        this.ctx.log.warn({ keysetId: entry.keysetId, sessionId: entry.id, code: err.code }, 'key generation failed');
      }
      throw e;
    }
  }

  private end(sessionId: string, state: 'FAILED' | 'ABANDONED', code: string): void {
    this.ctx.db
      .prepare(
        "UPDATE dkg_sessions SET state = ?, error_code = ?, ended_at_ms = ? WHERE session_id = ? AND state = 'RUNNING'",
      )
      .run(state, code, this.ctx.now(), sessionId);
  }
}
