// Start-up after a crash or restart: a withdrawal left in "signing" lost its MPC session (the
// signer abandons its side too), so it returns to approved and can be signed again; nothing in
// "signed" or later is touched — the broadcaster resends the stored transaction.

import { type CoordinatorContext } from '../context.ts';

export function recoverWithdrawals(ctx: CoordinatorContext): number {
  return ctx.db.transaction(() => {
    const ids = ctx.db.prepare("SELECT id FROM withdrawals WHERE state = 'signing'").all() as { id: string }[];
    for (const { id } of ids) {
      ctx.db
        .prepare("UPDATE withdrawals SET state = 'approved', updated_at_ms = ? WHERE id = ? AND state = 'signing'")
        .run(ctx.now(), id);
      ctx.audit.append('coordinator', 'withdrawal.signing_aborted', id, { reason: 'RESTART' });
    }
    return ids.length;
  })();
}
