// Bearer tokens: `tdm_` + 32 random bytes in base64url. Only their SHA-256 is stored, so a copy
// of the database does not let anyone sign in. The hash (hex) also names a token in events and
// in the WSS hub without exposing it.

import { createHash, randomBytes } from 'node:crypto';
import { type Db } from '../db/db.ts';
import { ApiError } from '../errors.ts';
import { type User, UserRepo } from './users.ts';

export const TOKEN_PREFIX = 'tdm_';
const TOKEN_SHAPE = /^tdm_[A-Za-z0-9_-]{43}$/;

export interface IssuedToken {
  token: string;
  /** SHA-256 of the token, hex. */
  tokenHash: string;
  expiresAtMs: number;
}

export const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export class TokenRepo {
  constructor(private readonly db: Db) {}

  issue(userId: string, nowMs: number, ttlMs: number): IssuedToken {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const hash = hashToken(token);
    const expiresAtMs = nowMs + ttlMs;
    this.db
      .prepare('INSERT INTO auth_tokens (token_hash, user_id, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?)')
      .run(hash, userId, nowMs, expiresAtMs);
    return { token, tokenHash: hash.toString('hex'), expiresAtMs };
  }

  /**
   * The user a token belongs to, as the database says now (current roles). Unknown, revoked, or
   * belonging to a disabled user: UNAUTHENTICATED; past its expiry: TOKEN_EXPIRED (the desktop
   * then asks for the password again).
   */
  verify(token: string, nowMs: number): { user: User; tokenHash: string } {
    if (!TOKEN_SHAPE.test(token)) throw new ApiError('UNAUTHENTICATED', 'this is not a Tandem token');
    const hash = hashToken(token);
    const row = this.db
      .prepare('SELECT user_id, expires_at_ms, revoked_at_ms FROM auth_tokens WHERE token_hash = ?')
      .get(hash) as { user_id: string; expires_at_ms: number; revoked_at_ms: number | null } | undefined;
    if (!row || row.revoked_at_ms !== null) throw new ApiError('UNAUTHENTICATED', 'this token is not valid');
    const user = new UserRepo(this.db).get(row.user_id);
    if (!user || user.disabled) throw new ApiError('UNAUTHENTICATED', 'this token is not valid');
    if (nowMs >= row.expires_at_ms) throw new ApiError('TOKEN_EXPIRED', 'the session has expired: sign in again');
    return { user, tokenHash: hash.toString('hex') };
  }

  /** Revokes one token by its hash (hex). False when it was unknown or already revoked. */
  revoke(tokenHash: string, nowMs: number): boolean {
    const r = this.db
      .prepare('UPDATE auth_tokens SET revoked_at_ms = ? WHERE token_hash = ? AND revoked_at_ms IS NULL')
      .run(nowMs, Buffer.from(tokenHash, 'hex'));
    return r.changes === 1;
  }

  /**
   * Revokes every token of a user that is not revoked yet, expired ones included (a WSS socket
   * opened before expiry may still be up), and returns their hashes (hex) for the tokensRevoked event.
   */
  revokeAllOf(userId: string, nowMs: number): string[] {
    const rows = this.db
      .prepare(
        'UPDATE auth_tokens SET revoked_at_ms = ? WHERE user_id = ? AND revoked_at_ms IS NULL RETURNING token_hash',
      )
      .all(nowMs, userId) as { token_hash: Buffer }[];
    return rows.map((r) => r.token_hash.toString('hex'));
  }

  /** Housekeeping: forgets tokens that expired before this time. */
  deleteExpired(beforeMs: number): number {
    return this.db.prepare('DELETE FROM auth_tokens WHERE expires_at_ms < ?').run(beforeMs).changes;
  }
}
