// P2's checks on P1's Paillier modulus before the proofs (PROTOCOL.md §7 KG-4 step 2, §10):
// exact size, odd, no prime factor below 2^16 (a cheap early reject of BitForge-style
// moduli), and composite by Miller–Rabin. Πmod and Πfac do the real work.

import { TecdsaError } from './errors.ts';
import { bitLength } from './bytes.ts';
import { type ModPow } from './arith.ts';
import { type Rng } from './rng.ts';
import { isProbablePrime, smallFactor } from './primes.ts';

export function checkPaillierModulus(mp: ModPow, rng: Rng, N: bigint, nBits: number): void {
  const bad = (why: string): never => {
    throw new TecdsaError('E_PAILLIER_MODULUS', why);
  };
  if (bitLength(N) !== nBits) bad(`N must have exactly ${nBits} bits`);
  if ((N & 1n) === 0n) bad('N must be odd');
  if (smallFactor(N) !== 0) bad('N has a prime factor below 2^16');
  if (isProbablePrime(mp, N, rng, 2)) bad('N is prime');
}
