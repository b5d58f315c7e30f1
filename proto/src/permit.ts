// The signing permit's MAC input, shared by the coordinator (which issues permits) and the
// signer (which checks them), so both sides read one definition.
//
// MAC = HMAC-SHA256(permitKey[key_id], canonical), where canonical is the label
// "tandem-permit-v1" followed by each field as a 4-byte big-endian length and its bytes:
// permit_id, tx_request_id, keyset_id (UTF-8), tx_hash (32 bytes), issued_at_ms and
// expires_at_ms (8-byte big-endian unsigned), key_id (UTF-8). Length prefixes make the
// encoding injective: no two different permits share a MAC input.

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

export function permitMacInput(p: PermitFields): Buffer {
  const utf8 = (s: string) => Buffer.from(s, 'utf8');
  return Buffer.concat([
    field(utf8(LABEL)),
    field(utf8(p.permitId)),
    field(utf8(p.txRequestId)),
    field(utf8(p.keysetId)),
    field(p.txHash),
    field(u64(p.issuedAtMs)),
    field(u64(p.expiresAtMs)),
    field(utf8(p.keyId)),
  ]);
}

export function permitMac(key: Uint8Array, p: PermitFields): Buffer {
  return createHmac('sha256', key).update(permitMacInput(p)).digest();
}

/** Constant-time comparison of a permit's MAC with the one it should have. */
export function permitMacValid(key: Uint8Array, p: PermitFields, mac: Uint8Array): boolean {
  const want = permitMac(key, p);
  return mac.length === want.length && timingSafeEqual(want, mac);
}
