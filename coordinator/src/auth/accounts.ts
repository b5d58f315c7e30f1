// Managing accounts: what an admin (or the admin CLI) may do to users, with the rules that keep
// the installation administrable: the password policy, no admin removing their own admin role or
// disabling themselves, and never zero active admins. Each change is audited in the same
// transaction as the change, and revokes the tokens it makes stale.

import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { announceTokensRevoked } from './events.ts';
import { checkPasswordPolicy, hashPassword } from './passwords.ts';
import { type Role, canonicalRoles, sameRoles } from './roles.ts';
import { TokenRepo } from './tokens.ts';
import { type User, UserRepo } from './users.ts';

type Deps = Pick<CoordinatorContext, 'store' | 'audit' | 'now'>;
type DepsWithLog = Deps & Pick<CoordinatorContext, 'log'>;

/** `actor` is who does it: a user id, or `cli:<os user>` for the admin CLI. */
export async function createAccount(
  ctx: Deps,
  actor: string,
  input: { username: string; password: string; roles: Role[] },
): Promise<User> {
  checkPasswordPolicy(input.password, input.username);
  const users = new UserRepo(ctx.store);
  // Fail fast on a taken name before spending the hash; the UNIQUE index still decides races.
  if (await users.findByUsername(input.username))
    throw new ApiError('USERNAME_TAKEN', 'this username is already taken');
  const passwordHash = await hashPassword(input.password);
  return ctx.store.transaction(async () => {
    const user = await users.create({ username: input.username, passwordHash, roles: input.roles }, ctx.now());
    await ctx.audit.append(actor, 'user.created', user.id, { username: user.username, roles: user.roles.join(',') });
    return user;
  });
}

const isActiveAdmin = (u: User) => !u.disabled && u.roles.includes('admin');

export async function updateAccount(
  ctx: DepsWithLog,
  actorId: string,
  userId: string,
  change: { roles?: Role[]; disabled?: boolean },
): Promise<User> {
  const users = new UserRepo(ctx.store);
  const tokens = new TokenRepo(ctx.store);
  // The user is read, checked and changed in one transaction: two changes to the same user, or
  // two admins demoting each other, are decided one after the other.
  const { user, revoked } = await ctx.store.transaction(async () => {
    const before = await users.require(userId);
    const roles = change.roles && canonicalRoles(change.roles);
    if (userId === actorId && roles && !roles.includes('admin') && before.roles.includes('admin'))
      throw new ApiError('FORBIDDEN', 'you cannot remove your own admin role', { reason: 'own_admin_role' });
    if (userId === actorId && change.disabled === true)
      throw new ApiError('FORBIDDEN', 'you cannot disable your own account', { reason: 'disable_self' });

    const nowMs = ctx.now();
    let after = before;
    const rolesChanged = roles !== undefined && !sameRoles(roles, before.roles);
    const disabledChanged = change.disabled !== undefined && change.disabled !== before.disabled;
    if (rolesChanged) after = await users.setRoles(userId, roles, nowMs);
    if (disabledChanged) after = await users.setDisabled(userId, change.disabled === true, nowMs);
    // Two admins demoting each other at once would otherwise leave nobody to administer.
    if (isActiveAdmin(before) && !isActiveAdmin(after) && (await users.countActiveAdmins()) === 0)
      throw new ApiError('CONFLICT', 'this would leave no active admin', { reason: 'last_admin' });

    // Live tokens carry the old roles into open WSS sessions: a role change or a disabled account
    // ends them all, and the user signs in again.
    const revoked = rolesChanged || (disabledChanged && after.disabled) ? await tokens.revokeAllOf(userId, nowMs) : [];
    if (rolesChanged)
      await ctx.audit.append(actorId, 'user.roles_changed', userId, {
        from: before.roles.join(','),
        to: after.roles.join(','),
        tokensRevoked: revoked.length,
      });
    if (disabledChanged)
      await ctx.audit.append(actorId, after.disabled ? 'user.disabled' : 'user.enabled', userId, {
        ...(after.disabled ? { tokensRevoked: revoked.length } : {}),
      });
    return { user: after, revoked };
  });
  announceTokensRevoked(ctx, userId, revoked);
  return user;
}

/** An admin ends every session of a user (a lost laptop, a suspected leak). */
export async function revokeAccountTokens(ctx: DepsWithLog, actorId: string, userId: string): Promise<number> {
  const revoked = await ctx.store.transaction(async () => {
    await new UserRepo(ctx.store).require(userId);
    const hashes = await new TokenRepo(ctx.store).revokeAllOf(userId, ctx.now());
    await ctx.audit.append(actorId, 'auth.tokens_revoked', userId, { count: hashes.length });
    return hashes;
  });
  announceTokensRevoked(ctx, userId, revoked);
  return revoked.length;
}

/** The user ends the session of the token they are using. */
export async function logout(ctx: DepsWithLog, userId: string, tokenHash: string): Promise<void> {
  const revoked = await ctx.store.transaction(async () => {
    const done = await new TokenRepo(ctx.store).revoke(tokenHash, ctx.now());
    await ctx.audit.append(userId, 'auth.logout', userId, {});
    return done;
  });
  if (revoked) announceTokensRevoked(ctx, userId, [tokenHash]);
}
