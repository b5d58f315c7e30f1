// Relays a withdrawal's signing between the wallet's signer desktop and the bank signer:
// SIGN-1 → StartSigning (with a fresh permit and the unsigned transaction, whose digest the
// signer computes itself), SIGN-3 → SigningRound, SIGN-5 → FinalizeSigning. The returned
// signature must recover to the wallet's address before the signed transaction is stored; the
// broadcaster then sends it. A session that breaks off returns the withdrawal to approved.

import { type WebSocket } from 'ws';
import { signingPayload, serializeSigned } from '@tandem/tecdsa/txDigest';
import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { type AuthenticatedUser } from '../auth/guard.ts';
import { WalletRepo } from '../wallets/repo.ts';
import { txHashOf } from '../chain/broadcast.ts';
import { SignerCallError } from '../signer/signerClient.ts';
import { type MpcMessage } from '../mpc/messages.ts';
import { type RelaySessions } from '../mpc/relaySessions.ts';
import { issuePermit, type PermitKey } from '../permits/issuer.ts';
import { type WithdrawalService } from './service.ts';
import { recoversTo } from './signatureCheck.ts';

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const big = (b: Uint8Array) => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'));

/**
 * Checks a signature from the signer against the withdrawal's digest and wallet key, then
 * stores the signed transaction (signing → signed). Used by the relay and by the reconciler.
 */
export function storeSignature(
  c: CoordinatorContext,
  withdrawals: WithdrawalService,
  withdrawalId: string,
  signature: { r: Uint8Array; s: Uint8Array; recoveryId: number },
  recovered: boolean,
): `0x${string}` {
  const w = withdrawals.repo.require(withdrawalId);
  const wallet = new WalletRepo(c.db).require(w.walletId);
  const tx = withdrawals.preparedTx(w);
  const sig = { r: big(signature.r), s: big(signature.s), recid: signature.recoveryId as 0 | 1 };
  // The signature must be for this digest and this wallet's key before anything is stored.
  if (!recoversTo(sig, w.txDigest!, wallet.publicKey!))
    throw new ApiError('SIGNER_REFUSED', 'the signature does not verify for this wallet');
  const raw = serializeSigned(tx, sig.r, sig.s, sig.recid);
  const stored = c.db
    .transaction(() => {
      if (
        !withdrawals.repo.transition(w.id, ['signing'], 'signed', c.now(), { raw_signed: raw, tx_hash: txHashOf(raw) })
      )
        return false;
      c.audit.append('coordinator', 'withdrawal.signed', w.id, {
        txHash: txHashOf(raw),
        ...(recovered ? { recovered } : {}),
      });
      return true;
    })
    .immediate();
  if (!stored) throw new ApiError('INVALID_STATE', 'the withdrawal left the signing state');
  withdrawals.notifyChanged({ ...w, state: 'signed' });
  return raw;
}

export class SignRelay {
  private readonly wallets: WalletRepo;

  constructor(
    private readonly ctx: CoordinatorContext,
    private readonly sessions: RelaySessions,
    private readonly withdrawals: WithdrawalService,
    private readonly permitKey: () => PermitKey,
    private readonly onSigned: (withdrawalId: string) => void,
  ) {
    this.wallets = new WalletRepo(ctx.db);
  }

  private backToApproved(withdrawalId: string, reason: string): void {
    const c = this.ctx;
    const moved = c.db.transaction(() => {
      if (!this.withdrawals.repo.transition(withdrawalId, ['signing'], 'approved', c.now())) return false;
      c.audit.append('coordinator', 'withdrawal.signing_aborted', withdrawalId, { reason });
      return true;
    })();
    if (moved) this.withdrawals.notifyChanged(this.withdrawals.repo.require(withdrawalId));
  }

  async start(
    socket: WebSocket,
    user: AuthenticatedUser,
    msg: Extract<MpcMessage, { type: 'sign_start' }>,
  ): Promise<object> {
    const c = this.ctx;
    const w = this.withdrawals.repo.require(msg.withdrawalId);
    const wallet = this.wallets.require(w.walletId);
    if (wallet.signerUserId !== user.id)
      throw new ApiError('FORBIDDEN', "this wallet's key share belongs to another user");
    if (w.state !== 'approved') throw new ApiError('INVALID_STATE', `this withdrawal is ${w.state.replace('_', ' ')}`);
    const tx = this.withdrawals.preparedTx(w);
    const permit = c.db
      .transaction(() => {
        if (!this.withdrawals.repo.transition(w.id, ['approved'], 'signing', c.now(), {}, w.version))
          throw new ApiError('INVALID_STATE', 'the withdrawal changed or is being signed');
        const p = issuePermit(
          c.db,
          this.permitKey(),
          { withdrawalId: w.id, keysetId: wallet.keysetId, digest: w.txDigest! },
          c.now(),
          c.config.permitTtlMs,
        );
        c.audit.append(user.username, 'withdrawal.signing_started', w.id, { permitId: p.permitId, nonce: w.nonce });
        return p;
      })
      .immediate();
    this.withdrawals.notifyChanged({ ...w, state: 'signing' });
    // The relay session exists from here on, so the reconciler never mistakes this withdrawal
    // for one a restart left behind while StartSigning is on its way.
    const s = this.sessions.open({
      kind: 'sign',
      socket,
      userId: user.id,
      username: user.username,
      subject: w.id,
      signerSessionId: '',
      // Before SIGN-5 reached the signer nothing can have been signed: back to approved at once.
      // After it, the signature may exist at the signer: the reconciler asks (GetSigningResult).
      onAbort: (reason, session) => {
        if (!session.finalizing) this.backToApproved(w.id, reason);
      },
    });
    this.sessions.hold(s);
    let sign2: Uint8Array;
    try {
      const res = await c.signer.startSigning({
        keysetId: wallet.keysetId,
        permit,
        unsignedTx: Buffer.from(signingPayload(tx)),
        envelope: utf8(msg.envelope),
      });
      [s.signerSessionId, sign2] = [res.sessionId, res.envelope];
    } catch (e) {
      this.sessions.abort(s.id, e instanceof Error ? ((e as { code?: string }).code ?? e.name) : 'ERROR');
      throw e;
    } finally {
      this.sessions.release(s);
    }
    // The socket may have closed while the signer answered: that ended the session.
    if (!this.sessions.get(s.id)) throw new ApiError('INVALID_STATE', 'the signing session ended');
    return { type: 'sign_round', sessionId: s.id, envelope: text(sign2) };
  }

  async round(
    socket: WebSocket,
    user: AuthenticatedUser,
    msg: Extract<MpcMessage, { type: 'sign_round' }>,
  ): Promise<object> {
    const c = this.ctx;
    const s = this.sessions.get(msg.sessionId);
    if (!s || s.kind !== 'sign' || s.socket !== socket || s.userId !== user.id)
      throw new ApiError('NOT_FOUND', 'no such signing session on this connection');
    if (s.busy) throw new ApiError('INVALID_STATE', 'the previous message of this session is still being handled');
    this.sessions.hold(s);
    try {
      if (s.rounds === 0) {
        const sign4 = await c.signer.signingRound(s.signerSessionId, utf8(msg.envelope));
        s.rounds++;
        return { type: 'sign_round', sessionId: s.id, envelope: text(sign4) };
      }
      s.finalizing = true;
      c.db
        .prepare(
          `UPDATE permits SET finalize_sent_at_ms = ? WHERE permit_id =
             (SELECT permit_id FROM permits WHERE withdrawal_id = ? ORDER BY issued_at_ms DESC, rowid DESC LIMIT 1)`,
        )
        .run(c.now(), s.subject);
      let res;
      try {
        res = await c.signer.finalizeSigning(s.signerSessionId, utf8(msg.envelope));
      } catch (e) {
        // A definite refusal from the signer means no signature; a lost answer may hide one.
        if (e instanceof SignerCallError && e.code !== 'SIGNER_UNAVAILABLE' && e.code !== 'SIGNER_TIMEOUT')
          s.finalizing = false;
        throw e;
      }
      const raw = storeSignature(c, this.withdrawals, s.subject, res.signature!, false);
      this.sessions.finish(s.id);
      // The broadcast starts once the desktop has its answer, not before.
      const signed = s.subject;
      setImmediate(() => this.onSigned(signed));
      return {
        type: 'sign_complete',
        sessionId: s.id,
        withdrawalId: s.subject,
        envelope: text(res.envelope),
        txHash: txHashOf(raw),
      };
    } catch (e) {
      this.sessions.abort(s.id, e instanceof Error ? ((e as { code?: string }).code ?? e.name) : 'ERROR');
      throw e;
    } finally {
      this.sessions.release(s);
    }
  }
}
