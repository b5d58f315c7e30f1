// Address-book routes: anyone signed in may read the book (the desktop labels destinations with
// it); an initiator or admin proposes an entry; approvers approve or reject it. Each change is
// audited in the transaction that makes it, and connected approvers hear of a new entry.

import { type FastifyInstance } from 'fastify';
import { type CoordinatorContext } from '../context.ts';
import { authenticate, requireRole, signedInUser } from '../auth/guard.ts';
import { idParamsSchema } from '../auth/schemas.ts';
import { UserRepo } from '../auth/users.ts';
import { iso } from '../auth/views.ts';
import { type EventHub } from '../events/hub.ts';
import { type AddressBookEntry, AddressBook } from './repo.ts';

const proposeBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'address'],
  properties: {
    // Shown to approvers and beside every withdrawal to this address: printable, not blank.
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^(?=.*\\S)[^\\x00-\\x1f\\x7f]+$' },
    // The EIP-55 checksum is checked by parseAddress, past what a schema can say.
    address: { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' },
  },
} as const;

export const addressBookEntryView = (e: AddressBookEntry, quorum: number) => ({
  id: e.id,
  name: e.name,
  address: e.address,
  status: e.status,
  createdBy: e.createdBy,
  createdAt: iso(e.createdAtMs),
  updatedAt: iso(e.updatedAtMs),
  approvals: e.approvals.map((a) => ({ userId: a.userId, at: iso(a.atMs) })),
  /** Approvals needed to whitelist (the current setting, for entries still pending). */
  quorum,
});

export function registerAddressBookRoutes(app: FastifyInstance, ctx: CoordinatorContext, hub: EventHub): void {
  const book = new AddressBook(ctx.store);
  const users = new UserRepo(ctx.store);
  const signedIn = authenticate(ctx);
  const quorum = ctx.config.addressBookQuorum;
  const view = (e: AddressBookEntry) => addressBookEntryView(e, quorum);

  app.get('/api/v1/address-book', { onRequest: signedIn }, async () => ({ entries: (await book.list()).map(view) }));

  app.post<{ Body: { name: string; address: string } }>(
    '/api/v1/address-book',
    { onRequest: [signedIn, requireRole('initiator', 'admin')], schema: { body: proposeBodySchema } },
    async (req, reply) => {
      const user = signedInUser(req);
      const entry = await ctx.store.transaction(async () => {
        const e = await book.propose(req.body.name, req.body.address, user.id, ctx.now());
        await ctx.audit.append(user.username, 'address_book.proposed', e.id, { name: e.name, address: e.address });
        return e;
      });
      // Everyone who could approve it, except its proposer (who may hold the approver role too).
      const approvers = (await users.list())
        .filter((u) => !u.disabled && u.roles.includes('approver') && u.id !== user.id)
        .map((u) => u.id);
      hub.notify(approvers, { event: 'address_book_awaiting_approval', entryId: entry.id });
      return reply.status(201).send({ entry: view(entry) });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/address-book/:id/approve',
    { onRequest: [signedIn, requireRole('approver')], schema: { params: idParamsSchema } },
    async (req) => {
      const user = signedInUser(req);
      const entry = await ctx.store.transaction(async () => {
        const { entry: e, whitelisted } = await book.approve(req.params.id, user.id, ctx.now(), quorum);
        await ctx.audit.append(user.username, 'address_book.approved', e.id, {
          address: e.address,
          approvals: e.approvals.length,
          quorum,
        });
        if (whitelisted)
          await ctx.audit.append('coordinator', 'address_book.whitelisted', e.id, { name: e.name, address: e.address });
        return e;
      });
      return { entry: view(entry) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/address-book/:id/reject',
    { onRequest: [signedIn, requireRole('approver')], schema: { params: idParamsSchema } },
    async (req) => {
      const user = signedInUser(req);
      const entry = await ctx.store.transaction(async () => {
        const e = await book.reject(req.params.id, user.id, ctx.now());
        await ctx.audit.append(user.username, 'address_book.rejected', e.id, { name: e.name, address: e.address });
        return e;
      });
      return { entry: view(entry) };
    },
  );
}
