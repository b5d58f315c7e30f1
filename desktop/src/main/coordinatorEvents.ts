// While someone is signed in, main keeps one socket to the coordinator open to hear what awaits them (the
// coordinator pushes event frames on the MPC socket), and turns each into what the renderer reloads and, when the
// user has to act or something they started ended, a notification (in the app, and from the OS in Electron).
// The socket comes back after a drop, with a growing pause; it closes on sign-out.

import { CoordinatorSocket } from '../p2/coordinatorSocket.ts';
import { type EventFrame } from '../p2/frames.ts';
import { mpcUrl } from '../p2/trust.ts';
import { type DesktopSession } from './session.ts';
import type * as Views from './views.ts';

const shortId = (id: string) => id.slice(0, 8);

export class CoordinatorEvents {
  private socket: CoordinatorSocket | undefined;
  private token: string | undefined;
  private retry: NodeJS.Timeout | undefined;
  private pauseMs = 1_000;
  private stopped = false;

  constructor(
    private readonly s: DesktopSession,
    private readonly notify: ((title: string, body: string) => void) | undefined,
  ) {}

  /** Follows the session: connects for a new sign-in, closes on sign-out. */
  sync(): void {
    const user = this.s.state().user;
    const token = user ? this.s.endpoint().token : undefined;
    if (token === this.token) return;
    this.close();
    this.token = token;
    this.stopped = false;
    if (token) void this.connect(token);
  }

  close(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    const sock = this.socket;
    this.socket = undefined;
    this.token = undefined;
    if (sock) void sock.close();
  }

  private async connect(token: string): Promise<void> {
    const ep = this.s.endpoint();
    try {
      const sock = await CoordinatorSocket.connect({
        url: mpcUrl(ep.url),
        token,
        ...(ep.caFile ? { caFile: ep.caFile } : {}),
        onEvent: (f) => {
          if (f.type === 'event') void this.onEvent(f);
        },
        onClose: () => this.again(token),
      });
      if (this.stopped || this.token !== token) return void sock.close();
      this.socket = sock;
      this.pauseMs = 1_000;
    } catch (e) {
      // A token the coordinator no longer takes: one REST call makes the session notice and lock.
      if ((e as { code?: string }).code === 'UNAUTHENTICATED')
        return void this.s.api('GET', '/api/v1/me').catch(() => {});
      this.again(token);
    }
  }

  private again(token: string): void {
    if (this.stopped || this.token !== token || this.retry) return;
    this.socket = undefined;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect(token);
    }, this.pauseMs);
    this.retry.unref();
    this.pauseMs = Math.min(this.pauseMs * 2, 30_000);
  }

  private tell(kind: Views.NotificationKind, title: string, body: string, subject?: string): void {
    this.s.emit({ event: 'notification', kind, title, body, ...(subject ? { subject } : {}) });
    this.notify?.(title, body);
  }

  private async onEvent(f: EventFrame): Promise<void> {
    const id = (k: string) => (typeof f[k] === 'string' ? (f[k] as string) : '');
    switch (f.event) {
      case 'withdrawal_awaiting_approval':
        this.s.emit({ event: 'changed', what: 'withdrawals' });
        return this.tell(
          'approval_needed',
          'Approval needed',
          `Withdrawal ${shortId(id('withdrawalId'))} awaits your approval.`,
          id('withdrawalId'),
        );
      case 'withdrawal_awaiting_signature':
        this.s.emit({ event: 'changed', what: 'withdrawals' });
        return this.tell(
          'signature_needed',
          'Signature needed',
          `Withdrawal ${shortId(id('withdrawalId'))} is approved and awaits your signature.`,
          id('withdrawalId'),
        );
      case 'withdrawal_changed': {
        this.s.emit({ event: 'changed', what: 'withdrawals' });
        const state = id('state');
        if (state !== 'confirmed' && state !== 'failed') return;
        // Only for withdrawals this user started or signs.
        const wid = id('withdrawalId');
        try {
          const w = await this.s.api<Views.Withdrawal>('GET', `/api/v1/withdrawals/${encodeURIComponent(wid)}`);
          const wallet = await this.s.api<Views.Wallet>('GET', `/api/v1/wallets/${encodeURIComponent(w.walletId)}`);
          const me = this.s.user().id;
          if (w.createdBy !== me && wallet.signerUserId !== me) return;
        } catch {
          return;
        }
        return state === 'confirmed'
          ? this.tell(
              'withdrawal_confirmed',
              'Withdrawal confirmed',
              `Withdrawal ${shortId(wid)} is confirmed on the chain.`,
              wid,
            )
          : this.tell(
              'withdrawal_failed',
              'Withdrawal failed',
              `Withdrawal ${shortId(wid)} failed. Open it to see why.`,
              wid,
            );
      }
      case 'wallet_awaiting_dkg':
        this.s.emit({ event: 'changed', what: 'wallets' });
        return this.tell(
          'key_needed',
          'New wallet',
          'A wallet assigned to you needs its key. Open Wallets and choose Generate key.',
          id('walletId'),
        );
      case 'wallet_changed':
        return this.s.emit({ event: 'changed', what: 'wallets' });
      case 'wallet_move_awaiting_approval':
        this.s.emit({ event: 'changed', what: 'wallets' });
        return this.tell(
          'wallet_move_approval_needed',
          'Wallet move awaits approval',
          "A user asks to move a wallet's key to another workstation. Open the wallet to approve or refuse.",
          id('walletId'),
        );
      case 'device_awaiting_approval':
        this.s.emit({ event: 'changed', what: 'devices' });
        return this.tell(
          'device_approval_needed',
          'Workstation awaits approval',
          'A workstation was enrolled and awaits your approval in Administration.',
          id('deviceId'),
        );
      case 'device_changed':
        // This workstation approved or revoked: the app state shows it at once.
        await this.s.refreshDevice().catch(() => {});
        return this.s.emitState();
      case 'address_book_awaiting_approval':
        this.s.emit({ event: 'changed', what: 'addressBook' });
        return this.tell(
          'address_approval_needed',
          'Address awaits approval',
          'A new address-book entry awaits your approval.',
          id('entryId'),
        );
      default:
        return;
    }
  }
}
