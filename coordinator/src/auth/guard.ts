// Who is calling: the bearer token on each request becomes request.user (id, username, current
// roles, token hash), and routes state the roles they need. The WSS upgrade has no Fastify
// request, so it calls userFromToken with the token it was given.

import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { type Role } from './roles.ts';
import { TokenRepo } from './tokens.ts';

export interface AuthenticatedUser {
  id: string;
  username: string;
  roles: readonly Role[];
  /** SHA-256 of the bearer token, hex: names this session in tokensRevoked and in the WSS hub. */
  tokenHash: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authenticate hook; null on routes that do not use it. */
    user: AuthenticatedUser | null;
  }
}

export async function userFromToken(
  ctx: Pick<CoordinatorContext, 'store' | 'now'>,
  token: string,
): Promise<AuthenticatedUser> {
  const { user, tokenHash } = await new TokenRepo(ctx.store).verify(token, ctx.now());
  return { id: user.id, username: user.username, roles: user.roles, tokenHash };
}

const BEARER = /^Bearer ([^\s]+)$/;

/** onRequest hook: `Authorization: Bearer <token>` or UNAUTHENTICATED / TOKEN_EXPIRED. */
export function authenticate(ctx: Pick<CoordinatorContext, 'store' | 'now'>) {
  return async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    // RFC 6750: a 401 says which scheme it wants.
    void reply.header('www-authenticate', 'Bearer');
    const header = req.headers.authorization;
    if (header === undefined) throw new ApiError('UNAUTHENTICATED', 'sign in first (no bearer token)');
    const m = BEARER.exec(header);
    if (!m?.[1]) throw new ApiError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
    req.user = await userFromToken(ctx, m[1]);
    reply.removeHeader('www-authenticate');
  };
}

/** onRequest hook after authenticate: the user must hold any one of these roles. */
export function requireRole(...roles: Role[]) {
  return async function requireRole(req: FastifyRequest): Promise<void> {
    const user = signedInUser(req);
    if (!roles.some((r) => user.roles.includes(r)))
      throw new ApiError('ROLE_REQUIRED', `this needs the ${roles.join(' or ')} role`, { required: roles.join(',') });
  };
}

/** request.user on a route guarded by authenticate (a missing guard is a bug, reported as such). */
export function signedInUser(req: FastifyRequest): AuthenticatedUser {
  if (!req.user) throw new Error('route uses request.user without the authenticate hook');
  return req.user;
}
