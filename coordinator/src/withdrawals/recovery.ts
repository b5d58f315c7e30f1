// Withdrawals left in "signing" with no live relay session (the coordinator restarted, or the
// answer to SIGN-5 was lost): the signer is asked what became of the session the latest permit
// opened. A signature it produced is verified and stored — never a second signing of the same
// withdrawal; a session that ended without one returns the withdrawal to approved; a session
// still open at the signer is asked about again on the next pass. A withdrawal is returned to
// approved only while the permit asked about is still its latest (see abortSigning): a session
// started meanwhile is never undone.

import { SigningState } from '@tandem/proto/mpc';
import { type CoordinatorContext } from '../context.ts';
import { SignerCallError } from '../signer/signerClient.ts';
import { type WithdrawalService } from './service.ts';
import { abortSigning, latestPermit, storeSignature } from './signRelay.ts';

export async function reconcileSigning(
  ctx: CoordinatorContext,
  withdrawals: WithdrawalService,
  isLive: (withdrawalId: string) => boolean,
  onSigned: (withdrawalId: string) => void,
): Promise<void> {
  for (const w of await withdrawals.repo.inStates(['signing'])) {
    if (isLive(w.id)) continue;
    const permit = await latestPermit(ctx.store, w.id);
    let outcome: 'signed' | 'ended' | 'wait';
    let reason = 'NO_SIGNATURE_AT_SIGNER';
    try {
      // SIGN-5 never left the coordinator: nothing can have been decrypted or signed.
      const sent = permit?.finalize_sent_at_ms != null;
      if (!sent) reason = 'RESTART';
      const res = permit && sent ? await ctx.signer.getSigningResult(permit.permit_id) : undefined;
      if (res?.state === SigningState.SIGNING_STATE_SIGNED && res.signature) {
        await storeSignature(ctx, withdrawals, w.id, res.signature, true);
        onSigned(w.id);
        outcome = 'signed';
      } else if (
        res?.state === SigningState.SIGNING_STATE_RUNNING ||
        res?.state === SigningState.SIGNING_STATE_DECRYPT_PENDING
      )
        outcome = 'wait';
      else outcome = 'ended';
    } catch (e) {
      // The signer never saw the permit: no session, no signature.
      if (e instanceof SignerCallError && e.code === 'SESSION_NOT_FOUND') outcome = 'ended';
      else {
        ctx.log.warn({ withdrawalId: w.id, err: (e as Error).message }, 'cannot reconcile a signing yet');
        continue;
      }
    }
    if (outcome !== 'ended') continue;
    await abortSigning(ctx, withdrawals, w.id, permit?.permit_id, reason);
  }
}
