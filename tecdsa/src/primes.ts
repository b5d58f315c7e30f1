// Primality, trial division and prime searches (PROTOCOL.md §4.1, §4.2, §7 KG-4 step 2).
// Searches are incremental sieves from a random start drawn from the injected Rng, so a
// seeded test replays the same primes; only the (public) primality decision uses extra bases.

import { bitLength, bytesToBig } from './bytes.ts';
import { type ModPow, mod } from './arith.ts';
import { type Rng, uniformRange } from './rng.ts';

function sieveOfPrimes(limit: number): number[] {
  const composite = new Uint8Array(limit);
  const out: number[] = [];
  for (let i = 2; i < limit; i++) {
    if (composite[i]) continue;
    out.push(i);
    for (let j = i * i; j < limit; j += i) composite[j] = 1;
  }
  return out;
}

/** The 6542 primes below 2^16. */
export const SMALL_PRIMES: readonly number[] = sieveOfPrimes(1 << 16);

/** The smallest prime factor below 2^16, or 0 if there is none. */
export function smallFactor(n: bigint): number {
  for (const p of SMALL_PRIMES) {
    const bp = BigInt(p);
    if (bp >= n) return 0;
    if (n % bp === 0n) return p;
  }
  return 0;
}

/** Miller–Rabin with the given bases (each in [2, n−2]). True means "probably prime". */
export function millerRabin(mp: ModPow, n: bigint, bases: readonly bigint[]): boolean {
  if (n < 5n || (n & 1n) === 0n) return n === 2n || n === 3n;
  let d = n - 1n;
  let r = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    r++;
  }
  outer: for (const a of bases) {
    let x = mp.pow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let i = 1; i < r; i++) {
      x = (x * x) % n;
      if (x === n - 1n) continue outer;
    }
    return false;
  }
  return true;
}

/** Miller–Rabin with `rounds` random bases drawn from `rng`. */
export function isProbablePrime(mp: ModPow, n: bigint, rng: Rng, rounds = 40): boolean {
  if (n < 2n) return false;
  if (smallFactor(n) !== 0) return SMALL_PRIMES.includes(Number(n));
  const bases: bigint[] = [];
  for (let i = 0; i < rounds; i++) bases.push(uniformRange(rng, 2n, n - 1n));
  return millerRabin(mp, n, bases);
}

const SIEVE_PRIMES = SMALL_PRIMES.slice(1); // odd primes
const WINDOW = 8192;

/**
 * Searches upward from a random start for a prime p ≡ 3 (mod 4) of exactly `bits` bits with
 * the two top bits set; with `safe`, also (p−1)/2 prime. Returns undefined if the window
 * holds none (the caller draws a new start).
 */
function searchWindow(mp: ModPow, start: bigint, bits: number, safe: boolean, rng: Rng): bigint | undefined {
  // Candidates are start + 4i; for safe primes start ≡ 3 (mod 4) also makes (p−1)/2 odd.
  const rem = SIEVE_PRIMES.map((p) => Number(start % BigInt(p)));
  const halfRem = safe ? SIEVE_PRIMES.map((p) => Number(((start - 1n) / 2n) % BigInt(p))) : [];
  const dead = new Uint8Array(WINDOW);
  SIEVE_PRIMES.forEach((p, k) => {
    // start + 4i ≡ 0 (mod p)  ⇔  i ≡ −start·4^(−1) (mod p)
    let i = (((p - rem[k]!) % p) * inv4(p)) % p;
    for (; i < WINDOW; i += p) dead[i] = 1;
    if (safe) {
      // (start−1)/2 + 2i ≡ 0 (mod p)
      let j = (((p - halfRem[k]!) % p) * inv2(p)) % p;
      for (; j < WINDOW; j += p) dead[j] = 1;
    }
  });
  const top = 1n << BigInt(bits);
  for (let i = 0; i < WINDOW; i++) {
    if (dead[i]) continue;
    const c = start + 4n * BigInt(i);
    if (c >= top) return undefined;
    if (safe) {
      // Fermat base 2 on p and on q' first: cheap rejections before Miller–Rabin.
      if (mp.pow(2n, c - 1n, c) !== 1n) continue;
      const h = (c - 1n) / 2n;
      if (mp.pow(2n, h - 1n, h) !== 1n) continue;
      if (isProbablePrime(mp, h, rng) && isProbablePrime(mp, c, rng)) return c;
    } else {
      if (mp.pow(2n, c - 1n, c) !== 1n) continue;
      if (isProbablePrime(mp, c, rng)) return c;
    }
  }
  return undefined;
}

/** 2^(−1) and 4^(−1) modulo an odd prime p < 2^16: (p+1)/2 and its square. */
const inv2 = (p: number): number => (p + 1) / 2;
const inv4 = (p: number): number => (inv2(p) * inv2(p)) % p;

/** A random start: `bits` bits, top two bits set, ≡ 3 (mod 4). */
function randomStart(rng: Rng, bits: number): bigint {
  const bytes = Math.ceil(bits / 8);
  let x = bytesToBig(rng.bytes(bytes)) >> BigInt(bytes * 8 - bits);
  x |= 3n << BigInt(bits - 2);
  return x - mod(x, 4n) + 3n;
}

/** A random Blum prime (≡ 3 mod 4, top two bits set) of exactly `bits` bits. */
export function randomBlumPrime(mp: ModPow, rng: Rng, bits: number): bigint {
  for (;;) {
    const p = searchWindow(mp, randomStart(rng, bits), bits, false, rng);
    if (p !== undefined && bitLength(p) === bits) return p;
  }
}

/** A random safe prime p = 2p'+1 (top two bits set) of exactly `bits` bits. */
export function randomSafePrime(mp: ModPow, rng: Rng, bits: number): bigint {
  for (;;) {
    const p = searchWindow(mp, randomStart(rng, bits), bits, true, rng);
    if (p !== undefined && bitLength(p) === bits) return p;
  }
}

/** p and (p−1)/2 both pass Miller–Rabin to the first 20 prime bases: a check of our own stored secrets. */
export function looksLikeSafePrime(mp: ModPow, p: bigint): boolean {
  const bases = SMALL_PRIMES.slice(0, 20).map(BigInt);
  return p > 7n && millerRabin(mp, p, bases) && millerRabin(mp, (p - 1n) / 2n, bases);
}
