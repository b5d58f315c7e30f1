// The SQL of the deposit watcher: the deposits table, its chain_cursors row, and the lookup of
// the addresses it watches. Kept apart from the watcher so a PostgreSQL store can replace it.

import { type Address, type Hex } from 'viem';
import { type Store } from '../db/store.ts';

export interface DepositRecord {
  txHash: Hex;
  walletId: string;
  /** EIP-55. */
  from: Address;
  amountWei: bigint;
  blockNumber: number;
  blockHash: Hex;
  seenAtMs: number;
}

export interface DepositView {
  txHash: Hex;
  walletId: string;
  from: Address;
  /** Decimal wei, as stored (uint256 does not fit a JS number). */
  amountWei: string;
  blockNumber: number;
  blockHash: Hex;
  seenAtMs: number;
  /** head − block + 1: 1 when in the head block; 0 if the given head is older than the block. */
  confirmations: number;
  /** confirmations ≥ the coordinator's required confirmations. */
  confirmed: boolean;
}

export interface WatchedWallet {
  id: string;
  address: string;
}

export async function readCursor(store: Store, name: string): Promise<number | undefined> {
  const row = await store.get<{ block_number: number }>('SELECT block_number FROM chain_cursors WHERE name = ?', name);
  return row?.block_number;
}

/** The hash the cursor block had when it was scanned (none for a cursor set without scanning it). */
export async function readCursorHash(store: Store, name: string): Promise<string | undefined> {
  const row = await store.get<{ block_hash: string | null }>(
    'SELECT block_hash FROM chain_cursors WHERE name = ?',
    name,
  );
  return row?.block_hash ?? undefined;
}

export async function writeCursor(
  store: Store,
  name: string,
  blockNumber: number,
  blockHash: string | null = null,
): Promise<void> {
  await store.run(
    `INSERT INTO chain_cursors (name, block_number, block_hash) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash`,
    name,
    blockNumber,
    blockHash,
  );
}

/** ACTIVE wallets by lowercase address (addresses may be stored in any case). */
export async function activeWalletsByAddress(store: Store): Promise<Map<string, WatchedWallet>> {
  const rows = await store.all<WatchedWallet>(
    `SELECT id, address FROM wallets WHERE status = 'ACTIVE' AND address IS NOT NULL`,
  );
  return new Map(rows.map((w) => [w.address.toLowerCase(), w]));
}

/**
 * Idempotent on (tx_hash, wallet_id). If the same tx shows up in another block (re-mined after
 * a reorg we did not see, e.g. while stopped), the row follows it; seen_at_ms stays the first.
 * Call it inside the transaction that records the block (alone, it is a transaction of its own).
 */
export async function upsertDeposit(store: Store, d: DepositRecord): Promise<'new' | 'moved' | 'known'> {
  return store.transaction(async () => {
    const had = await store.get<{ block_hash: string }>(
      'SELECT block_hash FROM deposits WHERE tx_hash = ? AND wallet_id = ?',
      d.txHash,
      d.walletId,
    );
    if (!had) {
      await store.run(
        `INSERT INTO deposits (tx_hash, wallet_id, from_address, amount_wei, block_number, block_hash, seen_at_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        d.txHash,
        d.walletId,
        d.from,
        d.amountWei.toString(),
        d.blockNumber,
        d.blockHash,
        d.seenAtMs,
      );
      return 'new';
    }
    if (had.block_hash === d.blockHash) return 'known';
    await store.run(
      'UPDATE deposits SET block_number = ?, block_hash = ? WHERE tx_hash = ? AND wallet_id = ?',
      d.blockNumber,
      d.blockHash,
      d.txHash,
      d.walletId,
    );
    return 'moved';
  });
}

/**
 * Deletes deposits of blocks above `blockNumber` (orphaned by a reorg); returns how many. Call it
 * inside the transaction that moves the cursor back (alone, it is a transaction of its own).
 */
export async function deleteDepositsAbove(store: Store, blockNumber: number): Promise<number> {
  return store.transaction(async () => {
    // The wallets' own sends of those blocks go too (a withdrawal matched to one keeps its hash: the
    // broadcaster follows it, and the node usually mines it again).
    await store.run('DELETE FROM wallet_sent WHERE block_number > ?', blockNumber);
    return store.run('DELETE FROM deposits WHERE block_number > ?', blockNumber);
  });
}

/** Block hashes stored with deposits and with the wallets' sends at heights in (from, to], ascending. */
export async function depositBlocks(
  store: Store,
  from: number,
  to: number,
): Promise<{ blockNumber: number; blockHash: Hex }[]> {
  const rows = await store.all<{ block_number: number; block_hash: Hex }>(
    `SELECT block_number, block_hash FROM deposits WHERE block_number > ? AND block_number <= ?
     UNION SELECT block_number, block_hash FROM wallet_sent WHERE block_number > ? AND block_number <= ?
     ORDER BY block_number`,
    from,
    to,
    from,
    to,
  );
  return rows.map((r) => ({ blockNumber: r.block_number, blockHash: r.block_hash }));
}

export async function listDeposits(
  store: Store,
  walletId: string,
  headBlock: number,
  required: number,
): Promise<DepositView[]> {
  const rows = await store.all<{
    tx_hash: Hex;
    wallet_id: string;
    from_address: Address;
    amount_wei: string;
    block_number: number;
    block_hash: Hex;
    seen_at_ms: number;
  }>(
    `SELECT tx_hash, wallet_id, from_address, amount_wei, block_number, block_hash, seen_at_ms FROM deposits
     WHERE wallet_id = ? ORDER BY block_number DESC, tx_hash`,
    walletId,
  );
  return rows.map((r) => {
    const confirmations = Math.max(0, headBlock - r.block_number + 1);
    return {
      txHash: r.tx_hash,
      walletId: r.wallet_id,
      from: r.from_address,
      amountWei: r.amount_wei,
      blockNumber: r.block_number,
      blockHash: r.block_hash,
      seenAtMs: r.seen_at_ms,
      confirmations,
      confirmed: confirmations >= required,
    };
  });
}
