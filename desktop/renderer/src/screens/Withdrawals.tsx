// Withdrawals by what the user has to do: approve someone else's request, sign one that is approved, or follow all.

import { useState } from 'react';
import type { Wallet, Withdrawal } from '../../../src/main/views.ts';
import { useApp, useMe, type Me } from '../app/context.ts';
import { useAction, useChannel } from '../app/hooks.ts';
import { ActionsHeader } from '../components/ActionsHeader.tsx';
import { Address } from '../components/Address.tsx';
import { Badge } from '../components/Badge.tsx';
import { DecisionButtons } from '../components/DecisionButtons.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { Loading } from '../components/Loading.tsx';
import { Money } from '../components/Money.tsx';
import { formatDate } from '../lib/format.ts';
import { WITHDRAWAL_STATE, WITHDRAWAL_TONE } from '../lib/labels.ts';
import { NewWithdrawalDialog } from './NewWithdrawalDialog.tsx';

const CANCELLABLE = new Set(['pending_approval', 'approved']);

type Mode = 'approve' | 'sign' | 'all';

export function WithdrawalsScreen() {
  const me = useMe();
  const withdrawals = useChannel('withdrawals.list', {}, { reloadOn: ['withdrawals'] });
  const wallets = useChannel('wallets.list', {}, { reloadOn: ['wallets'] });
  const [creating, setCreating] = useState(false);
  const list = withdrawals.data?.withdrawals ?? [];
  const walletById = new Map((wallets.data?.wallets ?? []).map((w) => [w.id, w]));

  const toApprove = list.filter(
    (w) =>
      w.state === 'pending_approval' &&
      w.createdBy !== me.id &&
      me.has('approver') &&
      !w.approvals.some((a) => a.userId === me.id),
  );
  const toSign = list.filter((w) => w.state === 'approved' && walletById.get(w.walletId)?.signerUserId === me.id);
  const shared = { wallets: walletById, me, onChanged: withdrawals.reload };

  return (
    <section aria-labelledby="withdrawals-title">
      <div className="page-head">
        <h1 id="withdrawals-title">Withdrawals</h1>
        {me.has('initiator') ? (
          <button type="button" onClick={() => setCreating(true)}>
            New withdrawal
          </button>
        ) : null}
      </div>
      <ErrorBanner error={withdrawals.error} onRetry={withdrawals.reload} />
      <ErrorBanner error={wallets.error} onRetry={wallets.reload} />
      {withdrawals.loading && !withdrawals.data ? <Loading label="Loading withdrawals…" /> : null}

      {withdrawals.data && me.has('approver') ? (
        <WithdrawalSection
          title="Waiting for my approval"
          empty="Nothing is waiting for your approval."
          rows={toApprove}
          mode="approve"
          {...shared}
        />
      ) : null}

      {withdrawals.data && (me.has('signer') || toSign.length > 0) ? (
        <WithdrawalSection
          title="Ready to sign"
          empty="No approved withdrawal is waiting for your signature."
          rows={toSign}
          mode="sign"
          {...shared}
        />
      ) : null}

      {withdrawals.data ? (
        <WithdrawalSection title="All withdrawals" empty="No withdrawals yet." rows={list} mode="all" {...shared} />
      ) : null}

      {creating ? (
        <NewWithdrawalDialog
          wallets={(wallets.data?.wallets ?? []).filter((w) => w.status === 'ACTIVE')}
          onClose={() => setCreating(false)}
          onCreated={withdrawals.reload}
        />
      ) : null}
    </section>
  );
}

type TableProps = {
  rows: Withdrawal[];
  wallets: Map<string, Wallet>;
  me: Me;
  mode: Mode;
  onChanged(): void;
};

/** The heading names both the region and its table, so a reader (or a test) finds either by the same words. */
function WithdrawalSection(props: TableProps & { title: string; empty: string }) {
  const { title, empty, ...table } = props;
  const titleId = `${props.mode}-title`;
  return (
    <section className="panel" aria-labelledby={titleId}>
      <h2 id={titleId}>{title}</h2>
      {props.rows.length === 0 ? <p className="empty">{empty}</p> : <WithdrawalTable label={title} {...table} />}
    </section>
  );
}

function WithdrawalTable(props: TableProps & { label: string }) {
  return (
    <table aria-label={props.label}>
      <thead>
        <tr>
          <th scope="col">Requested</th>
          <th scope="col">Wallet</th>
          <th scope="col">Amount</th>
          <th scope="col">Recipient</th>
          <th scope="col">State</th>
          {props.mode === 'all' ? <th scope="col">Transaction</th> : <th scope="col">Note</th>}
          <ActionsHeader />
        </tr>
      </thead>
      <tbody>
        {props.rows.map((w) => (
          <tr key={w.id}>
            <td>{formatDate(w.createdAt)}</td>
            <td>{props.wallets.get(w.walletId)?.name ?? <span className="muted">Unknown wallet</span>}</td>
            <td className="num">
              <Money wei={w.amountWei} />
            </td>
            <td>
              {w.toName ? (
                <span title={w.to}>{w.toName}</span>
              ) : (
                <>
                  <Address value={w.to} />
                  <span className="hint"> Not in the address book</span>
                </>
              )}
            </td>
            <td>
              <Badge tone={WITHDRAWAL_TONE[w.state]}>{WITHDRAWAL_STATE[w.state] ?? w.state}</Badge>
              {w.state === 'pending_approval' ? <span className="hint"> {w.approvals.length} approved</span> : null}
              {w.failure ? <span className="hint"> {w.failure}</span> : null}
            </td>
            {props.mode === 'all' ? (
              <td>{w.txHash ? <Address value={w.txHash} /> : <span className="muted">—</span>}</td>
            ) : (
              <td>{w.note ?? <span className="muted">—</span>}</td>
            )}
            <td>
              <RowActions withdrawal={w} me={props.me} mode={props.mode} onChanged={props.onChanged} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RowActions(props: { withdrawal: Withdrawal; me: Me; mode: Mode; onChanged(): void }) {
  const { navigate } = useApp();
  const action = useAction();
  const w = props.withdrawal;
  const act = async (channel: 'withdrawals.approve' | 'withdrawals.reject' | 'withdrawals.cancel') => {
    if (await action.run(channel, { withdrawalId: w.id })) props.onChanged();
  };
  const canCancel = CANCELLABLE.has(w.state) && (w.createdBy === props.me.id || props.me.roles.includes('admin'));

  return (
    <div className="row-actions">
      {props.mode === 'approve' ? (
        <DecisionButtons
          busy={action.busy}
          onApprove={() => void act('withdrawals.approve')}
          onReject={() => void act('withdrawals.reject')}
        />
      ) : null}
      {props.mode === 'sign' ? (
        <button type="button" className="small" onClick={() => navigate({ name: 'review', withdrawalId: w.id })}>
          Review and sign
        </button>
      ) : null}
      {props.mode === 'all' && canCancel ? (
        <button
          type="button"
          className="small secondary"
          disabled={action.busy}
          onClick={() => void act('withdrawals.cancel')}
        >
          Cancel
        </button>
      ) : null}
      <ErrorBanner error={action.error} />
    </div>
  );
}
