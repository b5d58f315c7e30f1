// What the auth module tells the rest of the coordinator. The WSS module subscribes to
// tokensRevoked and closes the sockets opened with those tokens, so a logout, a revocation, a
// disabled account or a role change takes effect on live connections too, not only on new requests.
//
// One emitter per store: everything built on the same context (and any copy of it that shares its
// store) sees the same events, and separate test contexts never hear each other.

import { EventEmitter } from 'node:events';
import { type Store } from '../db/store.ts';
import { type CoordinatorContext } from '../context.ts';

export interface TokensRevoked {
  userId: string;
  /** SHA-256 of each revoked token, hex (the same value as request.user.tokenHash). */
  tokenHashes: string[];
}

export interface AuthEventMap {
  tokensRevoked: [TokensRevoked];
}

export class AuthEvents extends EventEmitter<AuthEventMap> {}

const emitters = new WeakMap<Store, AuthEvents>();

export function authEvents(ctx: Pick<CoordinatorContext, 'store'>): AuthEvents {
  let e = emitters.get(ctx.store);
  if (!e) emitters.set(ctx.store, (e = new AuthEvents()));
  return e;
}

/**
 * Called after the revocation has committed. A failing listener is logged, not thrown: the tokens
 * are revoked in the database either way, and the caller's request must not fail because of it.
 */
export function announceTokensRevoked(
  ctx: Pick<CoordinatorContext, 'store' | 'log'>,
  userId: string,
  tokenHashes: string[],
): void {
  if (tokenHashes.length === 0) return;
  try {
    authEvents(ctx).emit('tokensRevoked', { userId, tokenHashes });
  } catch (err) {
    ctx.log.error({ err, userId }, 'a tokensRevoked listener failed');
  }
}
