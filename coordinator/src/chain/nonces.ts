// Nonces for withdrawals. Each wallet's next nonce lives in wallet_nonces and is handed out
// inside the same store transaction that fixes a withdrawal's tx (nonce, tx_json, tx_digest)
// when signing is prepared, so two withdrawals of one wallet can never get the same nonce and a
// crash can never leave a nonce handed out to nobody.
//
// Usage (the withdrawal flow):
//   const chainNonce = await chain.pendingNonce(wallet.address);   // before the transaction
//   await store.transaction(async () => {
//     const nonce = await allocateNonce(store, wallet.id, wallet.address, chainNonce);
//     ... store nonce + tx on the withdrawal ...
//   });
// The chain's pending nonce is read before the transaction because a transaction awaits nothing
// but the store (it holds the database while it runs). Reading it a moment early is harmless: it
// only ever grows, and max() below keeps whichever is ahead.
//
// Both functions run their reads and writes as one transaction of their own when called alone,
// and join the caller's transaction (as a savepoint) when called inside one, which is how they
// must be called: the nonce then commits or rolls back with what the caller stores with it.

import { getAddress, type Address } from 'viem';
import { type Store } from '../db/store.ts';
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
 * Call it inside the caller's store transaction that stores the nonce.
 */
export async function allocateNonce(
  store: Store,
  walletId: string,
  address: Address,
  chainPendingNonce: number,
): Promise<number> {
  if (!Number.isSafeInteger(chainPendingNonce) || chainPendingNonce < 0)
    throw new RangeError('chainPendingNonce: expected a non-negative integer');
  return store.transaction(async () => {
    const wallet = await store.get<{ address: string | null }>('SELECT address FROM wallets WHERE id = ?', walletId);
    if (!wallet) throw new ApiError('WALLET_NOT_FOUND', 'no such wallet');
    // The chain nonce the caller read must be this wallet's: a mix-up would reuse or skip nonces.
    if (!wallet.address || getAddress(wallet.address) !== getAddress(address))
      throw new Error('allocateNonce: the address is not this wallet’s');
    // A hole the chain has moved past was filled by someone else's transaction: it is gone.
    await store.run('DELETE FROM wallet_free_nonces WHERE wallet_id = ? AND nonce < ?', walletId, chainPendingNonce);
    const hole = await store.get<{ nonce: number }>(
      'SELECT nonce FROM wallet_free_nonces WHERE wallet_id = ? ORDER BY nonce LIMIT 1',
      walletId,
    );
    if (hole) {
      await store.run('DELETE FROM wallet_free_nonces WHERE wallet_id = ? AND nonce = ?', walletId, hole.nonce);
      return hole.nonce;
    }
    const row = await store.get<{ next_nonce: number }>(
      'SELECT next_nonce FROM wallet_nonces WHERE wallet_id = ?',
      walletId,
    );
    const nonce = Math.max(row?.next_nonce ?? 0, chainPendingNonce);
    await store.run(
      `INSERT INTO wallet_nonces (wallet_id, next_nonce) VALUES (?, ?)
       ON CONFLICT (wallet_id) DO UPDATE SET next_nonce = excluded.next_nonce`,
      walletId,
      nonce + 1,
    );
    return nonce;
  });
}

/**
 * Gives a nonce back when its withdrawal ends without being broadcast (cancelled, expired, or edited
 * after signing was prepared). The newest one simply lowers next_nonce (and with it any holes just
 * below, which are then at the top); an older one would leave a hole that holds every later
 * transaction of the wallet in the mempool, so it is kept as free and the wallet's next withdrawal
 * takes it (see allocateNonce). Returns whether next_nonce came down. Call it inside the store
 * transaction that ends the withdrawal.
 */
export async function releaseNonce(store: Store, walletId: string, nonce: number): Promise<boolean> {
  return store.transaction(async () => {
    const lowered = await store.run(
      'UPDATE wallet_nonces SET next_nonce = ? WHERE wallet_id = ? AND next_nonce = ?',
      nonce,
      walletId,
      nonce + 1,
    );
    if (lowered !== 1) {
      await store.run(
        'INSERT INTO wallet_free_nonces (wallet_id, nonce) VALUES (?, ?) ON CONFLICT (wallet_id, nonce) DO NOTHING',
        walletId,
        nonce,
      );
      return false;
    }
    // Holes right below the new top are no longer holes: fold them into next_nonce.
    for (;;) {
      const { next_nonce: top } = (await store.get<{ next_nonce: number }>(
        'SELECT next_nonce FROM wallet_nonces WHERE wallet_id = ?',
        walletId,
      ))!;
      const freed = await store.run(
        'DELETE FROM wallet_free_nonces WHERE wallet_id = ? AND nonce = ?',
        walletId,
        top - 1,
      );
      if (freed !== 1) return true;
      await store.run('UPDATE wallet_nonces SET next_nonce = ? WHERE wallet_id = ?', top - 1, walletId);
    }
  });
}
