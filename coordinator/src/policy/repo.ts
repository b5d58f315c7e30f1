// Withdrawal policies: per wallet, the most one withdrawal may move, the most the wallet may send
// in any 24 hours, whether it may pay only approved address-book entries, and how many approvers
// must approve a withdrawal. The only code that reads or writes the policies table.

import { isConstraint, type Store } from '../db/store.ts';
import { ApiError } from '../errors.ts';

export interface WalletPolicy {
  walletId: string;
  perWithdrawalLimitWei: bigint;
  dailyLimitWei: bigint;
  whitelistOnly: boolean;
  /** Approvals a withdrawal needs (from approvers other than its initiator). */
  quorum: number;
  updatedBy: string;
  updatedAtMs: number;
}

export type PolicySettings = Pick<WalletPolicy, 'perWithdrawalLimitWei' | 'dailyLimitWei' | 'whitelistOnly' | 'quorum'>;

export const MAX_QUORUM = 10;
/** A limit is an amount a transaction could carry: a uint256. */
const U256_LIMIT = 1n << 256n;

interface Row {
  wallet_id: string;
  per_withdrawal_limit_wei: string;
  daily_limit_wei: string;
  whitelist_only: number;
  quorum: number;
  updated_by: string;
  updated_at_ms: number;
}

const toPolicy = (r: Row): WalletPolicy => ({
  walletId: r.wallet_id,
  perWithdrawalLimitWei: BigInt(r.per_withdrawal_limit_wei),
  dailyLimitWei: BigInt(r.daily_limit_wei),
  whitelistOnly: r.whitelist_only !== 0,
  quorum: r.quorum,
  updatedBy: r.updated_by,
  updatedAtMs: r.updated_at_ms,
});

function check(p: PolicySettings): void {
  for (const [field, v] of [
    ['perWithdrawalLimitWei', p.perWithdrawalLimitWei],
    ['dailyLimitWei', p.dailyLimitWei],
  ] as const)
    if (typeof v !== 'bigint' || v < 0n || v >= U256_LIMIT)
      throw new ApiError('BAD_REQUEST', `${field}: expected an amount in wei from 0 to 2^256 - 1`, {
        reason: 'limit_out_of_range',
        field,
      });
  // A daily limit below the per-withdrawal one would make the larger figure a lie.
  if (p.dailyLimitWei < p.perWithdrawalLimitWei)
    throw new ApiError('BAD_REQUEST', 'the daily limit must be at least the per-withdrawal limit', {
      reason: 'daily_below_per_withdrawal',
    });
  if (!Number.isInteger(p.quorum) || p.quorum < 1 || p.quorum > MAX_QUORUM)
    throw new ApiError('BAD_REQUEST', `quorum: expected 1 to ${MAX_QUORUM} approvals`, {
      reason: 'quorum_out_of_range',
    });
}

export class PolicyRepo {
  constructor(private readonly store: Store) {}

  async get(walletId: string): Promise<WalletPolicy | undefined> {
    const r = await this.store.get<Row>('SELECT * FROM policies WHERE wallet_id = ?', walletId);
    return r && toPolicy(r);
  }

  /** The wallet's policy; a wallet without one cannot withdraw at all (fail closed, not "no limits"). */
  async require(walletId: string): Promise<WalletPolicy> {
    const p = await this.get(walletId);
    if (!p)
      throw new ApiError('POLICY_VIOLATION', 'this wallet has no withdrawal policy yet: an admin must set its limits', {
        rule: 'no_policy',
      });
    return p;
  }

  /** Creates or replaces the wallet's policy. */
  async set(walletId: string, p: PolicySettings, by: string, nowMs: number): Promise<WalletPolicy> {
    check(p);
    try {
      await this.store.run(
        `INSERT INTO policies (wallet_id, per_withdrawal_limit_wei, daily_limit_wei, whitelist_only, quorum, updated_by, updated_at_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (wallet_id) DO UPDATE SET
           per_withdrawal_limit_wei = excluded.per_withdrawal_limit_wei, daily_limit_wei = excluded.daily_limit_wei,
           whitelist_only = excluded.whitelist_only, quorum = excluded.quorum,
           updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms`,
        walletId,
        p.perWithdrawalLimitWei.toString(),
        p.dailyLimitWei.toString(),
        p.whitelistOnly ? 1 : 0,
        p.quorum,
        by,
        nowMs,
      );
    } catch (e) {
      // wallet_id and updated_by reference wallets and users; the routes check both first, so
      // this is only reached by a caller that skipped them.
      if (isConstraint(e, 'foreign_key')) throw new ApiError('WALLET_NOT_FOUND', 'no such wallet');
      throw e;
    }
    return (await this.get(walletId))!;
  }
}
