// What every screen reaches without prop drilling: the bridge calls, main's events, the app state and navigation.

import { createContext, useContext } from 'react';
import type { Channel, Reply, RequestOf, UiEvent } from '../../../src/main/channels.ts';
import type { AppState, Role } from '../../../src/main/views.ts';

export type Page =
  | { name: 'wallets' }
  | { name: 'wallet'; walletId: string }
  | { name: 'withdrawals' }
  | { name: 'review'; withdrawalId: string }
  | { name: 'addressBook' }
  | { name: 'activity' }
  | { name: 'admin' }
  | { name: 'settings' };

export type Call = <C extends Channel>(channel: C, request: RequestOf<C>) => Promise<Reply<C>>;

export interface AppContextValue {
  call: Call;
  subscribe(listener: (e: UiEvent) => void): () => void;
  state: AppState;
  /** Every AppState main answers with replaces the one shown. */
  setState(state: AppState): void;
  navigate(page: Page): void;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error('useApp outside <AppContext>');
  return ctx;
}

export type Me = NonNullable<AppState['user']>;

/** The signed-in user: only screens shown after sign-in call this. */
export function useMe(): Me & { has(role: Role): boolean } {
  const { state } = useApp();
  const user = state.user;
  if (!user) throw new Error('useMe while signed out');
  return { ...user, has: (role) => user.roles.includes(role) };
}
