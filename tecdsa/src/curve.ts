// secp256k1 constants and point helpers on @noble/secp256k1 (constant-time multiply for secrets).

import * as secp from '@noble/secp256k1';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

// noble's sync verify/recover need a hash wired in once; this is configuration of the
// dependency, not mutable state of ours.
secp.hashes.sha256 = sha256;
secp.hashes.hmacSha256 = (k: Uint8Array, m: Uint8Array) => hmac(sha256, k, m);

export const Point = secp.Point;
export type Point = secp.Point;
export const G = secp.Point.BASE;
export const SECP256K1_N = secp.Point.CURVE().n;
export const SECP256K1_P = secp.Point.CURVE().p;
export const HALF_N = (SECP256K1_N - 1n) / 2n;

export const modN = (x: bigint): bigint => {
  const r = x % SECP256K1_N;
  return r < 0n ? r + SECP256K1_N : r;
};

/** x·G for a secret x in [1, q): noble's constant-time ladder. */
export const mulG = (x: bigint): Point => G.multiply(x);

/** x·P for a public or zero x (noble's multiply refuses 0). */
export const mulUnsafe = (P: Point, x: bigint): Point => (x === 0n ? Point.ZERO : P.multiplyUnsafe(x));

export { secp };
