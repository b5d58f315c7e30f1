// The permit check of StartSigning, run before any session or nonce exists. Order: shape,
// key id, MAC (nothing about a permit is believed before its MAC verifies), then time,
// keyset and digest. Single use is enforced by the caller's durable insert (see
// SigningService), which turns a concurrent or post-restart replay into PERMIT_REPLAYED.

import { type PermitFields, permitMacValid } from '@tandem/proto/permit';
import { type SigningPermit } from '@tandem/proto/mpc';
import { SignerError } from '../errors.ts';
import { type PermitKeys } from './permitKeys.ts';

export interface PermitPolicy {
  /** Longest accepted expires_at − issued_at. */
  maxTtlMs: number;
  /** Tolerated clock difference with the coordinator. */
  clockSkewMs: number;
}

const ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export function checkPermit(
  permit: SigningPermit | undefined,
  want: { keysetId: string; txHash: Uint8Array },
  keys: PermitKeys,
  policy: PermitPolicy,
  nowMs: number,
): PermitFields {
  const invalid = (why: string) => new SignerError('PERMIT_INVALID', `permit ${why}`);
  if (!permit) throw invalid('is missing');
  if (!ID.test(permit.permitId)) throw invalid('id is malformed');
  if (!ID.test(permit.txRequestId)) throw invalid('tx_request_id is malformed');
  if (permit.txHash.length !== 32) throw invalid('tx_hash must be 32 bytes');
  if (permit.mac.length !== 32) throw invalid('mac must be 32 bytes');
  if (!ID.test(permit.keyId)) throw invalid('key_id is malformed');
  const key = keys.find(permit.keyId, nowMs);
  if (!key) throw new SignerError('PERMIT_KEY_UNKNOWN', `permit key ${permit.keyId} is unknown or retired`);
  const fields: PermitFields = {
    permitId: permit.permitId,
    txRequestId: permit.txRequestId,
    keysetId: permit.keysetId,
    txHash: permit.txHash,
    issuedAtMs: permit.issuedAtMs,
    expiresAtMs: permit.expiresAtMs,
    keyId: permit.keyId,
  };
  let macOk: boolean;
  try {
    macOk = permitMacValid(key.secret, fields, permit.mac);
  } catch {
    macOk = false; // times outside u64
  }
  if (!macOk) throw invalid('MAC does not verify');
  const now = BigInt(nowMs);
  if (permit.issuedAtMs > now + BigInt(policy.clockSkewMs))
    throw new SignerError('PERMIT_NOT_YET_VALID', 'permit is issued in the future');
  if (permit.expiresAtMs <= now) throw new SignerError('PERMIT_EXPIRED', 'permit has expired');
  const ttl = permit.expiresAtMs - permit.issuedAtMs;
  if (ttl <= 0n || ttl > BigInt(policy.maxTtlMs))
    throw new SignerError('PERMIT_TTL_TOO_LONG', `permit lifetime must be within ${policy.maxTtlMs} ms`);
  if (permit.keysetId !== want.keysetId)
    throw new SignerError('PERMIT_KEYSET_MISMATCH', 'permit is for another keyset');
  if (!Buffer.from(permit.txHash).equals(Buffer.from(want.txHash)))
    throw new SignerError('PERMIT_HASH_MISMATCH', "permit's tx_hash differs from the transaction's digest");
  return fields;
}
