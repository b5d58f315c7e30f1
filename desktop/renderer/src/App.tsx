// The app's top level: it holds main's AppState (replaced by every state main answers with or pushes), routes
// between sign-in, the lock screen and the signed-in shell, and fans main's events out to the screens.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Channel, Reply, RequestOf, UiError, UiEvent } from '../../src/main/channels.ts';
import type { AppState } from '../../src/main/views.ts';
import type { Bridge } from './bridge.ts';
import { AppContext, type AppContextValue, type Page } from './app/context.ts';
import { ErrorBanner } from './components/ErrorBanner.tsx';
import { Loading } from './components/Loading.tsx';
import { DISCONNECTED_MESSAGE } from './lib/errors.ts';
import { Shell, type AppNotification } from './Shell.tsx';
import { Locked } from './screens/Locked.tsx';
import { SettingsScreen } from './screens/Settings.tsx';
import { SignIn } from './screens/SignIn.tsx';

export function App(props: { bridge: Bridge }) {
  const { bridge } = props;
  const [state, setState] = useState<AppState | null>(null);
  const [startError, setStartError] = useState<UiError>();
  const [disconnected, setDisconnected] = useState(false);
  const [page, setPage] = useState<Page>({ name: 'wallets' });
  const [signedOutPage, setSignedOutPage] = useState<'signIn' | 'settings'>('signIn');
  const [notifications, setNotifications] = useState<AppNotification[]>([]);
  const listeners = useRef(new Set<(e: UiEvent) => void>());
  const notificationSeq = useRef(0);

  const call = useCallback(
    async <C extends Channel>(channel: C, request: RequestOf<C>): Promise<Reply<C>> => {
      const reply = await bridge.invoke(channel, request);
      if (!reply.ok && reply.error.code === 'DISCONNECTED') setDisconnected(true);
      return reply;
    },
    [bridge],
  );

  const subscribe = useCallback((listener: (e: UiEvent) => void) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);

  // One subscription to main for the whole page; screens subscribe to this hub and come and go freely.
  useEffect(() => {
    const off = bridge.onEvent((e) => {
      if (e.event === 'state') setState(e.state);
      if (e.event === 'notification') {
        const n: AppNotification = {
          id: ++notificationSeq.current,
          kind: e.kind,
          title: e.title,
          body: e.body,
          subject: e.subject,
          at: new Date(),
          read: false,
        };
        setNotifications((list) => [n, ...list].slice(0, 100));
      }
      for (const l of [...listeners.current]) l(e);
    });
    const offClose = bridge.onDisconnect?.(() => setDisconnected(true));
    return () => {
      off();
      offClose?.();
    };
  }, [bridge]);

  const loadState = useCallback(async () => {
    setStartError(undefined);
    const reply = await call('app.state', {});
    if (reply.ok) setState(reply.value);
    else setStartError(reply.error);
  }, [call]);

  useEffect(() => {
    void loadState();
  }, [loadState]);

  // Notifications belong to the user who received them: another user signing in starts with an empty list.
  const username = state?.user?.username ?? state?.lockedFor ?? null;
  const lastUser = useRef<string | null>(null);
  useEffect(() => {
    if (username !== null && username !== lastUser.current) {
      if (lastUser.current !== null) setNotifications([]);
      lastUser.current = username;
      setPage({ name: 'wallets' });
    }
  }, [username]);

  const ctx = useMemo<AppContextValue | null>(
    () => (state ? { call, subscribe, state, setState, navigate: setPage } : null),
    [call, subscribe, state],
  );

  const banner = disconnected ? (
    <div className="banner error app-banner">
      <p role="alert">{DISCONNECTED_MESSAGE}</p>
      <button type="button" className="secondary small" onClick={() => location.reload()}>
        Reload
      </button>
    </div>
  ) : null;

  if (!ctx || !state) {
    return (
      <div className="center-page">
        {banner}
        <div className="card narrow">
          <h1 className="brand">Tandem</h1>
          {disconnected ? (
            <p className="muted">Not connected.</p>
          ) : startError ? (
            <ErrorBanner error={startError} onRetry={() => void loadState()} />
          ) : (
            <Loading label="Starting Tandem…" />
          )}
        </div>
      </div>
    );
  }

  let content;
  if (state.user) {
    content = (
      <Shell
        page={page}
        notifications={notifications}
        onNotificationsRead={() => setNotifications((list) => list.map((n) => (n.read ? n : { ...n, read: true })))}
      />
    );
  } else if (state.lockedFor) {
    content = <Locked username={state.lockedFor} />;
  } else if (signedOutPage === 'settings') {
    content = (
      <div className="center-page">
        <div className="card">
          <SettingsScreen onBack={() => setSignedOutPage('signIn')} />
        </div>
      </div>
    );
  } else {
    content = <SignIn onOpenSettings={() => setSignedOutPage('settings')} />;
  }

  return (
    <AppContext.Provider value={ctx}>
      {banner}
      {content}
    </AppContext.Provider>
  );
}
