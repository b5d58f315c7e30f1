// Bearer tokens: `tdm_` + 32 random bytes in base64url. Only their SHA-256 is stored, so a copy
// of the database does not let anyone sign in. The hash (hex) also names a token in events and
// in the WSS hub without exposing it.

import { createHash, randomBytes } from 'node:crypto';
import { type Store } from '../db/store.ts';
import { ApiError } from '../errors.ts';
import { type User, type UserRow, toUser } from './users.ts';

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
  constructor(private readonly store: Store) {}

  async issue(userId: string, nowMs: number, ttlMs: number): Promise<IssuedToken> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const hash = hashToken(token);
    const expiresAtMs = nowMs + ttlMs;
    await this.store.run(
      'INSERT INTO auth_tokens (token_hash, user_id, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?)',
      hash,
      userId,
      nowMs,
      expiresAtMs,
    );
    return { token, tokenHash: hash.toString('hex'), expiresAtMs };
  }

  /**
   * The user a token belongs to, as the database says now (current roles). Unknown, revoked, or
   * belonging to a disabled user: UNAUTHENTICATED; past its expiry: TOKEN_EXPIRED (the desktop
   * then asks for the password again). The token and its user are read in one statement, so a
   * revocation and the role change or disabling it goes with are seen together or not at all.
   */
  async verify(token: string, nowMs: number): Promise<{ user: User; tokenHash: string }> {
    if (!TOKEN_SHAPE.test(token)) throw new ApiError('UNAUTHENTICATED', 'this is not a Tandem token');
    const hash = hashToken(token);
    const row = await this.store.get<UserRow & { token_expires_at_ms: number; token_revoked_at_ms: number | null }>(
      `SELECT u.*, t.expires_at_ms AS token_expires_at_ms, t.revoked_at_ms AS token_revoked_at_ms
       FROM auth_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = ?`,
      hash,
    );
    if (!row || row.token_revoked_at_ms !== null) throw new ApiError('UNAUTHENTICATED', 'this token is not valid');
    const user = toUser(row);
    if (user.disabled) throw new ApiError('UNAUTHENTICATED', 'this token is not valid');
    if (nowMs >= row.token_expires_at_ms) throw new ApiError('TOKEN_EXPIRED', 'the session has expired: sign in again');
    return { user, tokenHash: hash.toString('hex') };
  }

  /** Revokes one token by its hash (hex). False when it was unknown or already revoked. */
  async revoke(tokenHash: string, nowMs: number): Promise<boolean> {
    const changes = await this.store.run(
      'UPDATE auth_tokens SET revoked_at_ms = ? WHERE token_hash = ? AND revoked_at_ms IS NULL',
      nowMs,
      Buffer.from(tokenHash, 'hex'),
    );
    return changes === 1;
  }

  /**
   * Revokes every token of a user that is not revoked yet, expired ones included (a WSS socket
   * opened before expiry may still be up), and returns their hashes (hex) for the tokensRevoked event.
   */
  async revokeAllOf(userId: string, nowMs: number): Promise<string[]> {
    const rows = await this.store.all<{ token_hash: Buffer }>(
      'UPDATE auth_tokens SET revoked_at_ms = ? WHERE user_id = ? AND revoked_at_ms IS NULL RETURNING token_hash',
      nowMs,
      userId,
    );
    return rows.map((r) => r.token_hash.toString('hex'));
  }

  /** Housekeeping: forgets tokens that expired before this time. */
  async deleteExpired(beforeMs: number): Promise<number> {
    return this.store.run('DELETE FROM auth_tokens WHERE expires_at_ms < ?', beforeMs);
  }
}
