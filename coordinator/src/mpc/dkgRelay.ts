// Relays a wallet's DKG between the signer user's desktop and the bank signer: KG-1 → StartDKG,
// KG-3 → DKGRound, KG-5 → FinalizeDKG. The coordinator records the signer's key (public key,
// address) when FinalizeDKG succeeds; the wallet becomes ACTIVE only when the desktop then
// confirms over REST that its share is stored (wallets/routes.ts). The signer is called outside
// any database transaction: one holds the database while it runs.

import { type WebSocket } from 'ws';
import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { type AuthenticatedUser } from '../auth/guard.ts';
import { DeviceRepo } from '../devices/repo.ts';
import { WalletRepo } from '../wallets/repo.ts';
import { type MpcMessage } from './messages.ts';
import { type RelaySessions } from './relaySessions.ts';

type Reply = Record<string, unknown>;
const utf8 = (s: string) => Buffer.from(s, 'utf8');
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

export class DkgRelay {
  private readonly wallets: WalletRepo;
  private readonly devices: DeviceRepo;

  constructor(
    private readonly ctx: CoordinatorContext,
    private readonly sessions: RelaySessions,
  ) {
    this.wallets = new WalletRepo(ctx.store);
    this.devices = new DeviceRepo(ctx.store);
  }

  async start(
    socket: WebSocket,
    user: AuthenticatedUser,
    msg: Extract<MpcMessage, { type: 'dkg_start' }>,
  ): Promise<Reply> {
    const w = await this.wallets.require(msg.walletId);
    if (w.signerUserId !== user.id) throw new ApiError('FORBIDDEN', 'this wallet is assigned to another user');
    if (w.status !== 'PENDING_DKG' || w.signerConfirmedAtMs !== null)
      throw new ApiError('INVALID_STATE', 'this wallet already has its key');
    if (this.sessions.forSubject(w.id))
      throw new ApiError('INVALID_STATE', 'a key generation for this wallet is running');
    const device = await this.devices.approvedDeviceOf(user.id);
    if (!device) throw new ApiError('DEVICE_NOT_APPROVED', 'this workstation is not approved by an administrator yet');
    const res = await this.ctx.signer.startDkg({
      keysetId: w.keysetId,
      walletId: w.walletIdBytes,
      devicePublicKey: device.publicKey,
      envelope: utf8(msg.envelope),
    });
    const s = this.sessions.open({
      kind: 'dkg',
      socket,
      userId: user.id,
      username: user.username,
      subject: w.id,
      signerSessionId: res.sessionId,
      onAbort: (reason) => this.ctx.log.warn({ walletId: w.id, reason }, 'key generation abandoned'),
    });
    (s as typeof s & { deviceId: string }).deviceId = device.id;
    await this.ctx.audit.append(user.username, 'wallet.dkg_started', w.id, { device: device.id });
    return { type: 'dkg_round', sessionId: s.id, envelope: text(res.envelope) };
  }

  async round(
    socket: WebSocket,
    user: AuthenticatedUser,
    msg: Extract<MpcMessage, { type: 'dkg_round' }>,
  ): Promise<Reply> {
    const s = this.sessions.get(msg.sessionId);
    if (!s || s.kind !== 'dkg' || s.socket !== socket || s.userId !== user.id)
      throw new ApiError('NOT_FOUND', 'no such key generation session on this connection');
    if (s.busy) throw new ApiError('INVALID_STATE', 'the previous message of this session is still being handled');
    this.sessions.hold(s);
    try {
      if (s.rounds === 0) {
        const kg4 = await this.ctx.signer.dkgRound(s.signerSessionId, utf8(msg.envelope));
        s.rounds++;
        return { type: 'dkg_round', sessionId: s.id, envelope: text(kg4) };
      }
      const res = await this.ctx.signer.finalizeDkg(s.signerSessionId, utf8(msg.envelope));
      const keyset = res.keyset!;
      const deviceId = (s as typeof s & { deviceId: string }).deviceId;
      const w = await this.ctx.store.transaction(async () => {
        const updated = await this.wallets.recordSignerKey(
          s.subject,
          deviceId,
          keyset.publicKey,
          keyset.address,
          this.ctx.now(),
        );
        await this.ctx.audit.append(s.username, 'wallet.key_generated', s.subject, { address: keyset.address });
        return updated;
      });
      this.sessions.finish(s.id);
      return {
        type: 'dkg_complete',
        sessionId: s.id,
        walletId: w.id,
        publicKey: Buffer.from(keyset.publicKey).toString('hex'),
        address: keyset.address,
      };
    } catch (e) {
      this.sessions.abort(s.id, e instanceof Error ? e.name : 'ERROR');
      throw e;
    } finally {
      this.sessions.release(s);
    }
  }
}
