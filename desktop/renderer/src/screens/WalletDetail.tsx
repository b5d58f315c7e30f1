import { useState } from 'react';
import type { Wallet } from '../../../src/main/views.ts';
import { useApp, useMe } from '../app/context.ts';
import { useChannel } from '../app/hooks.ts';
import { Address } from '../components/Address.tsx';
import { Badge } from '../components/Badge.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { Loading } from '../components/Loading.tsx';
import { Money } from '../components/Money.tsx';
import { DepositAddress } from '../components/QrCode.tsx';
import { formatDate } from '../lib/format.ts';
import { walletStatus } from '../lib/labels.ts';
import { BackupDialog } from './BackupDialog.tsx';
import { EditPolicyDialog } from './EditPolicyDialog.tsx';
import { GenerateKeyDialog } from './GenerateKeyDialog.tsx';
import { RestoreDialog } from './RestoreDialog.tsx';
import { WalletMove } from './WalletMove.tsx';

type Open = 'backup' | 'restore' | 'policy' | 'generate' | null;

export function WalletDetail(props: { walletId: string }) {
  const { navigate } = useApp();
  const wallets = useChannel('wallets.list', {}, { reloadOn: ['wallets'] });
  const wallet = wallets.data?.wallets.find((w) => w.id === props.walletId);

  return (
    <section aria-labelledby="wallet-title">
      <div className="page-head">
        <h1 id="wallet-title">{wallet ? wallet.name : 'Wallet'}</h1>
        <button type="button" className="secondary" onClick={() => navigate({ name: 'wallets' })}>
          Back to wallets
        </button>
      </div>
      <ErrorBanner error={wallets.error} onRetry={wallets.reload} />
      {wallets.loading && !wallets.data ? <Loading label="Loading the wallet…" /> : null}
      {wallets.data && !wallet ? <p className="empty">This wallet no longer exists.</p> : null}
      {wallet ? <WalletBody wallet={wallet} onChanged={wallets.reload} /> : null}
    </section>
  );
}

function WalletBody(props: { wallet: Wallet; onChanged(): void }) {
  const me = useMe();
  const w = props.wallet;
  const active = w.status === 'ACTIVE';
  const deposits = useChannel('wallets.deposits', { walletId: w.id }, { reloadOn: ['wallets'], skip: !active });
  const policy = useChannel('policy.get', { walletId: w.id }, { reloadOn: ['wallets'] });
  const [open, setOpen] = useState<Open>(null);
  const close = () => setOpen(null);
  const status = walletStatus(w.status);
  const isSigner = w.signerUserId === me.id;

  return (
    <>
      {w.unknownTransactions > 0 ? (
        <div className="banner error" role="alert">
          This wallet sent {w.unknownTransactions === 1 ? 'a transaction' : `${w.unknownTransactions} transactions`}{' '}
          that {w.unknownTransactions === 1 ? 'is' : 'are'} none of Tandem&apos;s withdrawals. Someone else may be
          spending from it: tell your security team now.
        </div>
      ) : null}
      <div className="panel">
        <dl className="details">
          <dt>Status</dt>
          <dd>
            <Badge tone={status.tone}>{status.text}</Badge>
          </dd>
          <dt>Deposit address</dt>
          <dd>
            {w.address ? (
              <DepositAddress address={w.address} />
            ) : (
              <span className="muted">None yet: the key has not been generated.</span>
            )}
          </dd>
          <dt>Balance</dt>
          <dd>{deposits.data ? <Money wei={deposits.data.balanceWei} /> : <span className="muted">—</span>}</dd>
          <dt>Signer</dt>
          <dd>{isSigner ? 'You' : 'Another user'}</dd>
          <dt>Key share on this computer</dt>
          <dd>{w.hasShare ? 'Yes' : 'No'}</dd>
          {w.keyGenerated ? (
            <>
              <dt>Signs from</dt>
              <dd>{w.onThisWorkstation ? 'This workstation' : 'Another workstation'}</dd>
            </>
          ) : null}
          <dt>Created</dt>
          <dd>{formatDate(w.createdAt)}</dd>
        </dl>
        <div className="row-actions">
          {w.status === 'PENDING_DKG' && isSigner ? (
            <button type="button" onClick={() => setOpen('generate')}>
              Generate key
            </button>
          ) : null}
          {w.hasShare ? (
            <button type="button" className="secondary" onClick={() => setOpen('backup')}>
              Back up key share
            </button>
          ) : null}
          {active && isSigner && !w.hasShare ? (
            <button type="button" className="secondary" onClick={() => setOpen('restore')}>
              Restore key share
            </button>
          ) : null}
        </div>
      </div>

      <WalletMove wallet={w} onChanged={props.onChanged} />

      {active ? (
        <section className="panel" aria-labelledby="deposits-title">
          <div className="section-head">
            <h2 id="deposits-title">Deposits</h2>
            <button type="button" className="secondary small" onClick={deposits.reload} disabled={deposits.loading}>
              Refresh deposits
            </button>
          </div>
          <ErrorBanner error={deposits.error} onRetry={deposits.reload} />
          {deposits.loading && !deposits.data ? <Loading label="Loading deposits…" /> : null}
          {deposits.data && deposits.data.deposits.length === 0 ? <p className="empty">No deposits yet.</p> : null}
          {deposits.data && deposits.data.deposits.length > 0 ? (
            <table aria-label="Deposits">
              <thead>
                <tr>
                  <th scope="col">From</th>
                  <th scope="col">Amount</th>
                  <th scope="col">Block</th>
                  <th scope="col">Status</th>
                  <th scope="col">Transaction</th>
                </tr>
              </thead>
              <tbody>
                {deposits.data.deposits.map((d) => (
                  <tr key={`${d.txHash}-${d.from}-${d.amountWei}`}>
                    <td>
                      <Address value={d.from} />
                    </td>
                    <td className="num">
                      <Money wei={d.amountWei} />
                    </td>
                    <td className="num">{d.blockNumber}</td>
                    <td>
                      {d.confirmed ? (
                        <Badge tone="good">Confirmed</Badge>
                      ) : (
                        <Badge tone="active">{`Confirming (${d.confirmations})`}</Badge>
                      )}
                    </td>
                    <td>
                      <Address value={d.txHash} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>
      ) : null}

      <section className="panel" aria-labelledby="policy-title">
        <div className="section-head">
          <h2 id="policy-title">Withdrawal policy</h2>
          {me.has('admin') ? (
            <button type="button" className="secondary small" onClick={() => setOpen('policy')} disabled={!policy.data}>
              Edit policy
            </button>
          ) : null}
        </div>
        <ErrorBanner error={policy.error} onRetry={policy.reload} />
        {policy.loading && !policy.data ? <Loading label="Loading the policy…" /> : null}
        {policy.data && !policy.data.policy ? (
          <p className="empty">
            No policy yet: withdrawals from this wallet are refused until an administrator sets one.
          </p>
        ) : null}
        {policy.data?.policy ? (
          <dl className="details">
            <dt>Per-withdrawal limit</dt>
            <dd>
              <Money wei={policy.data.policy.perWithdrawalLimitWei} />
            </dd>
            <dt>Daily limit</dt>
            <dd>
              <Money wei={policy.data.policy.dailyLimitWei} />
            </dd>
            <dt>Destinations</dt>
            <dd>{policy.data.policy.whitelistOnly ? 'Approved address-book entries only' : 'Any address'}</dd>
            <dt>Approvals required</dt>
            <dd>{policy.data.policy.quorum}</dd>
            <dt>Last changed</dt>
            <dd>
              {formatDate(policy.data.policy.updatedAt)} by {policy.data.policy.updatedByName ?? 'a removed user'}
            </dd>
          </dl>
        ) : null}
      </section>

      {open === 'generate' ? (
        <GenerateKeyDialog
          wallet={w}
          onClose={() => {
            close();
            props.onChanged();
          }}
        />
      ) : null}
      {open === 'backup' ? <BackupDialog walletId={w.id} walletName={w.name} onClose={close} /> : null}
      {open === 'restore' ? (
        <RestoreDialog
          walletId={w.id}
          walletName={w.name}
          onClose={() => {
            close();
            props.onChanged();
          }}
        />
      ) : null}
      {open === 'policy' && policy.data ? (
        <EditPolicyDialog walletId={w.id} policy={policy.data.policy} onClose={close} onSaved={policy.reload} />
      ) : null}
    </>
  );
}
