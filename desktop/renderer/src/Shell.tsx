// The signed-in frame: header (who, notifications, lock, sign out), the main navigation and the current screen.
// It also tells main the user is active, so the idle lock only fires for a workstation nobody is using.

import { useEffect, useRef, useState } from 'react';
import type { NotificationKind } from '../../src/main/views.ts';
import { useApp, useMe, type Page } from './app/context.ts';
import { useAction } from './app/hooks.ts';
import { ErrorBanner } from './components/ErrorBanner.tsx';
import { ROLE_NAME } from './lib/labels.ts';
import { formatDate } from './lib/format.ts';
import { ActivityScreen } from './screens/Activity.tsx';
import { AddressBookScreen } from './screens/AddressBook.tsx';
import { AdminScreen } from './screens/Admin.tsx';
import { DevicePanel } from './screens/DevicePanel.tsx';
import { ReviewSign } from './screens/ReviewSign.tsx';
import { SettingsScreen } from './screens/Settings.tsx';
import { WalletDetail } from './screens/WalletDetail.tsx';
import { WalletsScreen } from './screens/Wallets.tsx';
import { WithdrawalsScreen } from './screens/Withdrawals.tsx';

export interface AppNotification {
  id: number;
  kind: NotificationKind;
  title: string;
  body: string;
  subject: string | undefined;
  at: Date;
  read: boolean;
}

const TOUCH_INTERVAL_MS = 30_000;

type NavName = 'wallets' | 'withdrawals' | 'addressBook' | 'activity' | 'admin' | 'settings';

const NAV: Array<{ name: NavName; label: string; adminOnly?: boolean }> = [
  { name: 'wallets', label: 'Wallets' },
  { name: 'withdrawals', label: 'Withdrawals' },
  { name: 'addressBook', label: 'Address book' },
  { name: 'activity', label: 'Activity' },
  { name: 'admin', label: 'Administration', adminOnly: true },
  { name: 'settings', label: 'Settings' },
];

/** Detail pages light up the section they belong to. */
function section(page: Page): NavName {
  if (page.name === 'wallet') return 'wallets';
  if (page.name === 'review') return 'withdrawals';
  return page.name;
}

export function Shell(props: { page: Page; notifications: AppNotification[]; onNotificationsRead(): void }) {
  const { navigate, setState, call } = useApp();
  const me = useMe();
  const session = useAction();

  useEffect(() => {
    let last = Date.now();
    const touch = () => {
      const now = Date.now();
      if (now - last < TOUCH_INTERVAL_MS) return;
      last = now;
      void call('session.touch', {});
    };
    const events = ['mousemove', 'keydown', 'click'] as const;
    for (const e of events) window.addEventListener(e, touch, { passive: true });
    return () => {
      for (const e of events) window.removeEventListener(e, touch);
    };
  }, [call]);

  const endSession = async (channel: 'session.lock' | 'session.signOut') => {
    const next = await session.run(channel, {});
    if (next) setState(next);
  };

  const current = section(props.page);
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Tandem</span>
        <span className="topbar-user">
          Signed in as <strong>{me.username}</strong>
          <span className="muted"> ({me.roles.map((r) => ROLE_NAME[r]).join(', ')})</span>
        </span>
        <Notifications list={props.notifications} onOpen={props.onNotificationsRead} />
        <button
          type="button"
          className="secondary"
          disabled={session.busy}
          onClick={() => void endSession('session.lock')}
        >
          Lock
        </button>
        <button
          type="button"
          className="secondary"
          disabled={session.busy}
          onClick={() => void endSession('session.signOut')}
        >
          Sign out
        </button>
      </header>
      <nav aria-label="Main" className="sidenav">
        <ul>
          {NAV.filter((n) => !n.adminOnly || me.has('admin')).map((n) => (
            <li key={n.name}>
              <button
                type="button"
                className={n.name === current ? 'nav-item current' : 'nav-item'}
                aria-current={n.name === current ? 'page' : undefined}
                onClick={() => navigate({ name: n.name })}
              >
                {n.label}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main className="content">
        <ErrorBanner error={session.error} />
        <DevicePanel />
        <CurrentPage page={props.page} />
      </main>
    </div>
  );
}

function CurrentPage(props: { page: Page }) {
  const { page } = props;
  switch (page.name) {
    case 'wallets':
      return <WalletsScreen />;
    case 'wallet':
      return <WalletDetail walletId={page.walletId} />;
    case 'withdrawals':
      return <WithdrawalsScreen />;
    case 'review':
      return <ReviewSign withdrawalId={page.withdrawalId} />;
    case 'addressBook':
      return <AddressBookScreen />;
    case 'activity':
      return <ActivityScreen />;
    case 'admin':
      return <AdminScreen />;
    case 'settings':
      return <SettingsScreen />;
  }
}

/** Where a notification leads: the screen where the user acts on it. */
function target(n: AppNotification): Page | null {
  const kind: string = n.kind;
  if (kind === 'key_needed') return { name: 'wallets' };
  if (kind === 'device_approval_needed') return { name: 'admin' };
  if (kind === 'wallet_move_approval_needed' && n.subject) return { name: 'wallet', walletId: n.subject };
  if (kind === 'address_approval_needed') return { name: 'addressBook' };
  if (kind.startsWith('withdrawal_') || kind === 'approval_needed' || kind === 'signature_needed')
    return { name: 'withdrawals' };
  return null;
}

function Notifications(props: { list: AppNotification[]; onOpen(): void }) {
  const { navigate } = useApp();
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const unread = props.list.filter((n) => !n.read).length;

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent | KeyboardEvent) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !box.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  // Read on opening and again on closing, so what arrived while the list was open counts as seen too.
  const toggle = () => {
    props.onOpen();
    setOpen((o) => !o);
  };

  return (
    <div className="notifications" ref={box}>
      <button
        type="button"
        className="secondary"
        aria-label="Notifications"
        aria-expanded={open}
        aria-controls="notification-list"
        aria-describedby="notification-count"
        onClick={toggle}
      >
        <span aria-hidden="true">Notifications</span>
        <span id="notification-count" className={unread > 0 ? 'count' : 'count zero'}>
          {unread}
          <span className="visually-hidden"> unread</span>
        </span>
      </button>
      {open ? (
        <div id="notification-list" className="popover" role="region" aria-label="Notification list">
          {props.list.length === 0 ? (
            <p className="muted">No notifications yet.</p>
          ) : (
            <ul>
              {props.list.map((n) => (
                <li key={n.id}>
                  <button
                    type="button"
                    className="notification"
                    onClick={() => {
                      props.onOpen();
                      setOpen(false);
                      const page = target(n);
                      if (page) navigate(page);
                    }}
                  >
                    <strong>{n.title}</strong>
                    <span>{n.body}</span>
                    <span className="muted small-text">{formatDate(n.at.toISOString())}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      ) : null}
    </div>
  );
}
