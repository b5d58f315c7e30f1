// Administration: who may do what (users and roles), which workstations may hold keys (devices), and new wallets.

import { useState } from 'react';
import type { Device, User } from '../../../src/main/views.ts';
import { useMe } from '../app/context.ts';
import { useAction, useChannel } from '../app/hooks.ts';
import { ActionsHeader } from '../components/ActionsHeader.tsx';
import { Badge } from '../components/Badge.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { Loading } from '../components/Loading.tsx';
import { formatDate, groupHex } from '../lib/format.ts';
import { ROLE_NAME, reviewStatus } from '../lib/labels.ts';
import { AddUserDialog } from './AddUserDialog.tsx';
import { CreateWalletDialog } from './CreateWalletDialog.tsx';

export function AdminScreen() {
  const users = useChannel('users.list', {});
  const devices = useChannel('devices.list', {}, { reloadOn: ['devices'] });
  const [dialog, setDialog] = useState<'user' | 'wallet' | null>(null);
  const userById = new Map((users.data?.users ?? []).map((u) => [u.id, u]));

  return (
    <section aria-labelledby="admin-title">
      <div className="page-head">
        <h1 id="admin-title">Administration</h1>
      </div>

      <section className="panel" aria-labelledby="users-title">
        <div className="section-head">
          <h2 id="users-title">Users</h2>
          <button type="button" onClick={() => setDialog('user')}>
            Add user
          </button>
        </div>
        <ErrorBanner error={users.error} onRetry={users.reload} />
        {users.loading && !users.data ? <Loading label="Loading users…" /> : null}
        {users.data ? <UsersTable users={users.data.users} /> : null}
      </section>

      <section className="panel" aria-labelledby="devices-title">
        <h2 id="devices-title">Devices</h2>
        <p className="hint">
          Before approving a workstation, compare its public key with the one shown on that workstation&apos;s screen.
        </p>
        <ErrorBanner error={devices.error} onRetry={devices.reload} />
        {devices.loading && !devices.data ? <Loading label="Loading devices…" /> : null}
        {devices.data && devices.data.devices.length === 0 ? (
          <p className="empty">No workstation is enrolled.</p>
        ) : null}
        {devices.data && devices.data.devices.length > 0 ? (
          <table aria-label="Devices">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Name</th>
                <th scope="col">Public key</th>
                <th scope="col">Status</th>
                <th scope="col">Enrolled</th>
                <ActionsHeader />
              </tr>
            </thead>
            <tbody>
              {devices.data.devices.map((d) => (
                <DeviceRow key={d.id} device={d} user={userById.get(d.userId)} onChanged={devices.reload} />
              ))}
            </tbody>
          </table>
        ) : null}
      </section>

      <section className="panel" aria-labelledby="admin-wallets-title">
        <div className="section-head">
          <h2 id="admin-wallets-title">Wallets</h2>
          <button type="button" onClick={() => setDialog('wallet')}>
            Create wallet
          </button>
        </div>
        <p className="hint">
          A new wallet gets its key when its signer runs &ldquo;Generate key&rdquo; on their approved workstation.
        </p>
      </section>

      {dialog === 'user' ? <AddUserDialog onClose={() => setDialog(null)} onAdded={users.reload} /> : null}
      {dialog === 'wallet' ? <CreateWalletDialog onClose={() => setDialog(null)} onCreated={() => undefined} /> : null}
    </section>
  );
}

function UsersTable(props: { users: User[] }) {
  return (
    <table aria-label="Users">
      <thead>
        <tr>
          <th scope="col">Username</th>
          <th scope="col">Roles</th>
          <th scope="col">Status</th>
        </tr>
      </thead>
      <tbody>
        {props.users.map((u) => (
          <tr key={u.id}>
            <th scope="row">{u.username}</th>
            <td>{u.roles.map((r) => ROLE_NAME[r]).join(', ')}</td>
            <td>{u.disabled ? <Badge tone="neutral">Disabled</Badge> : <Badge tone="good">Active</Badge>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DeviceRow(props: { device: Device; user: User | undefined; onChanged(): void }) {
  const me = useMe();
  const action = useAction();
  const d = props.device;
  const status = reviewStatus(d.status);
  const own = d.userId === me.id;
  const approve = async () => {
    if (await action.run('devices.approve', { deviceId: d.id })) props.onChanged();
  };
  return (
    <tr>
      <td>{props.user?.username ?? <code className="mono">{d.userId}</code>}</td>
      <th scope="row">{d.name}</th>
      <td>
        <code className="mono key">{groupHex(d.publicKey)}</code>
      </td>
      <td>
        <Badge tone={status.tone}>{status.text}</Badge>
      </td>
      <td>{formatDate(d.createdAt)}</td>
      <td>
        {d.status === 'PENDING' && !own ? (
          <button type="button" className="small" disabled={action.busy} onClick={() => void approve()}>
            Approve
          </button>
        ) : null}
        {d.status === 'PENDING' && own ? <span className="hint">Another administrator approves your own.</span> : null}
        <ErrorBanner error={action.error} />
      </td>
    </tr>
  );
}
