// Moving a wallet's key to another workstation of its signer user. The bank signer binds each
// keyset to the identity key of the device that ran its DKG, so a key share restored from its
// backup on a new workstation cannot sign until the keyset is moved there. The user asks from the
// new (approved) workstation; another admin approves; only then does the coordinator issue a
// rebind permit and the signer move the keyset. Every step is audited.
//
// A move never leaves things half-done: the wallet's device changes only after the signer
// confirmed, and a failed signer call leaves the move PENDING so the admin can simply approve
// again (the signer answers a move already made with success).

import { randomUUID } from 'node:crypto';
import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { type AuthenticatedUser } from '../auth/guard.ts';
import { DeviceRepo } from '../devices/repo.ts';
import { issueRebindPermit, loadPermitKey } from '../permits/issuer.ts';
import { SignerCallError } from '../signer/signerClient.ts';
import { type Wallet, WalletRepo } from './repo.ts';

export type MoveStatus = 'PENDING' | 'DONE' | 'REJECTED';

export interface WalletMove {
  id: string;
  walletId: string;
  fromDeviceId: string | null;
  toDeviceId: string;
  requestedBy: string;
  status: MoveStatus;
  decidedBy: string | null;
  createdAtMs: number;
  updatedAtMs: number;
}

interface Row {
  id: string;
  wallet_id: string;
  from_device_id: string | null;
  to_device_id: string;
  requested_by: string;
  status: MoveStatus;
  decided_by: string | null;
  created_at_ms: number;
  updated_at_ms: number;
}

const toMove = (r: Row): WalletMove => ({
  id: r.id,
  walletId: r.wallet_id,
  fromDeviceId: r.from_device_id,
  toDeviceId: r.to_device_id,
  requestedBy: r.requested_by,
  status: r.status,
  decidedBy: r.decided_by,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
});

type Deps = Pick<CoordinatorContext, 'store' | 'audit' | 'now' | 'signer' | 'config' | 'log'>;

export async function pendingMoveOf(
  ctx: Pick<CoordinatorContext, 'store'>,
  walletId: string,
): Promise<WalletMove | undefined> {
  const r = await ctx.store.get<Row>("SELECT * FROM wallet_moves WHERE wallet_id = ? AND status = 'PENDING'", walletId);
  return r && toMove(r);
}

/** What clients see of a wallet's pending move: admins approve it from this. */
export interface PendingMoveView {
  id: string;
  toDeviceId: string;
  toDeviceName: string;
  requestedBy: string;
  requestedByName: string;
  requestedAt: string;
}

/** Every pending move, by wallet id (one query for a wallet list). */
export async function pendingMoveViews(
  ctx: Pick<CoordinatorContext, 'store'>,
  walletId?: string,
): Promise<Map<string, PendingMoveView>> {
  const rows = await ctx.store.all<{
    id: string;
    wallet_id: string;
    to_device_id: string;
    device_name: string;
    requested_by: string;
    username: string;
    created_at_ms: number;
  }>(
    `SELECT m.id, m.wallet_id, m.to_device_id, d.name AS device_name, m.requested_by, u.username, m.created_at_ms
     FROM wallet_moves m JOIN devices d ON d.id = m.to_device_id JOIN users u ON u.id = m.requested_by
     WHERE m.status = 'PENDING'${walletId === undefined ? '' : ' AND m.wallet_id = ?'}`,
    ...(walletId === undefined ? [] : [walletId]),
  );
  return new Map(
    rows.map((r) => [
      r.wallet_id,
      {
        id: r.id,
        toDeviceId: r.to_device_id,
        toDeviceName: r.device_name,
        requestedBy: r.requested_by,
        requestedByName: r.username,
        requestedAt: new Date(r.created_at_ms).toISOString(),
      },
    ]),
  );
}

async function requirePending(ctx: Deps, walletId: string): Promise<WalletMove> {
  const m = await pendingMoveOf(ctx, walletId);
  if (!m) throw new ApiError('INVALID_STATE', 'this wallet has no move waiting for approval', { reason: 'no_move' });
  return m;
}

/** The wallet's signer user asks to move its key to one of their approved workstations. */
export function requestMove(
  ctx: Deps,
  user: AuthenticatedUser,
  walletId: string,
  deviceId: string,
): Promise<WalletMove> {
  return ctx.store.transaction(async () => {
    const w = await new WalletRepo(ctx.store).require(walletId);
    if (w.signerUserId !== user.id) throw new ApiError('FORBIDDEN', "this wallet's key belongs to another user");
    if (w.status !== 'ACTIVE')
      throw new ApiError('INVALID_STATE', 'only an active wallet can be moved', { status: w.status });
    const d = await new DeviceRepo(ctx.store).get(deviceId);
    if (!d || d.userId !== user.id) throw new ApiError('NOT_FOUND', 'no such device');
    if (d.status !== 'APPROVED')
      throw new ApiError('DEVICE_NOT_APPROVED', 'this workstation is not approved by an administrator yet');
    if (w.deviceId === d.id)
      throw new ApiError('INVALID_STATE', "the wallet's key is already on this workstation", { reason: 'same_device' });
    if (await pendingMoveOf(ctx, w.id))
      throw new ApiError('CONFLICT', 'a move of this wallet is already waiting for approval', {
        reason: 'move_pending',
      });
    const now = ctx.now();
    const id = randomUUID();
    await ctx.store.run(
      `INSERT INTO wallet_moves (id, wallet_id, from_device_id, to_device_id, requested_by, status, created_at_ms, updated_at_ms)
       VALUES (?, ?, ?, ?, ?, 'PENDING', ?, ?)`,
      id,
      w.id,
      w.deviceId,
      d.id,
      user.id,
      now,
      now,
    );
    await ctx.audit.append(user.username, 'wallet.move_requested', w.id, { move: id, from: w.deviceId, to: d.id });
    return requirePending(ctx, w.id);
  });
}

/**
 * An admin other than the requester approves: the signer moves the keyset under a rebind permit,
 * then the wallet records its new workstation. The signer is called between two transactions,
 * never inside one.
 */
export async function approveMove(ctx: Deps, admin: AuthenticatedUser, walletId: string): Promise<Wallet> {
  const wallets = new WalletRepo(ctx.store);
  const { move, wallet, devicePublicKey } = await ctx.store.transaction(async () => {
    const m = await requirePending(ctx, walletId);
    if (m.requestedBy === admin.id) throw new ApiError('SELF_APPROVAL', 'another admin must approve your own request');
    const w = await wallets.require(walletId);
    if (w.status !== 'ACTIVE')
      throw new ApiError('INVALID_STATE', 'only an active wallet can be moved', { status: w.status });
    // The workstation may have been revoked since the request: a move to it is refused then.
    const d = await new DeviceRepo(ctx.store).require(m.toDeviceId);
    if (d.status !== 'APPROVED' || d.userId !== w.signerUserId)
      throw new ApiError('INVALID_STATE', 'the workstation this move is for is no longer approved', {
        reason: 'device_not_approved',
      });
    return { move: m, wallet: w, devicePublicKey: d.publicKey };
  });

  // Read each time so a rotated permit key is picked up; a move is rare.
  const permit = issueRebindPermit(
    loadPermitKey(ctx.config.permitKeyFile),
    { keysetId: wallet.keysetId, devicePublicKey },
    ctx.now(),
    ctx.config.permitTtlMs,
  );
  await ctx.audit.append(admin.username, 'wallet.move_approved', wallet.id, { move: move.id, permit: permit.permitId });
  try {
    await ctx.signer.rebindDevice(wallet.keysetId, permit);
  } catch (e) {
    const code = e instanceof SignerCallError ? e.code : 'INTERNAL';
    await ctx.audit.append(admin.username, 'wallet.move_failed', wallet.id, { move: move.id, code });
    ctx.log.warn({ wallet: wallet.id, move: move.id, code }, 'the signer did not move the keyset');
    if (e instanceof SignerCallError && (e.code === 'SIGNER_UNAVAILABLE' || e.code === 'SIGNER_TIMEOUT'))
      throw new ApiError('SIGNER_UNAVAILABLE', 'the bank signer could not be reached: approve the move again later');
    throw new ApiError('SIGNER_REFUSED', 'the bank signer refused to move this key', { code });
  }
  return ctx.store.transaction(async () => {
    const now = ctx.now();
    await ctx.store.run(
      "UPDATE wallet_moves SET status = 'DONE', decided_by = ?, updated_at_ms = ? WHERE id = ?",
      admin.id,
      now,
      move.id,
    );
    await ctx.store.run(
      'UPDATE wallets SET device_id = ?, updated_at_ms = ? WHERE id = ?',
      move.toDeviceId,
      now,
      wallet.id,
    );
    await ctx.audit.append(admin.username, 'wallet.moved', wallet.id, { move: move.id, to: move.toDeviceId });
    return wallets.require(wallet.id);
  });
}

/** An admin refuses the move, or the requester withdraws it. */
export function rejectMove(ctx: Deps, user: AuthenticatedUser, walletId: string): Promise<WalletMove> {
  return ctx.store.transaction(async () => {
    const m = await requirePending(ctx, walletId);
    if (!user.roles.includes('admin') && m.requestedBy !== user.id)
      throw new ApiError('FORBIDDEN', 'only an admin or the requester can refuse this move');
    await ctx.store.run(
      "UPDATE wallet_moves SET status = 'REJECTED', decided_by = ?, updated_at_ms = ? WHERE id = ?",
      user.id,
      ctx.now(),
      m.id,
    );
    await ctx.audit.append(user.username, 'wallet.move_rejected', walletId, { move: m.id });
    return { ...m, status: 'REJECTED' as const, decidedBy: user.id };
  });
}
