// Permit keys: HMAC-SHA256 keys shared with the coordinator, sealed under the KEK. Rotation
// adds a new key that the coordinator switches to; older keys stay valid for a grace period
// (longer than any permit's TTL) so permits issued just before the switch still verify.

import { randomBytes } from 'node:crypto';
import { type Db } from '../store/db.ts';
import { type KeyEncryptionKey, associatedData } from '../store/kek.ts';

export interface PermitKey {
  keyId: string;
  secret: Buffer;
}

/** A permit key's associated data: its key id (also used by rotate-kek). */
export const permitKeyAd = (keyId: string) => associatedData('tandem-permit-key', keyId);

export class PermitKeys {
  constructor(
    private readonly db: Db,
    private readonly kek: KeyEncryptionKey,
  ) {}

  /** The key with this id if it exists and is not retired at `nowMs`. */
  find(keyId: string, nowMs: number): PermitKey | undefined {
    const r = this.db.prepare('SELECT * FROM permit_keys WHERE key_id = ?').get(keyId) as
      { key_id: string; secret_sealed: Buffer; retired_at_ms: number | null } | undefined;
    if (!r || (r.retired_at_ms !== null && r.retired_at_ms <= nowMs)) return undefined;
    return { keyId: r.key_id, secret: this.kek.open(r.secret_sealed, permitKeyAd(r.key_id)) };
  }

  /** Key ids with their state, newest first (no secrets). */
  list(): { keyId: string; createdAtMs: number; retiredAtMs: number | null }[] {
    return (
      this.db
        .prepare('SELECT key_id, created_at_ms, retired_at_ms FROM permit_keys ORDER BY created_at_ms DESC')
        .all() as {
        key_id: string;
        created_at_ms: number;
        retired_at_ms: number | null;
      }[]
    ).map((r) => ({ keyId: r.key_id, createdAtMs: r.created_at_ms, retiredAtMs: r.retired_at_ms }));
  }

  /** Creates a new key; every older unretired key retires `graceMs` from now. */
  rotate(nowMs: number, graceMs: number): PermitKey {
    const key = { keyId: `pk-${nowMs.toString(36)}-${randomBytes(4).toString('hex')}`, secret: randomBytes(32) };
    this.db.transaction(() => {
      this.db.prepare('UPDATE permit_keys SET retired_at_ms = ? WHERE retired_at_ms IS NULL').run(nowMs + graceMs);
      this.db
        .prepare('INSERT INTO permit_keys (key_id, secret_sealed, created_at_ms) VALUES (?, ?, ?)')
        .run(key.keyId, this.kek.seal(key.secret, permitKeyAd(key.keyId)), nowMs);
    })();
    return key;
  }

  isEmpty(): boolean {
    return this.db.prepare('SELECT 1 FROM permit_keys LIMIT 1').get() === undefined;
  }
}
