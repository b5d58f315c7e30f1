// The permit checks, run before anything a permit authorises happens. Two kinds share one check
// (`verified`): the signing permit of StartSigning (checked before any session or nonce exists)
// and the rebind permit of RebindDevice (a keyset moved to another workstation). Order: shape,
// key id, MAC (nothing about a permit is believed before its MAC verifies), then time, keyset,
// and last what only one kind carries (the digest, the new device key). Single use is enforced
// by the caller's durable insert into used_permits (see SigningService, RebindService), which
// turns a concurrent or post-restart replay into PERMIT_REPLAYED.

import { Point } from '@noble/ed25519';
import { type PermitFields, type RebindPermitFields, permitMacValid, rebindPermitMacValid } from '@tandem/proto/permit';
import { type RebindPermit, type SigningPermit } from '@tandem/proto/mpc';
import { SignerError } from '../errors.ts';
import { type PermitKeys } from './permitKeys.ts';

export interface PermitPolicy {
  /** Longest accepted expires_at − issued_at. */
  maxTtlMs: number;
  /** Tolerated clock difference with the coordinator. */
  clockSkewMs: number;
}

const ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** What every kind of permit carries. */
interface PermitCommon {
  permitId: string;
  keysetId: string;
  issuedAtMs: bigint;
  expiresAtMs: bigint;
  keyId: string;
  mac: Uint8Array;
}

interface PermitKind<P extends PermitCommon> {
  /** How messages name it: "permit", "rebind permit". */
  noun: string;
  /** This kind's own shape checks, run after the permit id's and before the MAC's length. */
  shape: (p: P, invalid: (why: string) => SignerError) => void;
  /** Whether `p.mac` is this kind's MAC of `p` under `secret` (may throw on fields it cannot encode). */
  macValid: (secret: Uint8Array, p: P) => boolean;
}

/**
 * The checks every permit kind shares, in the order above; returns the permit once its MAC,
 * times and keyset are good. The kind-specific checks after the keyset are the caller's.
 */
function verified<P extends PermitCommon>(
  kind: PermitKind<P>,
  permit: P | undefined,
  want: { keysetId: string },
  keys: PermitKeys,
  policy: PermitPolicy,
  nowMs: number,
): P {
  const noun = kind.noun;
  const invalid = (why: string) => new SignerError('PERMIT_INVALID', `${noun} ${why}`);
  if (!permit) throw invalid('is missing');
  if (!ID.test(permit.permitId)) throw invalid('id is malformed');
  kind.shape(permit, invalid);
  if (permit.mac.length !== 32) throw invalid('mac must be 32 bytes');
  if (!ID.test(permit.keyId)) throw invalid('key_id is malformed');
  const key = keys.find(permit.keyId, nowMs);
  if (!key) throw new SignerError('PERMIT_KEY_UNKNOWN', `permit key ${permit.keyId} is unknown or retired`);
  let macOk: boolean;
  try {
    macOk = kind.macValid(key.secret, permit);
  } catch {
    macOk = false; // times outside u64
  }
  if (!macOk) throw invalid('MAC does not verify');
  const now = BigInt(nowMs);
  if (permit.issuedAtMs > now + BigInt(policy.clockSkewMs))
    throw new SignerError('PERMIT_NOT_YET_VALID', `${noun} is issued in the future`);
  if (permit.expiresAtMs <= now) throw new SignerError('PERMIT_EXPIRED', `${noun} has expired`);
  const ttl = permit.expiresAtMs - permit.issuedAtMs;
  if (ttl <= 0n || ttl > BigInt(policy.maxTtlMs))
    throw new SignerError('PERMIT_TTL_TOO_LONG', `${noun} lifetime must be within ${policy.maxTtlMs} ms`);
  if (permit.keysetId !== want.keysetId)
    throw new SignerError('PERMIT_KEYSET_MISMATCH', `${noun} is for another keyset`);
  return permit;
}

const signingFields = (p: SigningPermit): PermitFields => ({
  permitId: p.permitId,
  txRequestId: p.txRequestId,
  keysetId: p.keysetId,
  txHash: p.txHash,
  issuedAtMs: p.issuedAtMs,
  expiresAtMs: p.expiresAtMs,
  keyId: p.keyId,
});

const SIGNING: PermitKind<SigningPermit> = {
  noun: 'permit',
  shape: (p, invalid) => {
    if (!ID.test(p.txRequestId)) throw invalid('tx_request_id is malformed');
    if (p.txHash.length !== 32) throw invalid('tx_hash must be 32 bytes');
  },
  macValid: (secret, p) => permitMacValid(secret, signingFields(p), p.mac),
};

/** StartSigning's permit: the shared checks, then the digest it names must be the transaction's. */
export function checkPermit(
  permit: SigningPermit | undefined,
  want: { keysetId: string; txHash: Uint8Array },
  keys: PermitKeys,
  policy: PermitPolicy,
  nowMs: number,
): PermitFields {
  const p = verified(SIGNING, permit, want, keys, policy, nowMs);
  if (!Buffer.from(p.txHash).equals(Buffer.from(want.txHash)))
    throw new SignerError('PERMIT_HASH_MISMATCH', "permit's tx_hash differs from the transaction's digest");
  return signingFields(p);
}

const rebindFields = (p: RebindPermit): RebindPermitFields => ({
  permitId: p.permitId,
  keysetId: p.keysetId,
  devicePublicKey: p.devicePublicKey,
  issuedAtMs: p.issuedAtMs,
  expiresAtMs: p.expiresAtMs,
  keyId: p.keyId,
});

const REBIND: PermitKind<RebindPermit> = {
  noun: 'rebind permit',
  shape: (p, invalid) => {
    if (p.devicePublicKey.length !== 32) throw invalid('device_public_key must be 32 bytes');
  },
  macValid: (secret, p) => rebindPermitMacValid(secret, rebindFields(p), p.mac),
};

/**
 * Whether `b` is a key a device may sign with: the strict (RFC 8032, canonical) encoding of an
 * Ed25519 point in the prime-order subgroup. Envelope verification would accept forged
 * signatures under a small-order key (the all-zero key accepts the all-zero signature), so such
 * a key must never be bound to a keyset (the coordinator checks the same at enrolment).
 */
export function isDeviceKey(b: Uint8Array): boolean {
  if (b.length !== 32) return false;
  try {
    const A = Point.fromBytes(b, false); // zip215 = false: refuses non-canonical encodings
    return !A.isSmallOrder() && A.isTorsionFree();
  } catch {
    return false;
  }
}

/**
 * RebindDevice's permit: the shared checks, then the device key it names must be one a device
 * can hold (an authentic permit naming a malformed key is still refused, PERMIT_INVALID).
 */
export function checkRebindPermit(
  permit: RebindPermit | undefined,
  want: { keysetId: string },
  keys: PermitKeys,
  policy: PermitPolicy,
  nowMs: number,
): RebindPermitFields {
  const p = verified(REBIND, permit, want, keys, policy, nowMs);
  if (!isDeviceKey(p.devicePublicKey))
    throw new SignerError('PERMIT_INVALID', 'rebind permit names a device_public_key that is not a valid Ed25519 key');
  return rebindFields(p);
}
