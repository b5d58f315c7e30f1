// Users: who may sign in, with which roles. The only code that reads or writes the users table.
// Usernames are unique without regard to ASCII case (the column is COLLATE NOCASE).

import { randomUUID } from 'node:crypto';
import { type Db } from '../db/db.ts';
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

interface Row {
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

const toUser = (r: Row): User => ({
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
  constructor(private readonly db: Db) {}

  create(input: { username: string; passwordHash: string; roles: Role[] }, nowMs: number): User {
    const id = randomUUID();
    try {
      this.db
        .prepare(
          `INSERT INTO users (id, username, password_hash, roles, created_at_ms, updated_at_ms)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(id, input.username, input.passwordHash, JSON.stringify(canonicalRoles(input.roles)), nowMs, nowMs);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new ApiError('USERNAME_TAKEN', 'this username is already taken');
      throw e;
    }
    return this.require(id);
  }

  get(id: string): User | undefined {
    const r = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as Row | undefined;
    return r && toUser(r);
  }

  require(id: string): User {
    const u = this.get(id);
    if (!u) throw new ApiError('USER_NOT_FOUND', 'no such user');
    return u;
  }

  findByUsername(username: string): User | undefined {
    return this.findCredentials(username)?.user;
  }

  /** The user and their stored password hash: for login only. */
  findCredentials(username: string): { user: User; passwordHash: string } | undefined {
    const r = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as Row | undefined;
    return r && { user: toUser(r), passwordHash: r.password_hash };
  }

  list(): User[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY created_at_ms, username').all() as Row[]).map(toUser);
  }

  setRoles(id: string, roles: Role[], nowMs: number): User {
    this.update(id, 'roles = ?', JSON.stringify(canonicalRoles(roles)), nowMs);
    return this.require(id);
  }

  setDisabled(id: string, disabled: boolean, nowMs: number): User {
    this.update(id, 'disabled = ?', disabled ? 1 : 0, nowMs);
    return this.require(id);
  }

  setPasswordHash(id: string, passwordHash: string, nowMs: number): void {
    this.update(id, 'password_hash = ?', passwordHash, nowMs);
  }

  /** Enabled users holding the admin role: never allowed to reach zero. */
  countActiveAdmins(): number {
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS n FROM users u
         WHERE u.disabled = 0 AND EXISTS (SELECT 1 FROM json_each(u.roles) WHERE value = 'admin')`,
      )
      .get() as { n: number };
    return r.n;
  }

  /**
   * Reads and rewrites an account's attempt counter in one IMMEDIATE transaction, so concurrent
   * logins (or the admin CLI on another connection) cannot both read the same count.
   */
  updateLoginAttempts<T>(id: string, step: (a: LoginAttempts) => { next: LoginAttempts; result: T }): T {
    return this.db
      .transaction((): T => {
        const r = this.db.prepare('SELECT failed_logins, locked_until_ms FROM users WHERE id = ?').get(id) as
          Pick<Row, 'failed_logins' | 'locked_until_ms'> | undefined;
        if (!r) throw new ApiError('USER_NOT_FOUND', 'no such user');
        const { next, result } = step({ failures: r.failed_logins, lockedUntilMs: r.locked_until_ms });
        this.db
          .prepare('UPDATE users SET failed_logins = ?, locked_until_ms = ? WHERE id = ?')
          .run(next.failures, next.lockedUntilMs, id);
        return result;
      })
      .immediate();
  }

  private update(id: string, assignment: string, value: string | number, nowMs: number): void {
    const r = this.db.prepare(`UPDATE users SET ${assignment}, updated_at_ms = ? WHERE id = ?`).run(value, nowMs, id);
    if (r.changes !== 1) throw new ApiError('USER_NOT_FOUND', 'no such user');
  }
}
