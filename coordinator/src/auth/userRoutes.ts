// The admin's user management: list, create, change roles or disable, end all sessions.

import { type FastifyInstance } from 'fastify';
import { type CoordinatorContext } from '../context.ts';
import { createAccount, revokeAccountTokens, updateAccount } from './accounts.ts';
import { authenticate, requireRole, signedInUser } from './guard.ts';
import { type Role } from './roles.ts';
import { createUserBodySchema, idParamsSchema, updateUserBodySchema } from './schemas.ts';
import { UserRepo } from './users.ts';
import { userView } from './views.ts';

export function registerUserRoutes(app: FastifyInstance, ctx: CoordinatorContext): void {
  const adminOnly = [authenticate(ctx), requireRole('admin')];

  app.get('/api/v1/users', { onRequest: adminOnly }, async () => ({
    users: (await new UserRepo(ctx.store).list()).map((u) => userView(u, ctx.now())),
  }));

  app.post<{ Body: { username: string; password: string; roles: Role[] } }>(
    '/api/v1/users',
    { onRequest: adminOnly, schema: { body: createUserBodySchema } },
    async (req, reply) => {
      const user = await createAccount(ctx, signedInUser(req).id, req.body);
      return reply.status(201).send({ user: userView(user, ctx.now()) });
    },
  );

  app.patch<{ Params: { id: string }; Body: { roles?: Role[]; disabled?: boolean } }>(
    '/api/v1/users/:id',
    { onRequest: adminOnly, schema: { params: idParamsSchema, body: updateUserBodySchema } },
    async (req) => ({
      user: userView(await updateAccount(ctx, signedInUser(req).id, req.params.id, req.body), ctx.now()),
    }),
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/users/:id/revoke-tokens',
    { onRequest: adminOnly, schema: { params: idParamsSchema } },
    async (req) => ({ revoked: await revokeAccountTokens(ctx, signedInUser(req).id, req.params.id) }),
  );
}
