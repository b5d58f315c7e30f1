// Approved destinations: an address proposed by one person only counts once enough approvers have checked it, so a
// single compromised account cannot add where funds may go.

import { useState, type FormEvent } from 'react';
import type { AddressBookEntry } from '../../../src/main/views.ts';
import { useMe, type Me } from '../app/context.ts';
import { useAction, useChannel } from '../app/hooks.ts';
import { ActionsHeader } from '../components/ActionsHeader.tsx';
import { Address } from '../components/Address.tsx';
import { Badge } from '../components/Badge.tsx';
import { DecisionButtons } from '../components/DecisionButtons.tsx';
import { Dialog } from '../components/Dialog.tsx';
import { DialogActions } from '../components/DialogActions.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { TextField } from '../components/Field.tsx';
import { Loading } from '../components/Loading.tsx';
import { formatDate } from '../lib/format.ts';
import { reviewStatus } from '../lib/labels.ts';

export function AddressBookScreen() {
  const me = useMe();
  const book = useChannel('addressBook.list', {}, { reloadOn: ['addressBook'] });
  const [adding, setAdding] = useState(false);
  const entries = book.data?.entries ?? [];
  const canPropose = me.has('initiator') || me.has('admin');

  return (
    <section aria-labelledby="book-title">
      <div className="page-head">
        <h1 id="book-title">Address book</h1>
        {canPropose ? (
          <button type="button" onClick={() => setAdding(true)}>
            Add address
          </button>
        ) : null}
      </div>
      <ErrorBanner error={book.error} onRetry={book.reload} />
      {book.loading && !book.data ? <Loading label="Loading the address book…" /> : null}
      {book.data && entries.length === 0 ? <p className="empty">The address book is empty.</p> : null}
      {entries.length > 0 ? (
        <table aria-label="Address book">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Address</th>
              <th scope="col">Status</th>
              <th scope="col">Approvals</th>
              <th scope="col">Proposed</th>
              <ActionsHeader />
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <EntryRow key={e.id} entry={e} me={me} onChanged={book.reload} />
            ))}
          </tbody>
        </table>
      ) : null}
      {adding ? <AddAddressDialog onClose={() => setAdding(false)} onAdded={book.reload} /> : null}
    </section>
  );
}

function EntryRow(props: { entry: AddressBookEntry; me: Me; onChanged(): void }) {
  const e = props.entry;
  const action = useAction();
  const status = reviewStatus(e.status);
  const canDecide =
    e.status === 'PENDING' &&
    props.me.roles.includes('approver') &&
    e.createdBy !== props.me.id &&
    !e.approvals.some((a) => a.userId === props.me.id);
  const act = async (channel: 'addressBook.approve' | 'addressBook.reject') => {
    if (await action.run(channel, { entryId: e.id })) props.onChanged();
  };
  return (
    <tr>
      <th scope="row">{e.name}</th>
      <td>
        <Address value={e.address} copy />
      </td>
      <td>
        <Badge tone={status.tone}>{status.text}</Badge>
      </td>
      <td className="num">
        {e.approvals.length} of {e.quorum}
      </td>
      <td>{formatDate(e.createdAt)}</td>
      <td>
        {canDecide ? (
          <div className="row-actions">
            <DecisionButtons
              busy={action.busy}
              onApprove={() => void act('addressBook.approve')}
              onReject={() => void act('addressBook.reject')}
            />
          </div>
        ) : null}
        <ErrorBanner error={action.error} />
      </td>
    </tr>
  );
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function AddAddressDialog(props: { onClose(): void; onAdded(): void }) {
  const action = useAction();
  const [name, setName] = useState('');
  const [address, setAddress] = useState('');
  const [tried, setTried] = useState(false);
  const addressOk = ADDRESS.test(address.trim());

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!name.trim() || !addressOk) return;
    const result = await action.run('addressBook.propose', { name: name.trim(), address: address.trim() });
    if (result) {
      props.onAdded();
      props.onClose();
    }
  };

  return (
    <Dialog title="Add address" onClose={props.onClose} busy={action.busy}>
      <p>The address can be used once enough approvers have approved it.</p>
      <form onSubmit={(e) => void submit(e)}>
        <TextField
          label="Name"
          value={name}
          onChange={setName}
          maxLength={100}
          problem={tried && !name.trim() ? 'Enter a name.' : undefined}
          hint="Who or what the address belongs to, for example “Exchange cold wallet”."
          disabled={action.busy}
          autoFocus
        />
        <TextField
          label="Address"
          value={address}
          onChange={setAddress}
          className="mono"
          spellCheck={false}
          autoComplete="off"
          placeholder="0x…"
          problem={tried && !addressOk ? 'Enter an Ethereum address: 0x and 40 hexadecimal digits.' : undefined}
          hint="Paste it from a source you trust, then compare it character by character."
          disabled={action.busy}
        />
        <ErrorBanner error={action.error} />
        <DialogActions busy={action.busy} onCancel={props.onClose} submitLabel="Add address" busyLabel="Adding…" />
      </form>
    </Dialog>
  );
}
