// Withdrawal routes: request (initiator), list and read (anyone signed in), approve / reject
// (approver), edit and cancel (the initiator; an admin may cancel), and prepare-signing (the
// wallet's signer), which returns the exact transaction the desktop will show and hash itself.

import { type FastifyInstance } from 'fastify';
import { txDigest, txToJson } from '@tandem/tecdsa/txDigest';
import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { authenticate, requireRole, signedInUser } from '../auth/guard.ts';
import { AddressBook } from '../addressBook/repo.ts';
import { type Withdrawal } from './repo.ts';
import { type WithdrawalService } from './service.ts';

const WEI = { type: 'string', pattern: '^(0|[1-9][0-9]{0,77})$' } as const;
const ADDRESS = { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' } as const;
const NOTE = { type: 'string', maxLength: 500 } as const;
const idParam = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export function registerWithdrawalRoutes(
  app: FastifyInstance,
  ctx: CoordinatorContext,
  service: WithdrawalService,
): void {
  const auth = authenticate(ctx);
  const book = new AddressBook(ctx.store);
  const view = async (w: Withdrawal) => ({
    id: w.id,
    walletId: w.walletId,
    to: w.toAddress,
    toName: (await book.nameOf(w.toAddress)) ?? null,
    amountWei: w.amountWei.toString(),
    note: w.note,
    state: w.state,
    version: w.version,
    createdBy: w.createdBy,
    approvals: await service.repo.approvals(w.id, w.version),
    nonce: w.nonce,
    txHash: w.txHash,
    rawTransaction: w.rawSigned,
    blockNumber: w.blockNumber,
    failure: w.failure,
    createdAt: new Date(w.createdAtMs).toISOString(),
    updatedAt: new Date(w.updatedAtMs).toISOString(),
    expiresAt: new Date(w.expiresAtMs).toISOString(),
  });
  const wei = (s: string) => BigInt(s);

  app.post<{ Body: { walletId: string; to: string; amountWei: string; note?: string } }>(
    '/api/v1/withdrawals',
    {
      onRequest: [auth, requireRole('initiator')],
      schema: {
        body: {
          type: 'object',
          required: ['walletId', 'to', 'amountWei'],
          additionalProperties: false,
          properties: {
            walletId: { type: 'string', minLength: 1, maxLength: 64 },
            to: ADDRESS,
            amountWei: WEI,
            note: NOTE,
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const w = await service.request(signedInUser(req), {
        walletId: b.walletId,
        to: b.to,
        amountWei: wei(b.amountWei),
        note: b.note ?? '',
      });
      return reply.status(201).send(await view(w));
    },
  );

  app.get<{ Querystring: { walletId?: string; state?: string } }>(
    '/api/v1/withdrawals',
    {
      onRequest: [auth],
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { walletId: { type: 'string', maxLength: 64 }, state: { type: 'string', maxLength: 32 } },
        },
      },
    },
    async (req) => ({
      withdrawals: await Promise.all(
        (
          await service.repo.list({
            walletId: req.query.walletId,
            state: req.query.state as Withdrawal['state'] | undefined,
          })
        ).map(view),
      ),
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/withdrawals/:id',
    { onRequest: [auth], schema: { params: idParam } },
    async (req) => view(await service.repo.require(req.params.id)),
  );

  for (const decision of ['approve', 'reject'] as const)
    app.post<{ Params: { id: string } }>(
      `/api/v1/withdrawals/:id/${decision}`,
      { onRequest: [auth, requireRole('approver')], schema: { params: idParam } },
      async (req) => view(await service.approve(signedInUser(req), req.params.id, decision)),
    );

  app.patch<{ Params: { id: string }; Body: { to?: string; amountWei?: string; note?: string } }>(
    '/api/v1/withdrawals/:id',
    {
      onRequest: [auth, requireRole('initiator')],
      schema: {
        params: idParam,
        body: {
          type: 'object',
          minProperties: 1,
          additionalProperties: false,
          properties: { to: ADDRESS, amountWei: WEI, note: NOTE },
        },
      },
    },
    async (req) => {
      const b = req.body;
      return view(
        await service.edit(signedInUser(req), req.params.id, {
          to: b.to,
          amountWei: b.amountWei === undefined ? undefined : wei(b.amountWei),
          note: b.note,
        }),
      );
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/withdrawals/:id/cancel',
    { onRequest: [auth, requireRole('initiator', 'admin')], schema: { params: idParam } },
    async (req) => view(await service.cancel(signedInUser(req), req.params.id)),
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/withdrawals/:id/prepare-signing',
    { onRequest: [auth, requireRole('signer')], schema: { params: idParam } },
    async (req) => {
      const { withdrawal, tx } = await service.prepareSigning(signedInUser(req), req.params.id);
      if (!withdrawal.txDigest) throw new ApiError('INTERNAL', 'no digest after preparing');
      return {
        withdrawal: await view(withdrawal),
        tx: txToJson(tx),
        // The coordinator's digest, for comparison only: the desktop must compute its own.
        digest: Buffer.from(txDigest(tx)).toString('hex'),
      };
    },
  );
}
