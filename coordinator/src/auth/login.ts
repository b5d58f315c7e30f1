// Signing in with a username and password. Every failure looks the same from outside
// (LOGIN_FAILED, after the same scrypt work), whether the username exists, the password is wrong
// or the account is disabled; only the audit log records which it was.

import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { accountAttempts, unknownUserAttempts } from './lockout.ts';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import { TokenRepo } from './tokens.ts';
import { type User, UserRepo } from './users.ts';

export interface LoginResult {
  token: string;
  tokenHash: string;
  expiresAtMs: number;
  user: User;
}

const count = (ctx: CoordinatorContext, outcome: string) =>
  ctx.metrics.inc('coordinator_logins_total', 'Login attempts by outcome', { outcome });

export async function login(
  ctx: CoordinatorContext,
  username: string,
  password: string,
  from: { ip: string },
): Promise<LoginResult> {
  const users = new UserRepo(ctx.store);
  const found = await users.findCredentials(username);
  const attempts = found ? accountAttempts(ctx.store, found.user.id) : unknownUserAttempts(ctx.store, username);
  const actor = found?.user.id ?? 'anonymous';
  const subject = found?.user.id ?? '';

  const gate = await attempts.start(ctx.now());
  if (!gate.allowed) {
    await ctx.audit.append(actor, 'auth.login_failed', subject, { username, reason: 'locked', ip: from.ip });
    count(ctx, 'locked');
    throw new ApiError('ACCOUNT_LOCKED', 'too many failed sign-ins: try again later', {
      retryAfterSeconds: Math.ceil(gate.retryAfterMs / 1000),
    });
  }

  const passwordOk = await verifyPassword(password, found?.passwordHash ?? (await dummyPasswordHash()));
  if (!found || !passwordOk || found.user.disabled) {
    const reason = !found ? 'unknown_user' : !passwordOk ? 'wrong_password' : 'disabled';
    const lockedNow = await attempts.fail(ctx.now());
    await ctx.audit.append(actor, 'auth.login_failed', subject, { username, reason, locked: lockedNow, ip: from.ip });
    count(ctx, reason);
    throw new ApiError('LOGIN_FAILED', 'wrong username or password');
  }

  const user = found.user;
  // A hash made with older parameters is replaced now, while the password is at hand (hashed
  // before the transaction: nothing slow runs inside one).
  const fresh = needsRehash(found.passwordHash) ? await hashPassword(password) : undefined;
  const nowMs = ctx.now();
  const issued = await ctx.store.transaction(async () => {
    await attempts.succeed();
    if (fresh) await users.setPasswordHash(user.id, fresh, nowMs);
    const t = await new TokenRepo(ctx.store).issue(user.id, nowMs, ctx.config.tokenTtlMs);
    await ctx.audit.append(user.id, 'auth.login', user.id, { username: user.username, ip: from.ip });
    return t;
  });
  count(ctx, 'ok');
  return { ...issued, user: await users.require(user.id) };
}
