// Keysets: the bank's half of each wallet key. The P1 share blob is sealed under the KEK with
// the keyset id and row version as associated data, so a row copied onto another keyset, or
// an altered one, fails to open (SHARE_CORRUPTED) instead of being used.

import { equalBytes } from '@tandem/tecdsa/bytes';
import { type ModPow } from '@tandem/tecdsa/arith';
import { type P1Share, encodeP1Share, parseP1Share } from '@tandem/tecdsa/shares';
import { ethereumAddress } from '@tandem/tecdsa/address';
import { type Db } from './db.ts';
import { type KeyEncryptionKey, SealError, associatedData } from './kek.ts';
import { SignerError } from '../errors.ts';

export type KeysetStatus = 'ACTIVE' | 'FROZEN' | 'RETIRED';

export interface Keyset {
  keysetId: string;
  version: number;
  status: KeysetStatus;
  walletId: Uint8Array;
  keyId: Uint8Array;
  publicKey: Uint8Array;
  address: string;
  devicePublicKey: Uint8Array;
  failures: number;
  createdAtMs: number;
  updatedAtMs: number;
}

interface Row {
  keyset_id: string;
  version: number;
  status: KeysetStatus;
  wallet_id: Buffer;
  key_id: Buffer;
  public_key: Buffer;
  address: string;
  device_public_key: Buffer;
  share_sealed: Buffer;
  failures: number;
  created_at_ms: number;
  updated_at_ms: number;
}

const SHARE_VERSION = 1;
/** Lifetime failures past decryption after which a keyset is retired for good. */
export const MAX_LIFETIME_FAILURES = 2;
/** A share's associated data: the keyset id and row version (also used by rotate-kek, which re-seals under it). */
export const shareAd = (keysetId: string, version: number) => associatedData('tandem-p1-share', keysetId, version);

function toKeyset(r: Row): Keyset {
  return {
    keysetId: r.keyset_id,
    version: r.version,
    status: r.status,
    walletId: r.wallet_id,
    keyId: r.key_id,
    publicKey: r.public_key,
    address: r.address,
    devicePublicKey: r.device_public_key,
    failures: r.failures,
    createdAtMs: r.created_at_ms,
    updatedAtMs: r.updated_at_ms,
  };
}

export class KeysetStore {
  /** Parsed shares by keyset, valid only while the row's sealed bytes are unchanged. */
  private readonly cache = new Map<string, { sealed: Buffer; version: number; share: P1Share }>();

  /** Told about every share that fails to open or match its row (the daemon audits and alerts). */
  onCorrupted: (keysetId: string) => void = () => {};

  constructor(
    private readonly db: Db,
    private readonly kek: KeyEncryptionKey,
    private readonly modPow: ModPow,
  ) {}

  private row(keysetId: string): Row | undefined {
    return this.db.prepare('SELECT * FROM keysets WHERE keyset_id = ?').get(keysetId) as Row | undefined;
  }

  get(keysetId: string): Keyset | undefined {
    const r = this.row(keysetId);
    return r && toKeyset(r);
  }

  require(keysetId: string): Keyset {
    const k = this.get(keysetId);
    if (!k) throw new SignerError('KEYSET_NOT_FOUND', `keyset ${keysetId} does not exist`);
    return k;
  }

  list(): Keyset[] {
    return (this.db.prepare('SELECT * FROM keysets ORDER BY created_at_ms').all() as Row[]).map(toKeyset);
  }

  /** Stores a completed DKG's share as an ACTIVE keyset (call inside the caller's transaction). */
  insert(keysetId: string, share: P1Share, devicePublicKey: Uint8Array, nowMs: number): Keyset {
    const sealed = this.kek.seal(encodeP1Share(share), shareAd(keysetId, SHARE_VERSION));
    this.db
      .prepare(
        `INSERT INTO keysets (keyset_id, version, status, wallet_id, key_id, public_key, address, device_public_key,
           share_sealed, failures, created_at_ms, updated_at_ms)
         VALUES (?, ?, 'ACTIVE', ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
      )
      .run(
        keysetId,
        SHARE_VERSION,
        share.walletId,
        share.keyId,
        share.Q.toBytes(true),
        ethereumAddress(share.Q),
        devicePublicKey,
        sealed,
        nowMs,
        nowMs,
      );
    return this.require(keysetId);
  }

  /** Opens and parses the share; any mismatch with the row's public columns is SHARE_CORRUPTED. */
  share(keysetId: string): P1Share {
    const r = this.row(keysetId);
    if (!r) throw new SignerError('KEYSET_NOT_FOUND', `keyset ${keysetId} does not exist`);
    const hit = this.cache.get(keysetId);
    if (hit && hit.version === r.version && hit.sealed.equals(r.share_sealed) && this.matches(r, hit.share))
      return hit.share;
    const corrupted = () => {
      this.onCorrupted(keysetId);
      return new SignerError(
        'SHARE_CORRUPTED',
        `the stored share of keyset ${keysetId} is corrupted or belongs elsewhere`,
      );
    };
    let share: P1Share;
    try {
      share = parseP1Share(this.kek.open(r.share_sealed, shareAd(keysetId, r.version)), this.modPow);
    } catch (e) {
      if (e instanceof SealError || (e instanceof Error && e.name === 'TecdsaError')) throw corrupted();
      throw e;
    }
    if (!this.matches(r, share)) throw corrupted();
    this.cache.set(keysetId, { sealed: Buffer.from(r.share_sealed), version: r.version, share });
    return share;
  }

  private matches(r: Row, s: P1Share): boolean {
    return (
      equalBytes(r.key_id, s.keyId) &&
      equalBytes(r.wallet_id, s.walletId) &&
      equalBytes(r.public_key, s.Q.toBytes(true))
    );
  }

  /**
   * Records a failure past decryption (PROTOCOL.md §9.3): FROZEN, or RETIRED from the second
   * lifetime failure on (§9.4 item 3). Call inside the transaction that records why.
   */
  freeze(keysetId: string, nowMs: number): KeysetStatus {
    this.db
      .prepare(
        `UPDATE keysets SET failures = failures + 1, updated_at_ms = ?,
           status = CASE WHEN failures + 1 >= ? THEN 'RETIRED' ELSE 'FROZEN' END
         WHERE keyset_id = ?`,
      )
      .run(nowMs, MAX_LIFETIME_FAILURES, keysetId);
    return this.require(keysetId).status;
  }

  /** FROZEN → ACTIVE (an administrator's decision, audited by the caller). */
  unfreeze(keysetId: string, nowMs: number): void {
    const k = this.require(keysetId);
    if (k.status !== 'FROZEN')
      throw new SignerError('BAD_REQUEST', `keyset ${keysetId} is ${k.status.toLowerCase()}, not frozen`);
    this.db
      .prepare("UPDATE keysets SET status = 'ACTIVE', updated_at_ms = ? WHERE keyset_id = ? AND status = 'FROZEN'")
      .run(nowMs, keysetId);
  }

  /**
   * Binds the keyset to another device identity key (RebindService checks the permit and the
   * status, and audits; call inside its transaction). The sealed share is untouched: its
   * associated data is the keyset id and version, not the device.
   */
  rebindDevice(keysetId: string, newDevicePublicKey: Uint8Array, nowMs: number): Keyset {
    if (newDevicePublicKey.length !== 32) throw new SignerError('BAD_REQUEST', 'device_public_key must be 32 bytes');
    const r = this.db
      .prepare('UPDATE keysets SET device_public_key = ?, updated_at_ms = ? WHERE keyset_id = ?')
      .run(Buffer.from(newDevicePublicKey), nowMs, keysetId);
    if (r.changes !== 1) throw new SignerError('KEYSET_NOT_FOUND', `keyset ${keysetId} does not exist`);
    return this.require(keysetId);
  }

  countByStatus(): Record<KeysetStatus, number> {
    const out: Record<KeysetStatus, number> = { ACTIVE: 0, FROZEN: 0, RETIRED: 0 };
    for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM keysets GROUP BY status').all() as {
      status: KeysetStatus;
      n: number;
    }[])
      out[r.status] = r.n;
    return out;
  }
}
