// The auth routes: sign in, sign out, who am I; then the admin's user management (userRoutes.ts).
// The server and the test harness both call registerAuthRoutes, so they serve the same thing.

import { type FastifyInstance } from 'fastify';
import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { logout } from './accounts.ts';
import { authenticate, signedInUser } from './guard.ts';
import { login } from './login.ts';
import { loginBodySchema } from './schemas.ts';
import { registerUserRoutes } from './userRoutes.ts';
import { iso, selfView } from './views.ts';

export function registerAuthRoutes(app: FastifyInstance, ctx: CoordinatorContext): void {
  // request.user exists on every request (null until authenticate runs), so its shape never changes.
  if (!app.hasRequestDecorator('user')) app.decorateRequest('user', null);
  const signedIn = authenticate(ctx);

  app.post<{ Body: { username: string; password: string } }>(
    '/api/v1/auth/login',
    { schema: { body: loginBodySchema } },
    async (req, reply) => {
      try {
        const r = await login(ctx, req.body.username, req.body.password, { ip: req.ip });
        return { token: r.token, expiresAt: iso(r.expiresAtMs), user: selfView(r.user) };
      } catch (e) {
        if (e instanceof ApiError && e.code === 'ACCOUNT_LOCKED')
          void reply.header('retry-after', String(e.details.retryAfterSeconds));
        throw e;
      }
    },
  );

  app.post('/api/v1/auth/logout', { onRequest: signedIn }, async (req, reply) => {
    const user = signedInUser(req);
    await logout(ctx, user.id, user.tokenHash);
    return reply.status(204).send();
  });

  app.get('/api/v1/me', { onRequest: signedIn }, async (req) => ({ user: selfView(signedInUser(req)) }));

  // The user's own actions, newest first: entries are written under the username or the user id.
  app.get('/api/v1/me/activity', { onRequest: signedIn }, async (req) => {
    const u = signedInUser(req);
    return {
      entries: (await ctx.audit.byActors([u.username, u.id], 200)).map((e) => ({
        at: iso(e.atMs),
        action: e.action,
        subject: e.subject,
        details: e.details,
      })),
    };
  });

  registerUserRoutes(app, ctx);
}
