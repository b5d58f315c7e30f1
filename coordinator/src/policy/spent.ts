// What a wallet has already committed in the rolling 24 hours, for the daily limit.
//
// Counted: withdrawals created in the window that are still going somewhere or went —
// pending_approval, approved, signing, signed, broadcast, confirmed. Pending requests count on
// purpose: otherwise two requests could each pass alone and, once both are approved, together
// exceed the limit. A request that ended without moving funds (rejected, cancelled, expired,
// failed) gives its room back. So "failed" must mean the value can no longer move: a transaction
// that was broadcast and might still be mined stays counted until that is settled.
//
// The window is by creation time and half-open: a withdrawal created exactly 24 h ago has aged
// out. Rows dated after nowMs (a clock step back) still count, which errs on the safe side.

import { type Store } from '../db/store.ts';

export const DAY_MS = 24 * 3_600_000;

export const SPENDING_STATES = ['pending_approval', 'approved', 'signing', 'signed', 'broadcast', 'confirmed'] as const;

/** Sum of amount_wei of this wallet's counted withdrawals in (nowMs - 24 h, ∞), without excludeWithdrawalId. */
export async function spentLast24hWei(
  store: Store,
  walletId: string,
  nowMs: number,
  excludeWithdrawalId?: string,
): Promise<bigint> {
  // Amounts are decimal TEXT (uint256 does not fit SQLite's INTEGER), so the sum is done here in bigint.
  const rows = await store.all<{ amount_wei: string }>(
    `SELECT amount_wei FROM withdrawals
     WHERE wallet_id = ? AND state IN (${SPENDING_STATES.map(() => '?').join(', ')})
       AND created_at_ms > ?${excludeWithdrawalId === undefined ? '' : ' AND id <> ?'}`,
    walletId,
    ...SPENDING_STATES,
    nowMs - DAY_MS,
    ...(excludeWithdrawalId === undefined ? [] : [excludeWithdrawalId]),
  );
  return rows.reduce((sum, r) => sum + BigInt(r.amount_wei), 0n);
}
