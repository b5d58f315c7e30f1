import { useId, useState, type FormEvent } from 'react';
import type { Wallet } from '../../../src/main/views.ts';
import { useAction, useChannel } from '../app/hooks.ts';
import { Dialog } from '../components/Dialog.tsx';
import { DialogActions } from '../components/DialogActions.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { SelectField, TextField } from '../components/Field.tsx';
import { parseEth } from '../lib/format.ts';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

export function NewWithdrawalDialog(props: { wallets: Wallet[]; onClose(): void; onCreated(): void }) {
  const action = useAction();
  const book = useChannel('addressBook.list', {});
  const listId = useId();
  const [walletId, setWalletId] = useState(props.wallets.length === 1 ? (props.wallets[0]?.id ?? '') : '');
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('');
  const [note, setNote] = useState('');
  const [tried, setTried] = useState(false);

  const approved = (book.data?.entries ?? []).filter((e) => e.status === 'APPROVED');
  const match = approved.find((e) => e.address.toLowerCase() === to.trim().toLowerCase());
  const parsed = parseEth(amount);
  const addressOk = ADDRESS.test(to.trim());
  const amountProblem = !parsed.ok ? parsed.reason : BigInt(parsed.wei) === 0n ? 'Enter more than 0.' : undefined;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!walletId || !addressOk || amountProblem || !parsed.ok) return;
    const result = await action.run('withdrawals.request', {
      walletId,
      to: to.trim(),
      amountWei: parsed.wei,
      ...(note.trim() ? { note: note.trim() } : {}),
    });
    if (result) {
      props.onCreated();
      props.onClose();
    }
  };

  return (
    <Dialog title="New withdrawal" onClose={props.onClose} busy={action.busy}>
      <form onSubmit={(e) => void submit(e)}>
        <SelectField
          label="Wallet"
          value={walletId}
          onChange={setWalletId}
          placeholder={props.wallets.length ? 'Choose a wallet' : 'No active wallet'}
          options={props.wallets.map((w) => ({ value: w.id, label: w.name }))}
          disabled={action.busy}
        />
        <TextField
          label="Recipient address"
          value={to}
          onChange={setTo}
          list={listId}
          spellCheck={false}
          autoComplete="off"
          className="mono"
          placeholder="0x…"
          hint={
            match ? (
              <>
                Address book: <strong>{match.name}</strong>
              </>
            ) : addressOk ? (
              <strong className="warning-text">
                New address: not in the address book. Check it with the recipient.
              </strong>
            ) : (
              'Pick an approved address-book entry or paste an address.'
            )
          }
          problem={tried && !addressOk ? 'Enter an Ethereum address: 0x and 40 hexadecimal digits.' : undefined}
          disabled={action.busy}
          autoFocus
        />
        <datalist id={listId}>
          {approved.map((e) => (
            <option key={e.id} value={e.address} label={e.name} />
          ))}
        </datalist>
        <TextField
          label="Amount (ETH)"
          inputMode="decimal"
          value={amount}
          onChange={setAmount}
          problem={tried ? amountProblem : undefined}
          autoComplete="off"
          disabled={action.busy}
        />
        <TextField
          label="Note"
          value={note}
          onChange={setNote}
          maxLength={500}
          hint="Optional: why this withdrawal is made, for the approvers."
          disabled={action.busy}
        />
        <ErrorBanner error={book.error} onRetry={book.reload} />
        <ErrorBanner error={action.error} />
        <DialogActions
          busy={action.busy}
          onCancel={props.onClose}
          submitLabel="Request withdrawal"
          busyLabel="Requesting…"
        />
      </form>
    </Dialog>
  );
}
