// Users: who may sign in, with which roles. The only code that reads or writes the users table.
// Usernames are unique without regard to ASCII case (the column is COLLATE NOCASE).

import { randomUUID } from 'node:crypto';
import { isConstraint, type Store } from '../db/store.ts';
import { ApiError } from '../errors.ts';
import { type Role, canonicalRoles, isRole } from './roles.ts';

export interface User {
  id: string;
  username: string;
  roles: Role[];
  disabled: boolean;
  failedLogins: number;
  lockedUntilMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

/** The consecutive-failure counter and lock of one account (see lockout.ts for the rules). */
export interface LoginAttempts {
  failures: number;
  lockedUntilMs: number | null;
}

/** A users row as stored (tokens.ts reads it joined to the token, in one statement). */
export interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  roles: string;
  disabled: number;
  failed_logins: number;
  locked_until_ms: number | null;
  created_at_ms: number;
  updated_at_ms: number;
}

function parseRoles(json: string): Role[] {
  const v: unknown = JSON.parse(json);
  if (!Array.isArray(v) || !v.every(isRole)) throw new Error('users.roles is not a JSON array of roles');
  return v;
}

export const toUser = (r: UserRow): User => ({
  id: r.id,
  username: r.username,
  roles: parseRoles(r.roles),
  disabled: r.disabled !== 0,
  failedLogins: r.failed_logins,
  lockedUntilMs: r.locked_until_ms,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
});

export class UserRepo {
  constructor(private readonly store: Store) {}

  async create(input: { username: string; passwordHash: string; roles: Role[] }, nowMs: number): Promise<User> {
    const id = randomUUID();
    try {
      await this.store.run(
        `INSERT INTO users (id, username, password_hash, roles, created_at_ms, updated_at_ms)
         VALUES (?, ?, ?, ?, ?, ?)`,
        id,
        input.username,
        input.passwordHash,
        JSON.stringify(canonicalRoles(input.roles)),
        nowMs,
        nowMs,
      );
    } catch (e) {
      if (isConstraint(e, 'unique')) throw new ApiError('USERNAME_TAKEN', 'this username is already taken');
      throw e;
    }
    return this.require(id);
  }

  async get(id: string): Promise<User | undefined> {
    const r = await this.store.get<UserRow>('SELECT * FROM users WHERE id = ?', id);
    return r && toUser(r);
  }

  async require(id: string): Promise<User> {
    const u = await this.get(id);
    if (!u) throw new ApiError('USER_NOT_FOUND', 'no such user');
    return u;
  }

  async findByUsername(username: string): Promise<User | undefined> {
    return (await this.findCredentials(username))?.user;
  }

  /** The user and their stored password hash: for login only. */
  async findCredentials(username: string): Promise<{ user: User; passwordHash: string } | undefined> {
    const r = await this.store.get<UserRow>('SELECT * FROM users WHERE username = ?', username);
    return r && { user: toUser(r), passwordHash: r.password_hash };
  }

  async list(): Promise<User[]> {
    return (await this.store.all<UserRow>('SELECT * FROM users ORDER BY created_at_ms, username')).map(toUser);
  }

  async setRoles(id: string, roles: Role[], nowMs: number): Promise<User> {
    await this.update(id, 'roles = ?', JSON.stringify(canonicalRoles(roles)), nowMs);
    return this.require(id);
  }

  async setDisabled(id: string, disabled: boolean, nowMs: number): Promise<User> {
    await this.update(id, 'disabled = ?', disabled ? 1 : 0, nowMs);
    return this.require(id);
  }

  async setPasswordHash(id: string, passwordHash: string, nowMs: number): Promise<void> {
    await this.update(id, 'password_hash = ?', passwordHash, nowMs);
  }

  /**
   * Enabled users holding the admin role: never allowed to reach zero. The roles are read here
   * rather than matched in SQL, so no database's JSON functions are needed.
   */
  async countActiveAdmins(): Promise<number> {
    const rows = await this.store.all<Pick<UserRow, 'roles'>>('SELECT roles FROM users WHERE disabled = 0');
    return rows.filter((r) => parseRoles(r.roles).includes('admin')).length;
  }

  /**
   * Reads and rewrites an account's attempt counter in one transaction, so concurrent logins (or
   * the admin CLI on another connection) cannot both read the same count.
   */
  async updateLoginAttempts<T>(id: string, step: (a: LoginAttempts) => { next: LoginAttempts; result: T }): Promise<T> {
    return this.store.transaction(async () => {
      const r = await this.store.get<Pick<UserRow, 'failed_logins' | 'locked_until_ms'>>(
        'SELECT failed_logins, locked_until_ms FROM users WHERE id = ?',
        id,
      );
      if (!r) throw new ApiError('USER_NOT_FOUND', 'no such user');
      const { next, result } = step({ failures: r.failed_logins, lockedUntilMs: r.locked_until_ms });
      await this.store.run(
        'UPDATE users SET failed_logins = ?, locked_until_ms = ? WHERE id = ?',
        next.failures,
        next.lockedUntilMs,
        id,
      );
      return result;
    });
  }

  private async update(id: string, assignment: string, value: string | number, nowMs: number): Promise<void> {
    const changes = await this.store.run(
      `UPDATE users SET ${assignment}, updated_at_ms = ? WHERE id = ?`,
      value,
      nowMs,
      id,
    );
    if (changes !== 1) throw new ApiError('USER_NOT_FOUND', 'no such user');
  }
}
