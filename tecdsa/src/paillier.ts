// Paillier with g = 1 + N, Blum primes and CRT decryption (PROTOCOL.md §4.1).

import { TecdsaError } from './errors.ts';
import { bitLength } from './bytes.ts';
import { type ModPow, crt, gcd, mod, modInv } from './arith.ts';
import { type Rng } from './rng.ts';
import { randomBlumPrime } from './primes.ts';

export interface PaillierPublicKey {
  readonly N: bigint;
  readonly N2: bigint;
}

export interface PaillierSecretKey extends PaillierPublicKey {
  readonly p: bigint;
  readonly q: bigint;
  readonly phi: bigint;
  readonly p2: bigint;
  readonly q2: bigint;
  readonly hp: bigint;
  readonly hq: bigint;
  /** q^(−1) mod p, for CRT recombination modulo N. */
  readonly qInvP: bigint;
  /** (q²)^(−1) mod p², for CRT recombination modulo N². */
  readonly q2InvP2: bigint;
}

export const paillierPublic = (N: bigint): PaillierPublicKey => ({ N, N2: N * N });

/** Builds the secret key from two primes, checking every condition of §4.1 and §3.2a. */
export function paillierFromPrimes(mp: ModPow, p: bigint, q: bigint, nBits: number): PaillierSecretKey {
  const half = nBits / 2;
  const ok =
    p !== q &&
    bitLength(p) === half &&
    bitLength(q) === half &&
    p % 4n === 3n &&
    q % 4n === 3n &&
    (p > q ? p - q : q - p) >= 1n << BigInt(half - 100);
  if (!ok) throw new TecdsaError('E_INPUT', 'Paillier primes do not meet §4.1');
  const N = p * q;
  if (bitLength(N) !== nBits) throw new TecdsaError('E_INPUT', `Paillier N must have ${nBits} bits`);
  const phi = (p - 1n) * (q - 1n);
  if (gcd(N, phi) !== 1n) throw new TecdsaError('E_INPUT', 'gcd(N, φ) ≠ 1');
  const p2 = p * p;
  const q2 = q * q;
  const N2 = N * N;
  // h_p = L_p((1+N)^(p−1) mod p²)^(−1) mod p
  const hp = modInv((mp.pow(1n + N, p - 1n, p2) - 1n) / p, p);
  const hq = modInv((mp.pow(1n + N, q - 1n, q2) - 1n) / q, q);
  return { N, N2, p, q, phi, p2, q2, hp, hq, qInvP: modInv(q, p), q2InvP2: modInv(q2, p2) };
}

/** A fresh key with two random Blum primes (§4.1 KeyGen). */
export function generatePaillier(mp: ModPow, rng: Rng, nBits: number): PaillierSecretKey {
  for (;;) {
    const p = randomBlumPrime(mp, rng, nBits / 2);
    const q = randomBlumPrime(mp, rng, nBits / 2);
    const diffOk = p !== q && (p > q ? p - q : q - p) >= 1n << BigInt(nBits / 2 - 100);
    if (diffOk && bitLength(p * q) === nBits) return paillierFromPrimes(mp, p, q, nBits);
  }
}

/** Valid ciphertext: 1 ≤ c < N², gcd(c, N) = 1. */
export const isValidCiphertext = (pk: PaillierPublicKey, c: bigint): boolean =>
  c >= 1n && c < pk.N2 && gcd(c, pk.N) === 1n;

/** Enc(m; r) = (1 + m·N)·r^N mod N², m reduced mod N first. */
export function encrypt(mp: ModPow, pk: PaillierPublicKey, m: bigint, r: bigint): bigint {
  return ((1n + mod(m, pk.N) * pk.N) * mp.pow(r, pk.N, pk.N2)) % pk.N2;
}

/** r^N mod N² using the factorisation (two half-size exponentiations). */
export function rToNWithSecret(mp: ModPow, sk: PaillierSecretKey, r: bigint): bigint {
  const a = mp.pow(r, sk.N % (sk.p2 - sk.p), sk.p2); // φ(p²) = p(p−1)
  const b = mp.pow(r, sk.N % (sk.q2 - sk.q), sk.q2);
  return crt(a, sk.p2, b, sk.q2, sk.q2InvP2);
}

/** Enc(m; r) for the key owner, with CRT. */
export function encryptWithSecret(mp: ModPow, sk: PaillierSecretKey, m: bigint, r: bigint): bigint {
  return ((1n + mod(m, sk.N) * sk.N) * rToNWithSecret(mp, sk, r)) % sk.N2;
}

/** CRT decryption: m_p = L_p(c^(p−1) mod p²)·h_p mod p, likewise m_q, recombined in [0, N). */
export function decrypt(mp: ModPow, sk: PaillierSecretKey, c: bigint): bigint {
  const mp_ = (((mp.pow(c, sk.p - 1n, sk.p2) - 1n) / sk.p) * sk.hp) % sk.p;
  const mq = (((mp.pow(c, sk.q - 1n, sk.q2) - 1n) / sk.q) * sk.hq) % sk.q;
  return crt(mp_, sk.p, mq, sk.q, sk.qInvP);
}

/** c1 ⊕ c2 */
export const addCiphertexts = (pk: PaillierPublicKey, c1: bigint, c2: bigint): bigint => (c1 * c2) % pk.N2;

/** k ⊙ c for k ≥ 0 */
export const mulCiphertext = (mp: ModPow, pk: PaillierPublicKey, c: bigint, k: bigint): bigint => mp.pow(c, k, pk.N2);
