// TupleHash256 transcripts and derived challenges (PROTOCOL.md §3.3).
// Lengths are given in bits, as in the spec; @noble/hashes takes bytes, converted here once.

import { tuplehash256 } from '@noble/hashes/sha3-addons.js';
import { bytesToBig, utf8 } from './bytes.ts';
import { SECP256K1_N } from './curve.ts';

const DOMAIN = 'L17-2P-ECDSA/v1|';

/** TH(label, tuple, L): TupleHash256 with customization "L17-2P-ECDSA/v1|label", `bits` output bits. */
export function th(label: string, tuple: readonly Uint8Array[], bits: number): Uint8Array {
  if (bits % 8 !== 0) throw new RangeError('TupleHash output must be whole bytes');
  return tuplehash256(tuple as Uint8Array[], { dkLen: bits / 8, personalization: utf8(DOMAIN + label) });
}

/** Scalar challenge: OS2IP(TH(label, tuple, 512)) mod q. */
export function scalarChallenge(label: string, tuple: readonly Uint8Array[]): bigint {
  return bytesToBig(th(label, tuple, 512)) % SECP256K1_N;
}

/** First `m` bits (MSB of byte 0 first) of TH(label, tuple, 8·⌈m/8⌉). */
export function bitChallenge(label: string, tuple: readonly Uint8Array[], m: number): number[] {
  const h = th(label, tuple, 8 * Math.ceil(m / 8));
  const bits: number[] = [];
  for (let i = 0; i < m; i++) bits.push((h[i >> 3]! >> (7 - (i & 7))) & 1);
  return bits;
}
