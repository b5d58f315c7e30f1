// Relays a withdrawal's signing between the wallet's signer desktop and the bank signer, on one
// Sign stream per session: SIGN-1 → start (with a fresh permit and the unsigned transaction, whose
// digest the signer computes itself), SIGN-3 → round, SIGN-5 → finalize. The returned
// signature must recover to the wallet's address before the signed transaction is stored; the
// broadcaster then sends it. A session that breaks off returns the withdrawal to approved.
//
// The signing session a withdrawal in "signing" belongs to is the one its latest permit opened:
// permits of one withdrawal are issued at strictly increasing times, and a session (or the
// reconciler) returns the withdrawal to approved only while its permit is still the latest, so an
// ended session can never undo a newer one's signing.

import { type WebSocket } from 'ws';
import { signingPayload, serializeSigned } from '@tandem/tecdsa/txDigest';
import { type CoordinatorContext } from '../context.ts';
import { type Store } from '../db/store.ts';
import { ApiError } from '../errors.ts';
import { type AuthenticatedUser } from '../auth/guard.ts';
import { WalletRepo } from '../wallets/repo.ts';
import { txHashOf } from '../chain/broadcast.ts';
import { SignerCallError, type SignerSigning } from '../signer/signerClient.ts';
import { type MpcMessage } from '../mpc/messages.ts';
import { type RelaySession, type RelaySessions } from '../mpc/relaySessions.ts';
import { issuePermit, type PermitKey } from '../permits/issuer.ts';
import { type WithdrawalService } from './service.ts';
import { recoversTo } from './signatureCheck.ts';

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const big = (b: Uint8Array) => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'));

interface PermitRow {
  permit_id: string;
  issued_at_ms: number;
  finalize_sent_at_ms: number | null;
}

/** The latest permit issued for a withdrawal: the one whose signing session it is in, when signing. */
export function latestPermit(store: Store, withdrawalId: string): Promise<PermitRow | undefined> {
  return store.get<PermitRow>(
    `SELECT permit_id, issued_at_ms, finalize_sent_at_ms FROM permits WHERE withdrawal_id = ?
     ORDER BY issued_at_ms DESC, permit_id DESC LIMIT 1`,
    withdrawalId,
  );
}

/**
 * Checks a signature from the signer against the withdrawal's digest and wallet key, then
 * stores the signed transaction (signing → signed). Used by the relay and by the reconciler. The
 * record is read, the signature checked against it and the result stored in one transaction, so
 * what is stored is the signed form of exactly the transaction the withdrawal holds at that moment.
 */
export async function storeSignature(
  c: CoordinatorContext,
  withdrawals: WithdrawalService,
  withdrawalId: string,
  signature: { r: Uint8Array; s: Uint8Array; recoveryId: number },
  recovered: boolean,
): Promise<`0x${string}`> {
  const sig = { r: big(signature.r), s: big(signature.s), recid: signature.recoveryId as 0 | 1 };
  const { w, raw } = await c.store.transaction(async () => {
    const w = await withdrawals.repo.require(withdrawalId);
    const wallet = await new WalletRepo(c.store).require(w.walletId);
    const tx = withdrawals.preparedTx(w);
    // The signature must be for this digest and this wallet's key before anything is stored.
    if (!recoversTo(sig, w.txDigest!, wallet.publicKey!))
      throw new ApiError('SIGNER_REFUSED', 'the signature does not verify for this wallet');
    const raw = serializeSigned(tx, sig.r, sig.s, sig.recid);
    if (
      !(await withdrawals.repo.transition(w.id, ['signing'], 'signed', c.now(), {
        raw_signed: raw,
        tx_hash: txHashOf(raw),
      }))
    )
      throw new ApiError('INVALID_STATE', 'the withdrawal left the signing state');
    await c.audit.append('coordinator', 'withdrawal.signed', w.id, {
      txHash: txHashOf(raw),
      ...(recovered ? { recovered } : {}),
    });
    return { w, raw };
  });
  withdrawals.notifyChanged({ ...w, state: 'signed' });
  return raw;
}

/**
 * Returns a withdrawal in "signing" to approved (withdrawal.signing_aborted), provided the session
 * that ends is still the one it is in: `permitId` is still its latest permit (undefined: it has
 * none). Returns whether it moved.
 */
export async function abortSigning(
  c: CoordinatorContext,
  withdrawals: WithdrawalService,
  withdrawalId: string,
  permitId: string | undefined,
  reason: string,
): Promise<boolean> {
  const moved = await c.store.transaction(async () => {
    if ((await latestPermit(c.store, withdrawalId))?.permit_id !== permitId) return undefined;
    if (!(await withdrawals.repo.transition(withdrawalId, ['signing'], 'approved', c.now()))) return undefined;
    await c.audit.append('coordinator', 'withdrawal.signing_aborted', withdrawalId, { reason });
    return withdrawals.repo.require(withdrawalId);
  });
  if (moved) withdrawals.notifyChanged(moved);
  return moved !== undefined;
}

export class SignRelay {
  private readonly wallets: WalletRepo;
  /** The permit each live signing session was opened with. */
  private readonly permits = new WeakMap<RelaySession, string>();
  /** Each live signing session's stream to the signer. */
  private readonly streams = new WeakMap<RelaySession, SignerSigning>();

  constructor(
    private readonly ctx: CoordinatorContext,
    private readonly sessions: RelaySessions,
    private readonly withdrawals: WithdrawalService,
    private readonly permitKey: () => PermitKey,
    private readonly onSigned: (withdrawalId: string) => void,
  ) {
    this.wallets = new WalletRepo(ctx.store);
  }

  /**
   * Called when a session ends (a socket event, a timer, shutdown): the promise never rejects, a
   * failure is logged (the withdrawal stays in signing and the reconciler settles it).
   */
  private backToApproved(withdrawalId: string, permitId: string, reason: string): Promise<void> {
    return abortSigning(this.ctx, this.withdrawals, withdrawalId, permitId, reason).then(
      () => undefined,
      (e: unknown) =>
        this.ctx.log.error(
          { err: (e as Error).message, withdrawalId, reason },
          'a signing session ended but its withdrawal could not be returned to approved (the reconciler will)',
        ),
    );
  }

  async start(
    socket: WebSocket,
    user: AuthenticatedUser,
    msg: Extract<MpcMessage, { type: 'sign_start' }>,
  ): Promise<object> {
    const c = this.ctx;
    // The relay session exists before the withdrawal can be in "signing" for it, so the reconciler
    // (which leaves a withdrawal with a live session alone) never mistakes it for one a restart left
    // behind while this transaction commits or StartSigning is on its way.
    let endedEarly: string | undefined;
    const s = this.sessions.open({
      kind: 'sign',
      socket,
      userId: user.id,
      username: user.username,
      subject: msg.withdrawalId,
      signerSessionId: '',
      // Before SIGN-5 reached the signer nothing can have been signed: back to approved at once
      // (the promise lets shutdown wait for it). After it, the signature may exist at the signer:
      // the reconciler asks (GetSigningResult). Ended before it held the signing: see below.
      onAbort: (reason, session) => {
        const permitId = this.permits.get(session);
        if (permitId === undefined) endedEarly = reason;
        else if (!session.finalizing) {
          this.streams.get(session)?.cancel(); // the signer ends its side at once
          return this.backToApproved(msg.withdrawalId, permitId, reason);
        }
        return undefined;
      },
    });
    this.sessions.hold(s);
    let started;
    try {
      // Read, checked and moved to signing in one transaction: the permit and the transaction sent
      // to the signer are the ones the withdrawal holds when it starts signing.
      started = await c.store.transaction(async () => {
        const w = await this.withdrawals.repo.require(msg.withdrawalId);
        const wallet = await this.wallets.require(w.walletId);
        if (wallet.signerUserId !== user.id)
          throw new ApiError('FORBIDDEN', "this wallet's key share belongs to another user");
        if (w.state !== 'approved')
          throw new ApiError('INVALID_STATE', `this withdrawal is ${w.state.replace('_', ' ')}`);
        const tx = this.withdrawals.preparedTx(w);
        if (!(await this.withdrawals.repo.transition(w.id, ['approved'], 'signing', c.now(), {}, w.version)))
          throw new ApiError('INVALID_STATE', 'the withdrawal changed or is being signed');
        // Later than any earlier permit of this withdrawal, even within one millisecond: the latest
        // permit names the session the withdrawal is in.
        const previous = await latestPermit(c.store, w.id);
        const issuedAtMs = Math.max(c.now(), (previous?.issued_at_ms ?? -1) + 1);
        const permit = await issuePermit(
          c.store,
          this.permitKey(),
          { withdrawalId: w.id, keysetId: wallet.keysetId, digest: w.txDigest! },
          issuedAtMs,
          c.config.permitTtlMs,
        );
        await c.audit.append(user.username, 'withdrawal.signing_started', w.id, {
          permitId: permit.permitId,
          nonce: w.nonce,
        });
        return { w, wallet, tx, permit };
      });
    } catch (e) {
      this.sessions.finish(s.id);
      throw e;
    }
    const { w, wallet, tx, permit } = started;
    this.permits.set(s, permit.permitId);
    this.withdrawals.notifyChanged({ ...w, state: 'signing' });
    // The socket closed while the transaction ran: the session ended before it held the signing.
    if (endedEarly !== undefined) {
      await this.backToApproved(w.id, permit.permitId, endedEarly);
      throw new ApiError('INVALID_STATE', 'the signing session ended');
    }
    let sign2: Uint8Array;
    const stream = c.signer.openSigning();
    this.streams.set(s, stream);
    try {
      const res = await stream.start({
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
        const sign4 = await this.streams.get(s)!.round(utf8(msg.envelope));
        s.rounds++;
        return { type: 'sign_round', sessionId: s.id, envelope: text(sign4) };
      }
      s.finalizing = true;
      // Committed before SIGN-5 leaves: from here on a signature may exist at the signer, and the
      // reconciler asks for it instead of returning the withdrawal to approved.
      await c.store.run(
        'UPDATE permits SET finalize_sent_at_ms = ? WHERE permit_id = ?',
        c.now(),
        this.permits.get(s)!,
      );
      let res;
      try {
        res = await this.streams.get(s)!.finalize(utf8(msg.envelope));
      } catch (e) {
        // A definite refusal from the signer means no signature; a lost answer may hide one.
        if (e instanceof SignerCallError && e.code !== 'SIGNER_UNAVAILABLE' && e.code !== 'SIGNER_TIMEOUT')
          s.finalizing = false;
        throw e;
      }
      // SIGN-6 goes ahead (sign_result, see messages.ts): P2 checks the signature while this side
      // checks it and stores the signed transaction; the reply below is what ends the session.
      if (socket.readyState === socket.OPEN)
        socket.send(JSON.stringify({ type: 'sign_result', sessionId: s.id, envelope: text(res.envelope) }));
      const raw = await storeSignature(c, this.withdrawals, s.subject, res.signature!, false);
      this.sessions.finish(s.id);
      // The broadcast starts once the desktop has its answer, not before.
      const signed = s.subject;
      setImmediate(() => {
        try {
          this.onSigned(signed);
        } catch (e) {
          c.log.error({ err: (e as Error).message, withdrawalId: signed }, 'after-signing hook failed');
        }
      });
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
