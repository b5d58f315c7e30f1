import { useChannel } from '../app/hooks.ts';
import { Money } from '../components/Money.tsx';
import { errorLine } from '../lib/errors.ts';

/** An ACTIVE wallet's balance, from its deposits view. */
export function WalletBalance(props: { walletId: string }) {
  const deposits = useChannel('wallets.deposits', { walletId: props.walletId }, { reloadOn: ['wallets'] });
  if (deposits.data) return <Money wei={deposits.data.balanceWei} />;
  if (deposits.error)
    return (
      <span className="muted" title={errorLine(deposits.error)}>
        Unavailable
      </span>
    );
  return <span className="muted">Loading…</span>;
}
