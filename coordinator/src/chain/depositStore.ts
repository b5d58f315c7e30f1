// The SQL of the deposit watcher: the deposits table, its chain_cursors row, and the lookup of
// the addresses it watches. Kept apart from the watcher so a PostgreSQL store can replace it.

import { type Address, type Hex } from 'viem';
import { type Db } from '../db/db.ts';

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

export function readCursor(db: Db, name: string): number | undefined {
  const row = db.prepare('SELECT block_number FROM chain_cursors WHERE name = ?').get(name) as
    { block_number: number } | undefined;
  return row?.block_number;
}

/** The hash the cursor block had when it was scanned (none for a cursor set without scanning it). */
export function readCursorHash(db: Db, name: string): string | undefined {
  const row = db.prepare('SELECT block_hash FROM chain_cursors WHERE name = ?').get(name) as
    { block_hash: string | null } | undefined;
  return row?.block_hash ?? undefined;
}

export function writeCursor(db: Db, name: string, blockNumber: number, blockHash: string | null = null): void {
  db.prepare(
    `INSERT INTO chain_cursors (name, block_number, block_hash) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash`,
  ).run(name, blockNumber, blockHash);
}

/** ACTIVE wallets by lowercase address (addresses may be stored in any case). */
export function activeWalletsByAddress(db: Db): Map<string, WatchedWallet> {
  const rows = db
    .prepare(`SELECT id, address FROM wallets WHERE status = 'ACTIVE' AND address IS NOT NULL`)
    .all() as WatchedWallet[];
  return new Map(rows.map((w) => [w.address.toLowerCase(), w]));
}

/**
 * Idempotent on (tx_hash, wallet_id). If the same tx shows up in another block (re-mined after
 * a reorg we did not see, e.g. while stopped), the row follows it; seen_at_ms stays the first.
 */
export function upsertDeposit(db: Db, d: DepositRecord): 'new' | 'moved' | 'known' {
  const had = db
    .prepare('SELECT block_hash FROM deposits WHERE tx_hash = ? AND wallet_id = ?')
    .get(d.txHash, d.walletId) as { block_hash: string } | undefined;
  if (!had) {
    db.prepare(
      `INSERT INTO deposits (tx_hash, wallet_id, from_address, amount_wei, block_number, block_hash, seen_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(d.txHash, d.walletId, d.from, d.amountWei.toString(), d.blockNumber, d.blockHash, d.seenAtMs);
    return 'new';
  }
  if (had.block_hash === d.blockHash) return 'known';
  db.prepare('UPDATE deposits SET block_number = ?, block_hash = ? WHERE tx_hash = ? AND wallet_id = ?').run(
    d.blockNumber,
    d.blockHash,
    d.txHash,
    d.walletId,
  );
  return 'moved';
}

/** Deletes deposits of blocks above `blockNumber` (orphaned by a reorg); returns how many. */
export function deleteDepositsAbove(db: Db, blockNumber: number): number {
  // The wallets' own sends of those blocks go too (a withdrawal matched to one keeps its hash: the
  // broadcaster follows it, and the node usually mines it again).
  db.prepare('DELETE FROM wallet_sent WHERE block_number > ?').run(blockNumber);
  return db.prepare('DELETE FROM deposits WHERE block_number > ?').run(blockNumber).changes;
}

/** Block hashes stored with deposits and with the wallets' sends at heights in (from, to], ascending. */
export function depositBlocks(db: Db, from: number, to: number): { blockNumber: number; blockHash: Hex }[] {
  return db
    .prepare(
      `SELECT block_number AS blockNumber, block_hash AS blockHash FROM deposits
         WHERE block_number > ? AND block_number <= ?
       UNION SELECT block_number, block_hash FROM wallet_sent WHERE block_number > ? AND block_number <= ?
       ORDER BY blockNumber`,
    )
    .all(from, to, from, to) as { blockNumber: number; blockHash: Hex }[];
}

export function listDeposits(db: Db, walletId: string, headBlock: number, required: number): DepositView[] {
  const rows = db
    .prepare(
      `SELECT tx_hash, wallet_id, from_address, amount_wei, block_number, block_hash, seen_at_ms FROM deposits
       WHERE wallet_id = ? ORDER BY block_number DESC, tx_hash`,
    )
    .all(walletId) as {
    tx_hash: Hex;
    wallet_id: string;
    from_address: Address;
    amount_wei: string;
    block_number: number;
    block_hash: Hex;
    seen_at_ms: number;
  }[];
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
