// What the renderer is shown: the app's own state, and the coordinator's views as its REST API gives them (amounts as
// decimal wei strings, times as ISO strings), plus what this desktop adds (whether it holds a wallet's share, what it
// decoded and hashed itself for a review). Types only: the renderer imports them too.

export type Role = 'admin' | 'initiator' | 'approver' | 'signer';

/** Settings IT can set machine-wide; `managed` lists the ones the policy file locks. */
export interface Settings {
  coordinatorUrl: string;
  idleLockMinutes: number;
  /** The bank signer's identity public key this desktop pins (64 hex digits). */
  signerPublicKey: string;
  /** The chain this desktop signs for: never taken from the coordinator. */
  chainId: number;
  updateUrl: string | null;
  managed: Array<'coordinatorUrl' | 'idleLockMinutes' | 'signerPublicKey' | 'updateUrl'>;
}

export interface AppState {
  settings: Settings;
  /** Who is signed in, or null. */
  user: { id: string; username: string; roles: Role[] } | null;
  /** Set when the idle lock or the user locked the app: sign in again as this user to go on. */
  lockedFor: string | null;
  device: {
    /**
     * none: not enrolled; setting_up: the one-time setup runs; setup_needed: enrolled but the setup never finished
     * (device.enroll runs it again); then the coordinator's status.
     */
    status: 'none' | 'setting_up' | 'setup_needed' | 'PENDING' | 'APPROVED' | 'REVOKED';
    id: string | null;
    name: string | null;
    /** Ed25519 public key, hex: what the admin compares before approving. */
    publicKey: string | null;
    setupPercent: number | null;
  };
}

export interface Wallet {
  id: string;
  name: string;
  status: 'PENDING_DKG' | 'ACTIVE' | string;
  signerUserId: string;
  dkgWalletId: string;
  address: string | null;
  publicKey: string | null;
  keyGenerated: boolean;
  createdAt: string;
  /** The workstation whose identity key the bank signer accepts for this wallet. */
  deviceId: string | null;
  /** A move of the key to another workstation, waiting for an administrator. */
  pendingMove: WalletMove | null;
  /** Transactions sent from the wallet's address that are none of Tandem's withdrawals: someone else may spend from it. */
  unknownTransactions: number;
  /** This desktop holds the wallet's user share. */
  hasShare: boolean;
  /** The bank signer accepts this workstation for the wallet (it ran the key generation, or the key moved here). */
  onThisWorkstation: boolean;
}

export interface WalletMove {
  id: string;
  toDeviceId: string;
  toDeviceName: string;
  requestedBy: string;
  requestedByName: string;
  requestedAt: string;
}

export interface Deposit {
  txHash: string;
  from: string;
  amountWei: string;
  blockNumber: number;
  confirmations: number;
  confirmed: boolean;
}

export interface Policy {
  walletId: string;
  perWithdrawalLimitWei: string;
  dailyLimitWei: string;
  whitelistOnly: boolean;
  quorum: number;
  updatedBy: string;
  updatedByName: string | null;
  updatedAt: string;
}

export type WithdrawalState =
  | 'pending_approval'
  | 'approved'
  | 'signing'
  | 'signed'
  | 'broadcast'
  | 'confirmed'
  | 'rejected'
  | 'cancelled'
  | 'expired'
  | 'failed';

export interface Withdrawal {
  id: string;
  walletId: string;
  to: string;
  toName: string | null;
  amountWei: string;
  note: string | null;
  state: WithdrawalState;
  version: number;
  createdBy: string;
  approvals: Array<{ userId: string; username?: string; at?: string }>;
  nonce: number | null;
  txHash: string | null;
  blockNumber: number | null;
  failure: string | null;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
}

/** What the desktop decoded and hashed itself from prepare-signing's transaction (review.ts). */
export interface SigningReview {
  withdrawalId: string;
  walletId: string;
  walletName: string;
  to: string;
  /** The address-book name of the recipient, or null: the screen then warns "new address". */
  toName: string | null;
  valueWei: string;
  chainId: number;
  nonce: number;
  gas: string;
  maxFeePerGasWei: string;
  maxPriorityFeePerGasWei: string;
  maxFeeWei: string;
  /** The desktop's own digest, 0x-prefixed: the value the signature is over. */
  digest: string;
}

export interface AddressBookEntry {
  id: string;
  name: string;
  address: string;
  status: 'PENDING' | 'APPROVED' | 'REJECTED' | string;
  createdBy: string;
  approvals: Array<{ userId: string; at: string }>;
  quorum: number;
  createdAt: string;
}

export interface User {
  id: string;
  username: string;
  roles: Role[];
  disabled?: boolean;
}

export interface Device {
  id: string;
  userId: string;
  name: string;
  publicKey: string;
  status: 'PENDING' | 'APPROVED' | 'REVOKED' | string;
  createdAt: string;
}

export interface Activity {
  at: string;
  action: string;
  subject: string;
  details: Record<string, string | number | boolean | null>;
}

export type NotificationKind =
  | 'approval_needed'
  | 'device_approval_needed'
  | 'wallet_move_approval_needed'
  | 'address_approval_needed'
  | 'signature_needed'
  | 'key_needed'
  | 'withdrawal_confirmed'
  | 'withdrawal_failed'
  | 'setup_failed';
