// How users appear in API responses: never the password hash, times as ISO 8601.

import { type AuthenticatedUser } from './guard.ts';
import { type User } from './users.ts';

export const iso = (ms: number): string => new Date(ms).toISOString();

/** What a user sees of themselves (login, /me). */
export const selfView = (u: Pick<User | AuthenticatedUser, 'id' | 'username' | 'roles'>) => ({
  id: u.id,
  username: u.username,
  roles: [...u.roles],
});

/** What an admin sees of any user. */
export const userView = (u: User, nowMs: number) => ({
  ...selfView(u),
  disabled: u.disabled,
  lockedUntil: u.lockedUntilMs !== null && u.lockedUntilMs > nowMs ? iso(u.lockedUntilMs) : null,
  createdAt: iso(u.createdAtMs),
  updatedAt: iso(u.updatedAtMs),
});
