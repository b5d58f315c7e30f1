// Moving a wallet's key to this workstation. The bank signer accepts one workstation per wallet (the one that
// generated the key); after a backup is restored on another workstation, its user asks to move the wallet there and
// another administrator approves. Until then the old workstation keeps signing.

import type { Wallet } from '../../../src/main/views.ts';
import { useMe } from '../app/context.ts';
import { useAction } from '../app/hooks.ts';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { formatDate } from '../lib/format.ts';

export function WalletMove(props: { wallet: Wallet; onChanged(): void }) {
  const me = useMe();
  const action = useAction();
  const w = props.wallet;
  const move = w.pendingMove;
  const isSigner = w.signerUserId === me.id;
  const canAsk = isSigner && w.status === 'ACTIVE' && w.hasShare && !w.onThisWorkstation && !move;
  if (!move && !canAsk) return null;

  const run = async (channel: 'wallets.requestMove' | 'wallets.approveMove' | 'wallets.rejectMove') => {
    if (await action.run(channel, { walletId: w.id })) props.onChanged();
  };

  return (
    <section className="panel" aria-labelledby="move-title">
      <h2 id="move-title">Workstation</h2>
      {move ? (
        <p className="banner info" role="status">
          {move.requestedBy === me.id ? 'You asked' : `${move.requestedByName} asked`} on {formatDate(move.requestedAt)}{' '}
          to move this wallet&apos;s key to the workstation &ldquo;{move.toDeviceName}&rdquo;. An administrator approves
          the move; until then the current workstation signs.
        </p>
      ) : (
        <p className="banner warning" role="status">
          This wallet&apos;s key is bound to another workstation, so it cannot sign here yet. Ask to move it here: once
          an administrator approves, this workstation signs for it and the other no longer can.
        </p>
      )}
      <div className="row-actions">
        {canAsk ? (
          <button type="button" disabled={action.busy} onClick={() => void run('wallets.requestMove')}>
            Move wallet to this workstation
          </button>
        ) : null}
        {move && me.has('admin') && move.requestedBy !== me.id ? (
          <>
            <button type="button" disabled={action.busy} onClick={() => void run('wallets.approveMove')}>
              Approve move
            </button>
            <button
              type="button"
              className="danger"
              disabled={action.busy}
              onClick={() => void run('wallets.rejectMove')}
            >
              Refuse move
            </button>
          </>
        ) : null}
        {move && move.requestedBy === me.id ? (
          <button
            type="button"
            className="secondary"
            disabled={action.busy}
            onClick={() => void run('wallets.rejectMove')}
          >
            Withdraw the request
          </button>
        ) : null}
      </div>
      <ErrorBanner error={action.error} />
    </section>
  );
}
