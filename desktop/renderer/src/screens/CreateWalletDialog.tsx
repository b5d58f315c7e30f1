import { useState, type FormEvent } from 'react';
import { useAction, useChannel } from '../app/hooks.ts';
import { Dialog } from '../components/Dialog.tsx';
import { DialogActions } from '../components/DialogActions.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { SelectField, TextField } from '../components/Field.tsx';
import { Loading } from '../components/Loading.tsx';

export function CreateWalletDialog(props: { onClose(): void; onCreated(): void }) {
  const users = useChannel('users.list', {});
  const action = useAction();
  const [name, setName] = useState('');
  const [signer, setSigner] = useState('');
  const signers = (users.data?.users ?? []).filter((u) => u.roles.includes('signer') && !u.disabled);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const result = await action.run('wallets.create', { name: name.trim(), signerUserId: signer });
    if (result) {
      props.onCreated();
      props.onClose();
    }
  };

  return (
    <Dialog title="Create wallet" onClose={props.onClose} busy={action.busy}>
      <form onSubmit={(e) => void submit(e)}>
        <TextField
          label="Wallet name"
          value={name}
          onChange={setName}
          maxLength={100}
          required
          autoFocus
          disabled={action.busy}
        />
        {users.loading && !users.data ? <Loading label="Loading signers…" /> : null}
        <ErrorBanner error={users.error} onRetry={users.reload} />
        <SelectField
          label="Signer"
          value={signer}
          onChange={setSigner}
          placeholder={signers.length ? 'Choose a signer' : 'No user has the signer role'}
          options={signers.map((u) => ({ value: u.id, label: u.username }))}
          hint="The signer generates the wallet's key on their workstation and signs its withdrawals."
          disabled={action.busy}
        />
        <ErrorBanner error={action.error} />
        <DialogActions
          busy={action.busy}
          onCancel={props.onClose}
          submitLabel="Create wallet"
          busyLabel="Creating…"
          submitDisabled={!name.trim() || !signer}
        />
      </form>
    </Dialog>
  );
}
