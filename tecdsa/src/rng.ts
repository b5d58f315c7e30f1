// Injected randomness (PROTOCOL.md §3.5). Every secret and nonce comes from an `Rng`
// that the caller supplies; tests supply a seeded one and replay sessions byte for byte.

import { sha256 } from '@noble/hashes/sha2.js';
import { bitLength, bytesToBig, concatBytes, u32, utf8 } from './bytes.ts';
import { gcd } from './arith.ts';

export interface Rng {
  /** `n` uniformly random bytes. */
  bytes(n: number): Uint8Array;
}

/** The operating system's CSPRNG (Web Crypto, available in Node and Electron). */
export const systemRng: Rng = {
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
    return out;
  },
};

/**
 * Deterministic SHA-256 counter-mode stream, for tests and reference vectors only:
 * never use it for real keys.
 */
export function seededRng(seed: string | Uint8Array): Rng {
  const key = typeof seed === 'string' ? utf8(seed) : seed;
  let counter = 0;
  let pool: Uint8Array = new Uint8Array(0);
  return {
    bytes(n: number): Uint8Array {
      while (pool.length < n) pool = concatBytes(pool, sha256(concatBytes(key, u32(counter++))));
      const out = pool.slice(0, n);
      pool = pool.slice(n);
      return out;
    },
  };
}

/** Uniform in [0, B) by rejection sampling on |B|-bit strings. */
export function uniformBelow(rng: Rng, B: bigint): bigint {
  if (B <= 0n) throw new RangeError('empty range');
  const bits = bitLength(B);
  const bytes = Math.ceil(bits / 8);
  const excess = BigInt(bytes * 8 - bits);
  for (;;) {
    const x = bytesToBig(rng.bytes(bytes)) >> excess;
    if (x < B) return x;
  }
}

/** Uniform in [lo, hi). */
export const uniformRange = (rng: Rng, lo: bigint, hi: bigint): bigint => lo + uniformBelow(rng, hi - lo);

/** Uniform in ±B = [−B, B]. */
export const uniformSigned = (rng: Rng, B: bigint): bigint => uniformBelow(rng, 2n * B + 1n) - B;

/** Uniform in Z*_N. */
export function uniformUnit(rng: Rng, N: bigint): bigint {
  for (;;) {
    const r = uniformBelow(rng, N);
    if (r !== 0n && gcd(r, N) === 1n) return r;
  }
}
