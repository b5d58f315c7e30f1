// The whole contract between the renderer and main: one table of channels, each with the schema its request must
// pass at the edge (zod, strict: unknown keys are refused) and the type of its answer. Both shells (Electron's
// ipcMain and the development shell's local WebSocket) route every call through `dispatch` (dispatch.ts), so a
// channel behaves the same in both. The renderer imports only types from here.
//
// Secrets cross this edge once, inward: a password the user typed. No answer and no event ever carries one back, nor
// a share, a seed or a token.

import { z } from 'zod';
import type * as Views from './views.ts';
import { type AppState } from './views.ts';

const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not an id');
const password = z.string().min(1, 'empty').max(1024, 'too long');
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'not an Ethereum address');
const wei = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'not an amount in wei');
const name = z.string().trim().min(1, 'empty').max(100, 'too long');
const role = z.enum(['admin', 'initiator', 'approver', 'signer']);
const none = z.strictObject({});

/** Request schemas, by channel. */
export const requests = {
  // The app and its session.
  'app.state': none,
  'settings.update': z.strictObject({
    coordinatorUrl: z.string().url().max(2048).optional(),
    idleLockMinutes: z.number().int().min(1).max(240).optional(),
  }),
  'session.signIn': z.strictObject({ username: name, password }),
  'session.signOut': none,
  'session.lock': none,
  /** Marks the user active, so the idle lock waits again. */
  'session.touch': none,

  // This workstation: its identity key and its one-time P2 setup.
  'device.enroll': z.strictObject({ deviceName: name, password }),

  // Wallets and their keys.
  'wallets.list': none,
  'wallets.create': z.strictObject({ name, signerUserId: id }),
  'wallets.generateKey': z.strictObject({ walletId: id, password }),
  'wallets.deposits': z.strictObject({ walletId: id }),
  'wallets.exportBackup': z.strictObject({ walletId: id, password, backupPassword: password }),
  'wallets.restoreBackup': z.strictObject({
    walletId: id,
    file: z.string().min(2).max(1_000_000),
    backupPassword: password,
    /** This workstation's password: the restored share is sealed under it. */
    password,
  }),
  /** Asks an administrator to move the wallet's key to this workstation (after a restore here). */
  'wallets.requestMove': z.strictObject({ walletId: id }),
  'wallets.approveMove': z.strictObject({ walletId: id }),
  'wallets.rejectMove': z.strictObject({ walletId: id }),
  'policy.get': z.strictObject({ walletId: id }),
  'policy.set': z.strictObject({
    walletId: id,
    perWithdrawalLimitWei: wei,
    dailyLimitWei: wei,
    whitelistOnly: z.boolean(),
    quorum: z.number().int().min(1).max(20),
  }),

  // Withdrawals.
  'withdrawals.list': none,
  'withdrawals.request': z.strictObject({
    walletId: id,
    to: address,
    amountWei: wei,
    note: z.string().max(500).optional(),
  }),
  'withdrawals.approve': z.strictObject({ withdrawalId: id }),
  'withdrawals.reject': z.strictObject({ withdrawalId: id }),
  'withdrawals.cancel': z.strictObject({ withdrawalId: id }),
  /** Prepares the transaction at the coordinator and returns what this desktop decoded and hashed itself. */
  'withdrawals.review': z.strictObject({ withdrawalId: id }),
  'withdrawals.sign': z.strictObject({ withdrawalId: id, password }),

  // Address book.
  'addressBook.list': none,
  'addressBook.propose': z.strictObject({ name, address }),
  'addressBook.approve': z.strictObject({ entryId: id }),
  'addressBook.reject': z.strictObject({ entryId: id }),

  // Administration.
  'users.list': none,
  'users.create': z.strictObject({
    username: name,
    password: z.string().min(12, 'at least 12 characters').max(1024),
    roles: z.array(role).min(1).max(4),
  }),
  'devices.list': none,
  'devices.approve': z.strictObject({ deviceId: id }),

  // The user's own history.
  'activity.list': none,
} as const;

export type Channel = keyof typeof requests;
export type RequestOf<C extends Channel> = z.infer<(typeof requests)[C]>;

/** Answer types, by channel. */
export interface Responses {
  'app.state': AppState;
  'settings.update': AppState;
  'session.signIn': AppState;
  'session.signOut': AppState;
  'session.lock': AppState;
  'session.touch': { ok: true };
  'device.enroll': AppState;
  'wallets.list': { wallets: Views.Wallet[] };
  'wallets.create': { wallet: Views.Wallet };
  'wallets.generateKey': { walletId: string; address: string };
  'wallets.deposits': { deposits: Views.Deposit[]; balanceWei: string };
  'wallets.exportBackup': { fileName: string; file: string };
  'wallets.restoreBackup': { wallet: Views.Wallet };
  'wallets.requestMove': { wallet: Views.Wallet };
  'wallets.approveMove': { wallet: Views.Wallet };
  'wallets.rejectMove': { wallet: Views.Wallet };
  'policy.get': { policy: Views.Policy | null };
  'policy.set': { policy: Views.Policy };
  'withdrawals.list': { withdrawals: Views.Withdrawal[] };
  'withdrawals.request': { withdrawal: Views.Withdrawal };
  'withdrawals.approve': { withdrawal: Views.Withdrawal };
  'withdrawals.reject': { withdrawal: Views.Withdrawal };
  'withdrawals.cancel': { withdrawal: Views.Withdrawal };
  'withdrawals.review': Views.SigningReview;
  'withdrawals.sign': { withdrawalId: string; txHash: string };
  'addressBook.list': { entries: Views.AddressBookEntry[] };
  'addressBook.propose': { entry: Views.AddressBookEntry };
  'addressBook.approve': { entry: Views.AddressBookEntry };
  'addressBook.reject': { entry: Views.AddressBookEntry };
  'users.list': { users: Views.User[] };
  'users.create': { user: Views.User };
  'devices.list': { devices: Views.Device[] };
  'devices.approve': { device: Views.Device };
  'activity.list': { entries: Views.Activity[] };
}

export type ResponseOf<C extends Channel> = Responses[C];

/** Every failure the renderer sees: a stable code, a message for people, and what to do next when there is one. */
export interface UiError {
  code: string;
  message: string;
  /** The request field a BAD_REQUEST is about. */
  field?: string;
  /** WRONG_PASSWORD: when the next try is allowed. */
  retryAfterMs?: number;
}

export type Reply<C extends Channel> = { ok: true; value: ResponseOf<C> } | { ok: false; error: UiError };

/** What main pushes to the renderer without being asked. */
export type UiEvent =
  /** A long job's step (the worker's P2 steps, or 'setup' percent). */
  | { event: 'progress'; job: 'setup' | 'dkg' | 'sign'; subject: string; step: string; percent?: number }
  /** Something changed at the coordinator: the renderer reloads what it shows of it. */
  | { event: 'changed'; what: 'wallets' | 'withdrawals' | 'addressBook' | 'devices' }
  /** The app state changed (signed out, locked, setup finished…). */
  | { event: 'state'; state: AppState }
  /** Shown in the app and as an OS notification. */
  | { event: 'notification'; kind: Views.NotificationKind; title: string; body: string; subject?: string }
  /** A newer Tandem, signed by a release key and verified, is downloaded and can be installed (updateService.ts). */
  | { event: 'update_ready'; version: string };

export const CHANNELS = Object.keys(requests) as Channel[];
export const isChannel = (c: unknown): c is Channel => typeof c === 'string' && Object.hasOwn(requests, c);
