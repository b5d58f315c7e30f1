// Nonces for withdrawals. Each wallet's next nonce lives in wallet_nonces and is handed out
// inside the same SQLite transaction that fixes a withdrawal's tx (nonce, tx_json, tx_digest)
// when MPC signing starts, so two withdrawals of one wallet can never get the same nonce and a
// crash can never leave a nonce handed out to nobody.
//
// Usage (the withdrawal flow):
//   const chainNonce = await chain.pendingNonce(wallet.address);   // async: before the tx
//   db.transaction(() => {
//     const nonce = allocateNonce(db, wallet.id, wallet.address, chainNonce);
//     ... store nonce + tx on the withdrawal, move it to 'signing' ...
//   })();
// The chain's pending nonce has to be read before the transaction because better-sqlite3
// transactions are synchronous: an await inside one would commit it half-way. Reading it a
// moment early is harmless: it only ever grows, and max() below keeps whichever is ahead.

import { getAddress, type Address } from 'viem';
import { type Db } from '../db/db.ts';
import { ApiError } from '../errors.ts';

/**
 * Returns the nonce for the wallet's next transaction and reserves it. A nonce given back below the
 * newest one (a hole, see releaseNonce) comes first, lowest first, unless the chain has moved past it;
 * otherwise next = max(stored next_nonce, chainPendingNonce), and next + 1 is stored.
 * - A fresh wallet has no row yet: the chain's nonce (0 for a new address) is the start.
 * - If another tool sent from the address (or an earlier tx of ours was counted by the node but
 *   our row was restored from an older backup), the chain is ahead and we jump to it, instead of
 *   signing a tx the node would refuse with "nonce too low".
 * - If we are ahead (txs signed but not yet broadcast or not yet in the mempool), ours wins.
 * Must run inside the caller's db transaction (throws otherwise).
 */
export function allocateNonce(db: Db, walletId: string, address: Address, chainPendingNonce: number): number {
  if (!db.inTransaction) throw new Error('allocateNonce: call it inside the transaction that stores the nonce');
  if (!Number.isSafeInteger(chainPendingNonce) || chainPendingNonce < 0)
    throw new RangeError('chainPendingNonce: expected a non-negative integer');
  const wallet = db.prepare('SELECT address FROM wallets WHERE id = ?').get(walletId) as
    { address: string | null } | undefined;
  if (!wallet) throw new ApiError('WALLET_NOT_FOUND', 'no such wallet');
  // The chain nonce the caller read must be this wallet's: a mix-up would reuse or skip nonces.
  if (!wallet.address || getAddress(wallet.address) !== getAddress(address))
    throw new Error('allocateNonce: the address is not this wallet’s');
  // A hole the chain has moved past was filled by someone else's transaction: it is gone.
  db.prepare('DELETE FROM wallet_free_nonces WHERE wallet_id = ? AND nonce < ?').run(walletId, chainPendingNonce);
  const hole = db
    .prepare('SELECT nonce FROM wallet_free_nonces WHERE wallet_id = ? ORDER BY nonce LIMIT 1')
    .get(walletId) as { nonce: number } | undefined;
  if (hole) {
    db.prepare('DELETE FROM wallet_free_nonces WHERE wallet_id = ? AND nonce = ?').run(walletId, hole.nonce);
    return hole.nonce;
  }
  const row = db.prepare('SELECT next_nonce FROM wallet_nonces WHERE wallet_id = ?').get(walletId) as
    { next_nonce: number } | undefined;
  const nonce = Math.max(row?.next_nonce ?? 0, chainPendingNonce);
  db.prepare(
    `INSERT INTO wallet_nonces (wallet_id, next_nonce) VALUES (?, ?)
     ON CONFLICT (wallet_id) DO UPDATE SET next_nonce = excluded.next_nonce`,
  ).run(walletId, nonce + 1);
  return nonce;
}

/**
 * Gives a nonce back when its withdrawal ends without being broadcast (cancelled, expired, or edited
 * after signing started). The newest one simply lowers next_nonce (and with it any holes just below,
 * which are then at the top); an older one would leave a hole that holds every later transaction of
 * the wallet in the mempool, so it is kept as free and the wallet's next withdrawal takes it (see
 * allocateNonce). Returns whether next_nonce came down. Run it in the transaction that ends the
 * withdrawal.
 */
export function releaseNonce(db: Db, walletId: string, nonce: number): boolean {
  if (!db.inTransaction) throw new Error('releaseNonce: call it inside the transaction that ends the withdrawal');
  const lowered = db
    .prepare('UPDATE wallet_nonces SET next_nonce = ? WHERE wallet_id = ? AND next_nonce = ?')
    .run(nonce, walletId, nonce + 1);
  if (lowered.changes !== 1) {
    db.prepare('INSERT OR IGNORE INTO wallet_free_nonces (wallet_id, nonce) VALUES (?, ?)').run(walletId, nonce);
    return false;
  }
  // Holes right below the new top are no longer holes: fold them into next_nonce.
  for (;;) {
    const { next_nonce: top } = db
      .prepare('SELECT next_nonce FROM wallet_nonces WHERE wallet_id = ?')
      .get(walletId) as {
      next_nonce: number;
    };
    const freed = db.prepare('DELETE FROM wallet_free_nonces WHERE wallet_id = ? AND nonce = ?').run(walletId, top - 1);
    if (freed.changes !== 1) return true;
    db.prepare('UPDATE wallet_nonces SET next_nonce = ? WHERE wallet_id = ?').run(top - 1, walletId);
  }
}
