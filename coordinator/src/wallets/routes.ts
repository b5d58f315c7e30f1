// Wallet routes. An admin creates a wallet for a user with the signer role; that user's desktop
// runs the DKG over the WSS endpoint (mpc/); the desktop then confirms its share is stored and
// only then is the wallet ACTIVE with a deposit address.

import { type FastifyInstance } from 'fastify';
import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { authenticate, requireRole, signedInUser } from '../auth/guard.ts';
import { UserRepo } from '../auth/users.ts';
import { type EventHub } from '../events/hub.ts';
import { type Wallet, WalletRepo } from './repo.ts';
import { listDeposits } from '../chain/depositStore.ts';
import { unknownSendCounts } from '../chain/sentTxs.ts';
import { type PendingMoveView, approveMove, pendingMoveViews, rejectMove, requestMove } from './moves.ts';

/** What clients see. The address appears only once both shares are stored. */
export const walletView = (w: Wallet, pendingMove: PendingMoveView | null = null, unknownTransactions = 0) => ({
  id: w.id,
  name: w.name,
  status: w.status,
  signerUserId: w.signerUserId,
  /** The 32-byte walletId the desktop binds into KG-1. */
  dkgWalletId: w.walletIdBytes.toString('hex'),
  address: w.status === 'ACTIVE' ? w.address : null,
  publicKey: w.status === 'ACTIVE' && w.publicKey ? w.publicKey.toString('hex') : null,
  keyGenerated: w.signerConfirmedAtMs !== null,
  /** The workstation (device id) whose identity key the signer accepts for this wallet's key. */
  deviceId: w.deviceId,
  pendingMove,
  /** Transactions sent from the wallet's address that are none of our withdrawals (sentTxs.ts): an alert. */
  unknownTransactions,
  createdAt: new Date(w.createdAtMs).toISOString(),
});

const idParam = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export function registerWalletRoutes(app: FastifyInstance, ctx: CoordinatorContext, hub: EventHub): void {
  const wallets = new WalletRepo(ctx.store);
  const users = new UserRepo(ctx.store);
  const auth = authenticate(ctx);

  app.post<{ Body: { name: string; signerUserId: string } }>(
    '/api/v1/wallets',
    {
      onRequest: [auth, requireRole('admin')],
      schema: {
        body: {
          type: 'object',
          required: ['name', 'signerUserId'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            signerUserId: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
      },
    },
    async (req, reply) => {
      const admin = signedInUser(req);
      // The signer user is checked in the transaction that creates the wallet: a user disabled or
      // stripped of the role meanwhile gets no wallet.
      const w = await ctx.store.transaction(async () => {
        const signer = await users.get(req.body.signerUserId);
        if (!signer || signer.disabled) throw new ApiError('USER_NOT_FOUND', 'no such user');
        if (!signer.roles.includes('signer'))
          throw new ApiError('BAD_REQUEST', 'a wallet is assigned to a user with the signer role', {
            reason: 'not_signer',
          });
        const created = await wallets.create(req.body.name, signer.id, admin.id, ctx.now());
        await ctx.audit.append(admin.username, 'wallet.created', created.id, {
          name: created.name,
          signer: signer.username,
        });
        return created;
      });
      hub.notify([w.signerUserId], { event: 'wallet_awaiting_dkg', walletId: w.id });
      return reply.status(201).send(walletView(w));
    },
  );

  app.get('/api/v1/wallets', { onRequest: [auth] }, async () => {
    const moves = await pendingMoveViews(ctx);
    const unknown = await unknownSendCounts(ctx.store);
    return { wallets: (await wallets.list()).map((w) => walletView(w, moves.get(w.id), unknown.get(w.id))) };
  });

  const view = async (w: Wallet) =>
    walletView(w, (await pendingMoveViews(ctx, w.id)).get(w.id), (await unknownSendCounts(ctx.store, w.id)).get(w.id));

  app.get<{ Params: { id: string } }>(
    '/api/v1/wallets/:id',
    { onRequest: [auth], schema: { params: idParam } },
    async (req) => view(await wallets.require(req.params.id)),
  );

  // Moving the wallet's key to another workstation of its signer (moves.ts): asked by the user
  // from that workstation, approved or refused by another admin.
  const admins = async (except: string) =>
    (await users.list()).filter((u) => !u.disabled && u.roles.includes('admin') && u.id !== except).map((u) => u.id);

  app.post<{ Params: { id: string }; Body: { deviceId: string } }>(
    '/api/v1/wallets/:id/move',
    {
      onRequest: [auth, requireRole('signer')],
      schema: {
        params: idParam,
        body: {
          type: 'object',
          required: ['deviceId'],
          additionalProperties: false,
          properties: { deviceId: { type: 'string', minLength: 1, maxLength: 64 } },
        },
      },
    },
    async (req, reply) => {
      const user = signedInUser(req);
      const m = await requestMove(ctx, user, req.params.id, req.body.deviceId);
      hub.notify(await admins(user.id), { event: 'wallet_move_awaiting_approval', walletId: m.walletId });
      return reply.status(201).send(await view(await wallets.require(m.walletId)));
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/wallets/:id/move/approve',
    { onRequest: [auth, requireRole('admin')], schema: { params: idParam } },
    async (req) => {
      const w = await approveMove(ctx, signedInUser(req), req.params.id);
      hub.notify([w.signerUserId], { event: 'wallet_changed', walletId: w.id, status: w.status });
      return view(w);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/wallets/:id/move/reject',
    { onRequest: [auth], schema: { params: idParam } },
    async (req) => {
      await rejectMove(ctx, signedInUser(req), req.params.id);
      const w = await wallets.require(req.params.id);
      hub.notify([w.signerUserId], { event: 'wallet_changed', walletId: w.id, status: w.status });
      return view(w);
    },
  );

  // Incoming transfers with their confirmations, and the balance the node reports.
  app.get<{ Params: { id: string } }>(
    '/api/v1/wallets/:id/deposits',
    { onRequest: [auth], schema: { params: idParam } },
    async (req) => {
      const w = await wallets.require(req.params.id);
      if (w.status !== 'ACTIVE' || !w.address) return { deposits: [], balanceWei: '0' };
      const head = await ctx.chain.blockNumber();
      return {
        deposits: await listDeposits(ctx.store, w.id, head, ctx.config.chain.confirmations),
        balanceWei: (await ctx.chain.balance(w.address as `0x${string}`)).toString(),
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { address: string } }>(
    '/api/v1/wallets/:id/share-stored',
    {
      onRequest: [auth, requireRole('signer')],
      schema: {
        params: idParam,
        body: {
          type: 'object',
          required: ['address'],
          additionalProperties: false,
          properties: { address: { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' } },
        },
      },
    },
    async (req) => {
      const user = signedInUser(req);
      // The checks read the wallet in the transaction that activates it.
      const active = await ctx.store.transaction(async () => {
        const w = await wallets.require(req.params.id);
        if (w.signerUserId !== user.id)
          throw new ApiError('FORBIDDEN', "this wallet's key share belongs to another user");
        // The desktop derives the address from its own share; a different one means the two
        // sides do not hold the same key, and the wallet must never become usable.
        if (!w.address || w.address.toLowerCase() !== req.body.address.toLowerCase())
          throw new ApiError('INVALID_STATE', "the desktop's address differs from the signer's", {
            reason: 'address_mismatch',
          });
        const a = await wallets.confirmDesktop(w.id, ctx.now());
        await ctx.audit.append(user.username, 'wallet.activated', w.id, { address: a.address });
        return a;
      });
      hub.notify([active.signerUserId, active.createdBy], {
        event: 'wallet_changed',
        walletId: active.id,
        status: active.status,
      });
      return walletView(active);
    },
  );
}
