// The policy decision for one withdrawal, as a pure function of the policy and three facts the
// caller gathers (amount, whether the destination is whitelisted, what the wallet already spent
// in the rolling 24 hours). Every broken rule is reported, not just the first, so the person
// fixing the request sees all that stands in the way.

import { formatEth } from './formatEth.ts';
import { type WalletPolicy } from './repo.ts';

export type PolicyRule = 'per_withdrawal_limit' | 'daily_limit' | 'whitelist_only';

export interface PolicyVerdict {
  ok: boolean;
  /** Messages are for people: the desktop shows them as they are. */
  violations: { rule: PolicyRule; message: string }[];
}

export interface PolicyFacts {
  amountWei: bigint;
  toWhitelisted: boolean;
  /** This wallet's counted withdrawals in the last 24 h, without this one (see spent.ts). */
  spentLast24hWei: bigint;
}

export function evaluatePolicy(
  policy: Pick<WalletPolicy, 'perWithdrawalLimitWei' | 'dailyLimitWei' | 'whitelistOnly'>,
  facts: PolicyFacts,
): PolicyVerdict {
  const violations: PolicyVerdict['violations'] = [];
  const { amountWei, spentLast24hWei } = facts;

  if (amountWei > policy.perWithdrawalLimitWei)
    violations.push({
      rule: 'per_withdrawal_limit',
      message: `${formatEth(amountWei)} exceeds the per-withdrawal limit of ${formatEth(policy.perWithdrawalLimitWei)}`,
    });

  // The rolling window includes this request: equal to the limit passes, one wei more does not.
  const total = spentLast24hWei + amountWei;
  if (total > policy.dailyLimitWei) {
    const room = policy.dailyLimitWei > spentLast24hWei ? policy.dailyLimitWei - spentLast24hWei : 0n;
    violations.push({
      rule: 'daily_limit',
      message:
        `${formatEth(amountWei)} would bring the last 24 hours to ${formatEth(total)}, over the daily limit of ` +
        `${formatEth(policy.dailyLimitWei)} (${formatEth(room)} left)`,
    });
  }

  if (policy.whitelistOnly && !facts.toWhitelisted)
    violations.push({
      rule: 'whitelist_only',
      message: 'this wallet pays only approved address-book entries, and the destination is not one',
    });

  return { ok: violations.length === 0, violations };
}
