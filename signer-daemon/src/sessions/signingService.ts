// Signing at P1 (PROTOCOL.md §8, §9). StartSigning checks the permit and consumes it durably
// before any session or nonce exists; FinalizeSigning runs §8.4 under the keyset's lock with
// a DECRYPT_PENDING marker written first, and a failure after decryption freezes the keyset
// durably before anything is sent back.

import { P1Signer, type Signature } from '@tandem/tecdsa/sign';
import { TecdsaError } from '@tandem/tecdsa/errors';
import { type Envelope, envelopeToJson } from '@tandem/tecdsa/envelope';
import { parseSigningPayload, txDigest, type SignableTx } from '@tandem/tecdsa/txDigest';
import { type SigningPermit } from '@tandem/proto/mpc';
import { SignerError } from '../errors.ts';
import { bigToBytes, bytesToBig } from '@tandem/tecdsa/bytes';
import { type SignerContext } from '../context.ts';
import { checkPermit } from '../permits/checkPermit.ts';
import { SigningRateLimiter } from '../limits/rateLimiter.ts';
import { KeyLocks } from './keyLock.ts';
import { SessionRegistry, type LiveSession } from './registry.ts';
import { envelopeOf, expectRound, keysetIdOf, sessionIdOf } from './inputs.ts';

export interface StartSigningInput {
  keysetId: string;
  permit: SigningPermit | undefined;
  unsignedTx?: Uint8Array;
  personalMessage?: Uint8Array;
  envelope: Uint8Array;
}

type Live = LiveSession<P1Signer> & { evidence: string[]; startedAt: number; signature?: Signature };

const MAX_EVIDENCE = 16;

const MAX_PAYLOAD = 128 * 1024;

function digestOf(input: StartSigningInput): Uint8Array {
  let tx: SignableTx;
  if (input.unsignedTx !== undefined && input.personalMessage === undefined) {
    if (input.unsignedTx.length > MAX_PAYLOAD) throw new SignerError('MESSAGE_TOO_LARGE', 'unsigned_tx is too large');
    try {
      tx = parseSigningPayload(input.unsignedTx);
    } catch (e) {
      throw new SignerError('TX_INVALID', e instanceof TecdsaError ? e.message : 'unsigned_tx does not decode');
    }
  } else if (input.personalMessage !== undefined && input.unsignedTx === undefined) {
    if (input.personalMessage.length > MAX_PAYLOAD)
      throw new SignerError('MESSAGE_TOO_LARGE', 'personal_message is too large');
    tx = { type: 'personal', message: input.personalMessage };
  } else {
    throw new SignerError('BAD_REQUEST', 'exactly one of unsigned_tx and personal_message is required');
  }
  return txDigest(tx);
}

export class SigningService {
  readonly sessions = new SessionRegistry<P1Signer>();
  private readonly locks = new KeyLocks();
  private readonly rate: SigningRateLimiter;

  constructor(private readonly ctx: SignerContext) {
    this.rate = new SigningRateLimiter(ctx.limits.signingRate, ctx.now);
  }

  async start(input: StartSigningInput): Promise<{ sessionId: string; envelope: Envelope }> {
    const c = this.ctx;
    const keysetId = keysetIdOf(input.keysetId);
    const digest = digestOf(input);
    const limited = this.rate.take(keysetId);
    if (limited) throw new SignerError('RATE_LIMITED', `the ${limited} signing rate limit is reached; retry shortly`);
    const now = c.now();
    const permit = checkPermit(input.permit, { keysetId, txHash: digest }, c.permitKeys, c.permitPolicy, now);
    const env = expectRound(envelopeOf(input.envelope), 1, 'StartSigning');
    const keyset = c.keysets.require(keysetId);
    if (keyset.status === 'FROZEN') throw new SignerError('KEYSET_FROZEN', `keyset ${keysetId} is frozen`);
    if (keyset.status === 'RETIRED') throw new SignerError('KEYSET_RETIRED', `keyset ${keysetId} is retired`);
    if (this.sessions.running(keysetId) >= c.limits.maxSigningSessionsPerKeyset)
      throw new SignerError('SESSION_LIMIT', `too many signing sessions for keyset ${keysetId}`);

    const share = c.keysets.share(keysetId);
    // The permit is spent here, durably, before any session or nonce exists.
    const sessionId = SessionRegistry.newId();
    c.db.transaction(() => {
      const used = c.db.prepare('SELECT 1 FROM used_permits WHERE permit_id = ?').get(permit.permitId);
      if (used) throw new SignerError('PERMIT_REPLAYED', 'permit has already been used');
      c.db
        .prepare('INSERT INTO used_permits (permit_id, keyset_id, tx_request_id, used_at_ms) VALUES (?, ?, ?, ?)')
        .run(permit.permitId, keysetId, permit.txRequestId, now);
      const replay = c.db.prepare('SELECT 1 FROM sign_sessions WHERE request_id = ?').get(env.requestId);
      if (replay) throw new TecdsaError('E_REPLAY', 'this requestId was used before');
      c.db
        .prepare(
          `INSERT INTO sign_sessions (session_id, keyset_id, request_id, permit_id, tx_hash, state, started_at_ms)
           VALUES (?, ?, ?, ?, ?, 'RUNNING', ?)`,
        )
        .run(sessionId, keysetId, env.requestId, permit.permitId, digest, now);
      c.audit.append('coordinator', 'permit.accepted', keysetId, {
        permitId: permit.permitId,
        txRequestId: permit.txRequestId,
        sessionId,
        txHash: Buffer.from(digest).toString('hex'),
        keyId: permit.keyId,
      });
    })();
    const signer = new P1Signer({
      identity: c.identity,
      peerPublicKey: keyset.devicePublicKey,
      requestId: env.requestId,
      rng: c.rng,
      modPow: c.modPow,
      now: c.now,
      profile: c.profile,
      m32: digest,
      share,
      beforeDecrypt: () => this.markDecryptPending(keysetId, sessionId),
    });
    const entry: Live = Object.assign(this.sessions.add(sessionId, keysetId, signer, now + c.limits.signSessionTtlMs), {
      evidence: [],
      startedAt: now,
    });
    c.metrics.inc('signer_sessions_started_total', 'Protocol sessions started', { kind: 'sign' });
    try {
      const step = await this.receive(entry, env);
      return { sessionId: entry.id, envelope: step.send! };
    } catch (e) {
      // SIGN-1 was not the device's (E_AUTH, E_SESSION) or failed: nothing may linger. The
      // permit stays spent: it was consumed for this attempt.
      this.sessions.delete(entry.id);
      entry.session.cancel();
      this.endSession(entry.id, 'FAILED', e instanceof TecdsaError ? e.code : 'INTERNAL');
      throw e;
    }
  }

  async round(sessionId: string, envelope: Uint8Array): Promise<Envelope> {
    const entry = this.entry(sessionId);
    const step = await this.receive(entry, expectRound(envelopeOf(envelope), 3, 'SigningRound'));
    if (!step.send) throw new SignerError('BAD_REQUEST', 'this message does not belong to SigningRound');
    return step.send;
  }

  async finalize(sessionId: string, envelope: Uint8Array): Promise<{ envelope: Envelope; signature: Signature }> {
    const entry = this.entry(sessionId);
    const env = expectRound(envelopeOf(envelope), 5, 'FinalizeSigning');
    entry.busy++;
    try {
      return await this.locks.run(entry.keysetId, async () => {
        const step = await this.receive(entry, env);
        const sig = step.result ?? entry.signature; // a retransmitted SIGN-5 gets the same answer
        if (!step.send || !sig) throw new SignerError('BAD_REQUEST', 'this message does not belong to FinalizeSigning');
        if (step.result) {
          entry.signature = step.result;
          this.recordSigned(entry, step.result);
        }
        return { envelope: step.send, signature: sig };
      });
    } finally {
      entry.busy--;
    }
  }

  /** What became of the session a permit opened (for a coordinator that lost it). */
  result(permitId: string): {
    state: 'RUNNING' | 'DECRYPT_PENDING' | 'SIGNED' | 'ENDED';
    keysetId: string;
    txHash: Buffer;
    signature?: Signature;
  } {
    const r = this.ctx.db
      .prepare('SELECT state, keyset_id, tx_hash, signature FROM sign_sessions WHERE permit_id = ?')
      .get(permitId) as { state: string; keyset_id: string; tx_hash: Buffer; signature: Buffer | null } | undefined;
    if (!r) throw new SignerError('SESSION_NOT_FOUND', 'no signing session was opened with this permit');
    const base = { keysetId: r.keyset_id, txHash: r.tx_hash };
    if (r.state === 'SIGNED' && r.signature?.length === 65) {
      const b = r.signature;
      return {
        ...base,
        state: 'SIGNED',
        signature: { r: bytesToBig(b.subarray(0, 32)), s: bytesToBig(b.subarray(32, 64)), recid: b[64] as 0 | 1 },
      };
    }
    if (r.state === 'RUNNING' || r.state === 'DECRYPT_PENDING') return { ...base, state: r.state };
    return { ...base, state: 'ENDED' };
  }

  /** Ends a session whose Sign stream ended before it finished (never one in FinalizeSigning). */
  abandon(sessionId: string): void {
    this.sessions.end(sessionId, (e) => this.endSession(e.id, 'ABANDONED', 'CALLER_LEFT'));
  }

  /** Ends expired sessions (a timeout never freezes). Returns how many. */
  sweep(): number {
    return this.sessions.sweep(this.ctx.now(), (e) => this.endSession(e.id, 'ABANDONED', 'E_TIMEOUT'));
  }

  /** Shutdown: running sessions end as ABANDONED. */
  abortAll(): void {
    this.sessions.cancelAll((e) => this.endSession(e.id, 'ABANDONED', 'SHUTTING_DOWN'));
  }

  private entry(sessionId: string): Live {
    const e = this.sessions.get(sessionIdOf(sessionId));
    if (!e)
      throw new SignerError('SESSION_NOT_FOUND', 'no such signing session (unknown, finished long ago or expired)');
    return e as Live;
  }

  private async receive(entry: Live, env: Envelope) {
    const wasClosed = entry.session.error !== undefined;
    if (entry.evidence.length < MAX_EVIDENCE) entry.evidence.push(envelopeToJson(env));
    try {
      const step = await entry.session.receive(env);
      entry.expiresAt = Math.max(entry.expiresAt, this.ctx.now() + this.ctx.limits.signSessionTtlMs);
      return step;
    } catch (e) {
      if (!wasClosed && entry.session.error) this.onFailure(entry, entry.session.error);
      throw e;
    }
  }

  private markDecryptPending(keysetId: string, sessionId: string): void {
    const c = this.ctx;
    const k = c.keysets.require(keysetId);
    if (k.status !== 'ACTIVE') throw new TecdsaError('E_KEY_FROZEN', `keyset is ${k.status.toLowerCase()}`);
    const r = c.db
      .prepare("UPDATE sign_sessions SET state = 'DECRYPT_PENDING' WHERE session_id = ? AND state = 'RUNNING'")
      .run(sessionId);
    if (r.changes !== 1) throw new TecdsaError('E_INTERNAL', 'signing session is not in the RUNNING state');
  }

  private recordSigned(entry: Live, sig: Signature): void {
    const c = this.ctx;
    c.db.transaction(() => {
      this.endSession(entry.id, 'SIGNED', null, 'DECRYPT_PENDING');
      c.db
        .prepare('UPDATE sign_sessions SET signature = ? WHERE session_id = ?')
        .run(Buffer.concat([bigToBytes(sig.r, 32), bigToBytes(sig.s, 32), Buffer.of(sig.recid)]), entry.id);
      c.audit.append('signer', 'sign.completed', entry.keysetId, { sessionId: entry.id });
    })();
    c.metrics.inc('signer_signatures_total', 'Signatures completed');
    c.metrics.observe('signer_sign_seconds', 'Signing session duration', (c.now() - entry.startedAt) / 1000);
    c.log.info({ keysetId: entry.keysetId, sessionId: entry.id }, 'signature completed');
  }

  private onFailure(entry: Live, err: TecdsaError): void {
    const c = this.ctx;
    if (err.freezeKey) {
      // §9.3 item 3: commit the freeze before the reply leaves; keep the peer's signed
      // envelopes as evidence (they hold no secret of ours).
      const status = c.db.transaction(() => {
        const st = c.keysets.freeze(entry.keysetId, c.now());
        c.db
          .prepare(
            "UPDATE sign_sessions SET state = 'FROZE', error_code = ?, evidence = ?, ended_at_ms = ? WHERE session_id = ?",
          )
          .run(err.code, JSON.stringify(entry.evidence), c.now(), entry.id);
        c.audit.append('signer', 'keyset.frozen', entry.keysetId, {
          sessionId: entry.id,
          reason: err.code,
          status: st,
        });
        return st;
      })();
      c.metrics.inc('signer_keyset_freezes_total', 'Keysets frozen after a failure past decryption');
      c.log.error(
        { keysetId: entry.keysetId, sessionId: entry.id, code: err.code, status },
        'keyset frozen: signing failed after decryption',
      );
    } else {
      this.endSession(entry.id, 'FAILED', err.code);
      c.log.warn({ keysetId: entry.keysetId, sessionId: entry.id, code: err.code }, 'signing session failed');
    }
    c.metrics.inc('signer_session_failures_total', 'Protocol sessions that failed', { kind: 'sign', code: err.code });
  }

  /** A DECRYPT_PENDING row only ever becomes SIGNED or FROZE; every other end is from RUNNING. */
  private endSession(
    sessionId: string,
    state: 'SIGNED' | 'FAILED' | 'ABANDONED',
    code: string | null,
    from: 'RUNNING' | 'DECRYPT_PENDING' = 'RUNNING',
  ): void {
    this.ctx.db
      .prepare('UPDATE sign_sessions SET state = ?, error_code = ?, ended_at_ms = ? WHERE session_id = ? AND state = ?')
      .run(state, code, this.ctx.now(), sessionId, from);
  }
}
