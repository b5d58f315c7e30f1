// secp256k1 constants and point helpers on @noble/curves (constant-time multiply for secrets).
// @noble/curves rather than the smaller @noble/secp256k1: its GLV endomorphism and windowed
// multiplication halve the cost of multiplying a peer's point, verifying and recovering, which
// every signing does at both parties.

import { secp256k1 } from '@noble/curves/secp256k1.js';

export const secp = secp256k1;
export const Point = secp256k1.Point;
export type Point = InstanceType<typeof secp256k1.Point>;
export const G = Point.BASE;
export const SECP256K1_N = Point.CURVE().n;
export const SECP256K1_P = Point.CURVE().p;
export const HALF_N = (SECP256K1_N - 1n) / 2n;

export const modN = (x: bigint): bigint => {
  const r = x % SECP256K1_N;
  return r < 0n ? r + SECP256K1_N : r;
};

/** x·G for a secret x in [1, q): noble's constant-time multiplication. */
export const mulG = (x: bigint): Point => G.multiply(x);

/** x·P for a public or zero x (noble's multiply refuses 0). */
export const mulUnsafe = (P: Point, x: bigint): Point => (x === 0n ? Point.ZERO : P.multiplyUnsafe(x));
