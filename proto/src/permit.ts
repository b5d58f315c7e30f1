// The permits' MAC inputs, shared by the coordinator (which issues permits) and the signer
// (which checks them), so both sides read one definition.
//
// MAC = HMAC-SHA256(permitKey[key_id], canonical), where canonical is the label
// "tandem-permit-v1" followed by each field as a 4-byte big-endian length and its bytes:
// permit_id, tx_request_id, keyset_id (UTF-8), tx_hash (32 bytes), issued_at_ms and
// expires_at_ms (8-byte big-endian unsigned), key_id (UTF-8). Length prefixes make the
// encoding injective: no two different permits share a MAC input.
//
// A rebind permit (a keyset moved to another workstation) is encoded the same way under its own
// label "tandem-rebind-v1": permit_id, keyset_id, device_public_key (32 bytes), issued_at_ms,
// expires_at_ms, key_id. The labels differ, so neither kind's MAC verifies as the other's.

import { createHmac, timingSafeEqual } from 'node:crypto';

export interface PermitFields {
  permitId: string;
  txRequestId: string;
  keysetId: string;
  txHash: Uint8Array;
  issuedAtMs: bigint;
  expiresAtMs: bigint;
  keyId: string;
}

const LABEL = 'tandem-permit-v1';
const U64_MAX = (1n << 64n) - 1n;

function field(b: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function u64(x: bigint): Buffer {
  if (x < 0n || x > U64_MAX) throw new RangeError('permit time out of range');
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(x);
  return b;
}

export interface RebindPermitFields {
  permitId: string;
  keysetId: string;
  devicePublicKey: Uint8Array;
  issuedAtMs: bigint;
  expiresAtMs: bigint;
  keyId: string;
}

const REBIND_LABEL = 'tandem-rebind-v1';
const utf8 = (s: string) => Buffer.from(s, 'utf8');
const encode = (parts: Uint8Array[]) => Buffer.concat(parts.map(field));

export function permitMacInput(p: PermitFields): Buffer {
  return encode([
    utf8(LABEL),
    utf8(p.permitId),
    utf8(p.txRequestId),
    utf8(p.keysetId),
    p.txHash,
    u64(p.issuedAtMs),
    u64(p.expiresAtMs),
    utf8(p.keyId),
  ]);
}

export function rebindPermitMacInput(p: RebindPermitFields): Buffer {
  return encode([
    utf8(REBIND_LABEL),
    utf8(p.permitId),
    utf8(p.keysetId),
    p.devicePublicKey,
    u64(p.issuedAtMs),
    u64(p.expiresAtMs),
    utf8(p.keyId),
  ]);
}

const hmac = (key: Uint8Array, input: Buffer) => createHmac('sha256', key).update(input).digest();
const same = (want: Buffer, mac: Uint8Array) => mac.length === want.length && timingSafeEqual(want, mac);

export function permitMac(key: Uint8Array, p: PermitFields): Buffer {
  return hmac(key, permitMacInput(p));
}

/** Constant-time comparison of a permit's MAC with the one it should have. */
export function permitMacValid(key: Uint8Array, p: PermitFields, mac: Uint8Array): boolean {
  return same(permitMac(key, p), mac);
}

export function rebindPermitMac(key: Uint8Array, p: RebindPermitFields): Buffer {
  return hmac(key, rebindPermitMacInput(p));
}

export function rebindPermitMacValid(key: Uint8Array, p: RebindPermitFields, mac: Uint8Array): boolean {
  return same(rebindPermitMac(key, p), mac);
}
