// A desktop's Ed25519 identity public key, checked before it is enrolled. node:crypto accepts any
// 32 bytes as an Ed25519 key, including small-order points for which forged signatures verify
// (the all-zero key accepts an all-zero signature), so the point itself is checked here: a
// canonical encoding of a curve point in the prime-order subgroup.

import { Point } from '@noble/ed25519';
import { ApiError } from '../errors.ts';

export function parseDevicePublicKey(hex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new ApiError('BAD_REQUEST', 'publicKey must be 64 hex characters');
  let point: Point;
  try {
    // zip215 = false: RFC 8032's strict decoding, which refuses non-canonical encodings.
    point = Point.fromHex(hex.toLowerCase(), false);
  } catch {
    throw new ApiError('BAD_REQUEST', 'publicKey is not an Ed25519 point', { reason: 'not_on_curve' });
  }
  if (point.isSmallOrder() || !point.isTorsionFree())
    throw new ApiError('BAD_REQUEST', 'publicKey is a weak Ed25519 point', { reason: 'weak_point' });
  return Buffer.from(hex, 'hex');
}
