// Signing permits (DESIGN.md "Signing permits"): one per signing session, for exactly the
// withdrawal's keyset and transaction digest, short-lived, MAC'd with the key shared with the
// signer. The coordinator records each permit it issues (audit and permits table).

import { readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { permitMac, rebindPermitMac } from '@tandem/proto/permit';
import { type RebindPermit, type SigningPermit } from '@tandem/proto/mpc';
import { ConfigError } from '../config.ts';
import { type Store } from '../db/store.ts';

export interface PermitKey {
  keyId: string;
  secret: Buffer;
}

/** Reads the permit key file ({keyId, secret: base64}); it must be private (mode 600). */
export function loadPermitKey(file: string): PermitKey {
  let raw: string;
  try {
    if (statSync(file).mode & 0o077) throw new ConfigError(`permit key file ${file} must have mode 600`);
    raw = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`permit key file ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const j = JSON.parse(raw) as { keyId?: unknown; secret?: unknown };
  if (typeof j.keyId !== 'string' || typeof j.secret !== 'string')
    throw new ConfigError(`permit key file ${file}: expected {"keyId", "secret"}`);
  const secret = Buffer.from(j.secret, 'base64');
  if (secret.length !== 32) throw new ConfigError(`permit key file ${file}: the secret must be 32 bytes`);
  return { keyId: j.keyId, secret };
}

/** Records the permit (joining the caller's transaction, if any) and returns it MAC'd. */
export async function issuePermit(
  store: Store,
  key: PermitKey,
  w: { withdrawalId: string; keysetId: string; digest: Uint8Array },
  nowMs: number,
  ttlMs: number,
): Promise<SigningPermit> {
  const fields = {
    permitId: `pm-${randomBytes(12).toString('hex')}`,
    txRequestId: w.withdrawalId,
    keysetId: w.keysetId,
    txHash: Buffer.from(w.digest),
    issuedAtMs: BigInt(nowMs),
    expiresAtMs: BigInt(nowMs + ttlMs),
    keyId: key.keyId,
  };
  await store.run(
    'INSERT INTO permits (permit_id, withdrawal_id, keyset_id, tx_digest, issued_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
    fields.permitId,
    w.withdrawalId,
    w.keysetId,
    fields.txHash,
    nowMs,
    nowMs + ttlMs,
  );
  return { ...fields, mac: permitMac(key.secret, fields) };
}

/**
 * A permit for moving a keyset to another workstation's identity key, issued only once an admin
 * approved the move (wallets/moves.ts). The move's audit entry records its id.
 */
export function issueRebindPermit(
  key: PermitKey,
  r: { keysetId: string; devicePublicKey: Uint8Array },
  nowMs: number,
  ttlMs: number,
): RebindPermit {
  const fields = {
    permitId: `rb-${randomBytes(12).toString('hex')}`,
    keysetId: r.keysetId,
    devicePublicKey: Buffer.from(r.devicePublicKey),
    issuedAtMs: BigInt(nowMs),
    expiresAtMs: BigInt(nowMs + ttlMs),
    keyId: key.keyId,
  };
  return { ...fields, mac: rebindPermitMac(key.secret, fields) };
}
