// Codes from main and the coordinator, in the words the screens use.

import type { Role, WithdrawalState } from '../../../src/main/views.ts';

export const WITHDRAWAL_STATE: Record<WithdrawalState, string> = {
  pending_approval: 'Waiting for approval',
  approved: 'Approved',
  signing: 'Signing',
  signed: 'Signed',
  broadcast: 'Sent',
  confirmed: 'Confirmed',
  rejected: 'Rejected',
  cancelled: 'Cancelled',
  expired: 'Expired',
  failed: 'Failed',
};

/** Badge colour groups: what needs someone, what is moving, what ended well, what ended otherwise. */
export const WITHDRAWAL_TONE: Record<WithdrawalState, Tone> = {
  pending_approval: 'waiting',
  approved: 'waiting',
  signing: 'active',
  signed: 'active',
  broadcast: 'active',
  confirmed: 'good',
  rejected: 'bad',
  cancelled: 'neutral',
  expired: 'neutral',
  failed: 'bad',
};

export type Tone = 'waiting' | 'active' | 'good' | 'bad' | 'neutral';

export function walletStatus(status: string): { text: string; tone: Tone } {
  if (status === 'ACTIVE') return { text: 'Active', tone: 'good' };
  if (status === 'PENDING_DKG') return { text: 'Waiting for its key', tone: 'waiting' };
  return { text: titleCase(status), tone: 'neutral' };
}

/** Address-book entries and devices share PENDING / APPROVED / REJECTED / REVOKED. */
export function reviewStatus(status: string): { text: string; tone: Tone } {
  switch (status) {
    case 'PENDING':
      return { text: 'Waiting for approval', tone: 'waiting' };
    case 'APPROVED':
      return { text: 'Approved', tone: 'good' };
    case 'REJECTED':
      return { text: 'Rejected', tone: 'bad' };
    case 'REVOKED':
      return { text: 'Revoked', tone: 'bad' };
    default:
      return { text: titleCase(status), tone: 'neutral' };
  }
}

export const ROLE_NAME: Record<Role, string> = {
  admin: 'Admin',
  initiator: 'Initiator',
  approver: 'Approver',
  signer: 'Signer',
};

export const ROLES: Role[] = ['admin', 'initiator', 'approver', 'signer'];

const ACTIVITY: Record<string, string> = {
  'auth.login': 'Signed in',
  'auth.login_failed': 'Sign-in failed',
  'auth.logout': 'Signed out',
  'auth.tokens_revoked': 'Sessions ended',
  'user.created': 'User created',
  'user.roles_changed': 'Roles changed',
  'user.disabled': 'User disabled',
  'user.enabled': 'User enabled',
  'device.enrolled': 'Workstation enrolled',
  'device.approved': 'Workstation approved',
  'device.revoked': 'Workstation revoked',
  'wallet.created': 'Wallet created',
  'wallet.dkg_started': 'Key generation started',
  'wallet.key_generated': 'Key generated',
  'wallet.activated': 'Wallet activated',
  'policy.changed': 'Policy changed',
  'address_book.proposed': 'Address proposed',
  'address_book.approved': 'Address approved',
  'address_book.rejected': 'Address rejected',
  'address_book.whitelisted': 'Address added to the address book',
  'withdrawal.requested': 'Withdrawal requested',
  'withdrawal.edited': 'Withdrawal edited',
  'withdrawal.approved': 'Withdrawal approved',
  'withdrawal.rejected': 'Withdrawal rejected',
  'withdrawal.quorum_reached': 'Withdrawal fully approved',
  'withdrawal.cancelled': 'Withdrawal cancelled',
  'withdrawal.expired': 'Withdrawal expired',
  'withdrawal.signing_started': 'Signing started',
  'withdrawal.signing_aborted': 'Signing stopped',
  'withdrawal.signed': 'Withdrawal signed',
  'withdrawal.broadcast': 'Withdrawal sent',
  'withdrawal.confirmed': 'Withdrawal confirmed',
  'withdrawal.failed': 'Withdrawal failed',
  'backup.restored': 'Coordinator restored from backup',
};

/** Unknown actions still read as words: "wallet.key_generated" → "Wallet: key generated". */
export function activityAction(action: string): string {
  const known = ACTIVITY[action];
  if (known) return known;
  const [area = '', what = ''] = action.split('.', 2);
  const words = (s: string) => s.replace(/_/g, ' ');
  return what ? `${titleCase(words(area))}: ${words(what)}` : titleCase(words(area));
}

function titleCase(s: string): string {
  const lower = s.toLowerCase().replace(/_/g, ' ');
  return lower.charAt(0).toUpperCase() + lower.slice(1);
}
