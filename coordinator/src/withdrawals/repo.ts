// Withdrawal requests and their approvals. Every state change is one conditional UPDATE
// (WHERE state = … [AND version = …]) inside a store transaction, so two racing requests (two
// approvals, an approve and a cancel) can never both succeed: the loser sees 0 rows changed.

import { randomUUID } from 'node:crypto';
import { type SqlValue, type Store } from '../db/store.ts';
import { ApiError } from '../errors.ts';

export type WithdrawalState =
  | 'pending_approval'
  | 'approved'
  | 'signing'
  | 'signed'
  | 'broadcast'
  | 'confirmed'
  | 'rejected'
  | 'cancelled'
  | 'expired'
  | 'failed';

export interface Withdrawal {
  id: string;
  walletId: string;
  toAddress: string;
  amountWei: bigint;
  note: string;
  state: WithdrawalState;
  version: number;
  createdBy: string;
  nonce: number | null;
  txJson: string | null;
  txDigest: Buffer | null;
  rawSigned: string | null;
  txHash: string | null;
  blockNumber: number | null;
  receiptStatus: string | null;
  failure: string | null;
  createdAtMs: number;
  updatedAtMs: number;
  expiresAtMs: number;
}

interface Row {
  id: string;
  wallet_id: string;
  to_address: string;
  amount_wei: string;
  note: string;
  state: WithdrawalState;
  version: number;
  created_by: string;
  nonce: number | null;
  tx_json: string | null;
  tx_digest: Buffer | null;
  raw_signed: string | null;
  tx_hash: string | null;
  block_number: number | null;
  receipt_status: string | null;
  failure: string | null;
  created_at_ms: number;
  updated_at_ms: number;
  expires_at_ms: number;
}

const toWithdrawal = (r: Row): Withdrawal => ({
  id: r.id,
  walletId: r.wallet_id,
  toAddress: r.to_address,
  amountWei: BigInt(r.amount_wei),
  note: r.note,
  state: r.state,
  version: r.version,
  createdBy: r.created_by,
  nonce: r.nonce,
  txJson: r.tx_json,
  txDigest: r.tx_digest,
  rawSigned: r.raw_signed,
  txHash: r.tx_hash,
  blockNumber: r.block_number,
  receiptStatus: r.receipt_status,
  failure: r.failure,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
  expiresAtMs: r.expires_at_ms,
});

export class WithdrawalRepo {
  constructor(private readonly store: Store) {}

  async create(
    w: { walletId: string; toAddress: string; amountWei: bigint; note: string; createdBy: string },
    nowMs: number,
    ttlMs: number,
  ): Promise<Withdrawal> {
    const id = randomUUID();
    await this.store.run(
      `INSERT INTO withdrawals (id, wallet_id, to_address, amount_wei, note, state, created_by, created_at_ms, updated_at_ms, expires_at_ms)
       VALUES (?, ?, ?, ?, ?, 'pending_approval', ?, ?, ?, ?)`,
      id,
      w.walletId,
      w.toAddress,
      w.amountWei.toString(),
      w.note,
      w.createdBy,
      nowMs,
      nowMs,
      nowMs + ttlMs,
    );
    return this.require(id);
  }

  async get(id: string): Promise<Withdrawal | undefined> {
    const r = await this.store.get<Row>('SELECT * FROM withdrawals WHERE id = ?', id);
    return r && toWithdrawal(r);
  }

  async require(id: string): Promise<Withdrawal> {
    const w = await this.get(id);
    if (!w) throw new ApiError('WITHDRAWAL_NOT_FOUND', 'no such withdrawal');
    return w;
  }

  async list(filter: { walletId?: string; state?: WithdrawalState } = {}): Promise<Withdrawal[]> {
    // The filters are added as needed rather than as `? IS NULL OR …`, whose parameter type
    // PostgreSQL cannot infer.
    const where: string[] = [];
    const args: SqlValue[] = [];
    if (filter.walletId !== undefined) {
      where.push('wallet_id = ?');
      args.push(filter.walletId);
    }
    if (filter.state !== undefined) {
      where.push('state = ?');
      args.push(filter.state);
    }
    const rows = await this.store.all<Row>(
      `SELECT * FROM withdrawals${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at_ms DESC LIMIT 500`,
      ...args,
    );
    return rows.map(toWithdrawal);
  }

  async inStates(states: readonly WithdrawalState[]): Promise<Withdrawal[]> {
    const rows = await this.store.all<Row>(
      `SELECT * FROM withdrawals WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY created_at_ms`,
      ...states,
    );
    return rows.map(toWithdrawal);
  }

  /** Moves id from one of `from` to `to`, setting extra columns; false when another change won. */
  async transition(
    id: string,
    from: readonly WithdrawalState[],
    to: WithdrawalState,
    nowMs: number,
    set: Record<string, SqlValue> = {},
    version?: number,
  ): Promise<boolean> {
    const cols = Object.keys(set);
    const sql = `UPDATE withdrawals SET state = ?, updated_at_ms = ?${cols.map((c) => `, ${c} = ?`).join('')}
       WHERE id = ? AND state IN (${from.map(() => '?').join(',')})${version === undefined ? '' : ' AND version = ?'}`;
    const args = [to, nowMs, ...cols.map((c) => set[c]!), id, ...from, ...(version === undefined ? [] : [version])];
    return (await this.store.run(sql, ...args)) === 1;
  }

  /** Changes destination, amount or note: a new version, so earlier approvals no longer count. */
  async edit(
    id: string,
    version: number,
    e: { toAddress: string; amountWei: bigint; note: string },
    nowMs: number,
  ): Promise<boolean> {
    return (
      (await this.store.run(
        `UPDATE withdrawals SET to_address = ?, amount_wei = ?, note = ?, version = version + 1, state = 'pending_approval', updated_at_ms = ?
         WHERE id = ? AND version = ? AND state IN ('pending_approval', 'approved')`,
        e.toAddress,
        e.amountWei.toString(),
        e.note,
        nowMs,
        id,
        version,
      )) === 1
    );
  }

  /** Records one approval of this version; false if this user already approved it. */
  async addApproval(
    id: string,
    version: number,
    userId: string,
    decision: 'approve' | 'reject',
    nowMs: number,
  ): Promise<boolean> {
    return (
      (await this.store.run(
        `INSERT INTO approvals (withdrawal_id, version, user_id, decision, at_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (withdrawal_id, version, user_id) DO NOTHING`,
        id,
        version,
        userId,
        decision,
        nowMs,
      )) === 1
    );
  }

  async approvals(id: string, version: number): Promise<{ userId: string; decision: string; atMs: number }[]> {
    return (
      await this.store.all<{ user_id: string; decision: string; at_ms: number }>(
        'SELECT user_id, decision, at_ms FROM approvals WHERE withdrawal_id = ? AND version = ? ORDER BY at_ms',
        id,
        version,
      )
    ).map((r) => ({ userId: r.user_id, decision: r.decision, atMs: r.at_ms }));
  }
}
