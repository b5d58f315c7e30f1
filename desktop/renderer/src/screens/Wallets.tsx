import { useState } from 'react';
import type { Wallet } from '../../../src/main/views.ts';
import { useApp, useMe } from '../app/context.ts';
import { useChannel } from '../app/hooks.ts';
import { Badge } from '../components/Badge.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { Loading } from '../components/Loading.tsx';
import { DepositAddress } from '../components/QrCode.tsx';
import { walletStatus } from '../lib/labels.ts';
import { CreateWalletDialog } from './CreateWalletDialog.tsx';
import { GenerateKeyDialog } from './GenerateKeyDialog.tsx';
import { WalletBalance } from './WalletBalance.tsx';

export function WalletsScreen() {
  const me = useMe();
  const wallets = useChannel('wallets.list', {}, { reloadOn: ['wallets'] });
  const [creating, setCreating] = useState(false);
  const [generating, setGenerating] = useState<Wallet | null>(null);
  const list = wallets.data?.wallets ?? [];

  return (
    <section aria-labelledby="wallets-title">
      <div className="page-head">
        <h1 id="wallets-title">Wallets</h1>
        {me.has('admin') ? (
          <button type="button" onClick={() => setCreating(true)}>
            Create wallet
          </button>
        ) : null}
      </div>
      <ErrorBanner error={wallets.error} onRetry={wallets.reload} />
      {wallets.loading && !wallets.data ? <Loading label="Loading wallets…" /> : null}
      {wallets.data && list.length === 0 ? (
        <p className="empty">
          No wallets yet. {me.has('admin') ? 'Create one with “Create wallet”.' : 'An administrator creates them.'}
        </p>
      ) : null}
      {list.length > 0 ? (
        <table aria-label="Wallets">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Balance</th>
              <th scope="col">Deposit address</th>
            </tr>
          </thead>
          <tbody>
            {list.map((w) => (
              <WalletRow key={w.id} wallet={w} meId={me.id} onGenerate={() => setGenerating(w)} />
            ))}
          </tbody>
        </table>
      ) : null}
      {creating ? <CreateWalletDialog onClose={() => setCreating(false)} onCreated={wallets.reload} /> : null}
      {generating ? (
        <GenerateKeyDialog
          wallet={generating}
          onClose={() => {
            setGenerating(null);
            wallets.reload();
          }}
        />
      ) : null}
    </section>
  );
}

function WalletRow(props: { wallet: Wallet; meId: string; onGenerate(): void }) {
  const { navigate, state } = useApp();
  const w = props.wallet;
  const status = walletStatus(w.status);
  const mustGenerate = w.status === 'PENDING_DKG' && w.signerUserId === props.meId;
  return (
    <tr>
      <th scope="row">
        <button type="button" className="link" onClick={() => navigate({ name: 'wallet', walletId: w.id })}>
          {w.name}
        </button>
      </th>
      <td>
        <Badge tone={status.tone}>{status.text}</Badge>
      </td>
      <td className="num">
        {w.status === 'ACTIVE' ? <WalletBalance walletId={w.id} /> : <span className="muted">—</span>}
      </td>
      <td>
        {w.address ? (
          <DepositAddress address={w.address} />
        ) : mustGenerate ? (
          <div className="address-cell">
            <span>You generate this wallet&apos;s key.</span>
            <span className="row-actions">
              <button
                type="button"
                className="small"
                onClick={props.onGenerate}
                disabled={state.device.status !== 'APPROVED'}
              >
                Generate key
              </button>
            </span>
            {state.device.status !== 'APPROVED' ? (
              <span className="hint">This workstation must be set up and approved first.</span>
            ) : null}
          </div>
        ) : (
          <span className="muted">Waiting for its signer to generate the key.</span>
        )}
      </td>
    </tr>
  );
}
