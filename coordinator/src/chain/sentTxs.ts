// What our wallets sent, as the chain shows it. Every transaction from a wallet address should be
// one of our withdrawals, signed through this coordinator. The deposit watcher hands each one it
// sees here (in the transaction that records its block):
// - a withdrawal already holding that hash: nothing to do, the broadcaster follows it;
// - else an open withdrawal of that wallet paying the same recipient the same amount (a
//   coordinator restored from a backup older than the payment): it is recorded as broadcast with
//   the chain's hash, so it is never signed and paid a second time, and the broadcaster confirms it;
// - else nothing of ours: an alert (audit and error log), someone else spent from the address.
// Before fixing a new transaction, the withdrawal flow checks that the chain has no transaction of
// the wallet we have not seen (assertInSync): until the watcher has caught up, signing waits.

import { getAddress, type Address, type Hex } from 'viem';
import { type Logger } from 'pino';
import { type Metrics } from '@tandem/common/metrics';
import { type Store } from '../db/store.ts';
import { type AuditTrail } from '../audit/auditTrail.ts';
import { ApiError } from '../errors.ts';
import { releaseNonce } from './nonces.ts';

export interface SentTx {
  hash: Hex;
  nonce: number;
  to: Address | null;
  value: bigint;
}

/** Withdrawal states in which the money has not yet been seen leaving. */
const OPEN = ['pending_approval', 'approved', 'signing', 'signed'] as const;

/**
 * Records one transaction sent from a wallet and matches it to a withdrawal. Idempotent on the
 * hash (a rescan sees it again). Returns what it was and its withdrawal for a new one, undefined for
 * one already recorded. Call it inside the store transaction that records its block (alone, it is
 * a transaction of its own).
 */
export async function recordSent(
  store: Store,
  deps: { audit: AuditTrail; log: Logger; now: () => number; metrics?: Metrics },
  walletId: string,
  tx: SentTx,
  block: { number: number; hash: Hex },
): Promise<{ outcome: 'ours' | 'found' | 'unknown'; withdrawalId: string | null } | undefined> {
  return store.transaction(async () => {
    const known = await store.get<{ block_hash: string }>(
      'SELECT block_hash FROM wallet_sent WHERE tx_hash = ?',
      tx.hash,
    );
    if (known) {
      if (known.block_hash !== block.hash)
        await store.run(
          'UPDATE wallet_sent SET block_number = ?, block_hash = ? WHERE tx_hash = ?',
          block.number,
          block.hash,
          tx.hash,
        );
      return undefined;
    }
    const to = tx.to === null ? null : getAddress(tx.to);
    const ours = await store.get<{ id: string }>(
      'SELECT id FROM withdrawals WHERE tx_hash = ? AND wallet_id = ?',
      tx.hash,
      walletId,
    );
    let withdrawalId = ours?.id ?? null;
    let outcome: 'ours' | 'found' | 'unknown' = ours ? 'ours' : 'unknown';
    if (!ours && to !== null) {
      const w = await store.get<{ id: string; state: string; nonce: number | null }>(
        `SELECT id, state, nonce FROM withdrawals
         WHERE wallet_id = ? AND lower(to_address) = lower(?) AND amount_wei = ? AND tx_hash IS NULL
           AND state IN (${OPEN.map(() => '?').join(',')}) AND (nonce IS NULL OR nonce = ?)
         ORDER BY nonce IS NULL, created_at_ms LIMIT 1`,
        walletId,
        to,
        tx.value.toString(),
        ...OPEN,
        tx.nonce,
      );
      if (w) {
        await store.run(
          `UPDATE withdrawals SET state = 'broadcast', tx_hash = ?, nonce = ?, updated_at_ms = ? WHERE id = ?`,
          tx.hash,
          tx.nonce,
          deps.now(),
          w.id,
        );
        // A nonce reserved for it that the chain did not use goes back (see releaseNonce).
        if (w.nonce !== null && w.nonce !== tx.nonce) await releaseNonce(store, walletId, w.nonce);
        await deps.audit.append('coordinator', 'withdrawal.found_on_chain', w.id, {
          txHash: tx.hash,
          nonce: tx.nonce,
          block: block.number,
          from: w.state,
        });
        deps.log.warn(
          {
            withdrawalId: w.id,
            txHash: tx.hash,
            block: block.number,
            was: w.state,
          },
          'a withdrawal was found paid on chain (this coordinator had lost its record): recorded as broadcast',
        );
        deps.metrics?.inc(
          'coordinator_withdrawals_found_on_chain_total',
          'Withdrawals found paid on chain, not in the database',
        );
        withdrawalId = w.id;
        outcome = 'found';
      }
    }
    await store.run(
      `INSERT INTO wallet_sent (tx_hash, wallet_id, nonce, to_address, amount_wei, block_number, block_hash, withdrawal_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      tx.hash,
      walletId,
      tx.nonce,
      to,
      tx.value.toString(),
      block.number,
      block.hash,
      withdrawalId,
    );
    if (outcome === 'unknown') {
      deps.metrics?.inc(
        'coordinator_wallet_unknown_transactions_total',
        'Transactions sent from a wallet that are none of our withdrawals',
      );
      await deps.audit.append('coordinator', 'wallet.unknown_transaction', walletId, {
        txHash: tx.hash,
        nonce: tx.nonce,
        to,
        amountWei: tx.value.toString(),
        block: block.number,
      });
      deps.log.error(
        { walletId, txHash: tx.hash, nonce: tx.nonce, block: block.number },
        'the wallet sent a transaction that is none of our withdrawals',
      );
    }
    return { outcome, withdrawalId };
  });
}

/** By wallet: how many transactions it sent that are none of our withdrawals (shown on the wallet as an alert). */
export async function unknownSendCounts(store: Store, walletId?: string): Promise<Map<string, number>> {
  const rows = await store.all<{ wallet_id: string; n: number | bigint | string }>(
    `SELECT wallet_id, count(*) AS n FROM wallet_sent
     WHERE withdrawal_id IS NULL${walletId === undefined ? '' : ' AND wallet_id = ?'} GROUP BY wallet_id`,
    ...(walletId === undefined ? [] : [walletId]),
  );
  return new Map(rows.map((r) => [r.wallet_id, Number(r.n)]));
}

/** The nonce after every transaction of the wallet this coordinator knows of (signed here or seen on chain). */
export async function knownNextNonce(store: Store, walletId: string): Promise<number> {
  const r = await store.get<{ top: number | null }>(
    `SELECT MAX(n) AS top FROM (
       SELECT nonce AS n FROM withdrawals WHERE wallet_id = ? AND tx_hash IS NOT NULL
       UNION ALL SELECT nonce FROM wallet_sent WHERE wallet_id = ?) AS known`,
    walletId,
    walletId,
  );
  return r?.top == null ? 0 : Number(r.top) + 1;
}

/**
 * Refuses to fix a new transaction while the chain counts transactions of the wallet we have no
 * record of (a coordinator restored from an older backup, or someone else spending from it): one of
 * them may be a withdrawal we still show as unpaid. The deposit watcher records them as it scans.
 * Call it in the transaction that fixes the transaction, so what it checks is what is committed.
 */
export async function assertInSync(store: Store, walletId: string, chainPendingNonce: number): Promise<void> {
  const known = await knownNextNonce(store, walletId);
  if (chainPendingNonce > known)
    throw new ApiError(
      'WALLET_OUT_OF_SYNC',
      `the chain shows ${chainPendingNonce - known} transaction(s) from this wallet that this coordinator has ` +
        'not matched yet (was it restored from a backup?); signing resumes once the chain follower has caught up',
      { chainNonce: chainPendingNonce, knownNonce: known },
    );
}
