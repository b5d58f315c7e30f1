// Ring-Pedersen parameters (N̂, s, t), generated once per device by P2 (PROTOCOL.md §4.2).

import { TecdsaError } from './errors.ts';
import { bitLength } from './bytes.ts';
import { type ModPow, powSigned } from './arith.ts';
import { type Rng, uniformBelow, uniformUnit } from './rng.ts';
import { randomSafePrime } from './primes.ts';

export interface RingPedersenParams {
  readonly Nhat: bigint;
  readonly s: bigint;
  readonly t: bigint;
}

export interface RingPedersenSecret extends RingPedersenParams {
  readonly p: bigint;
  readonly q: bigint;
  readonly phi: bigint;
  readonly lambda: bigint;
}

/** Builds the secret from two safe primes, t and λ ∈ [0, φ̂), checking sizes; s = t^λ. */
export function ringPedersenFrom(
  mp: ModPow,
  p: bigint,
  q: bigint,
  t: bigint,
  lambda: bigint,
  nHatBits: number,
): RingPedersenSecret {
  const Nhat = p * q;
  const phi = (p - 1n) * (q - 1n);
  if (p === q || bitLength(Nhat) !== nHatBits || t < 2n || t >= Nhat || lambda < 0n || lambda >= phi)
    throw new TecdsaError('E_INPUT', 'bad ring-Pedersen secret');
  const s = mp.pow(t, lambda, Nhat);
  return { Nhat, s, t, p, q, phi, lambda };
}

/** Two fresh safe primes, τ ← Z*_N̂, t = τ², λ ← [0, φ̂), s = t^λ. The device's one-time setup. */
export function generateRingPedersen(mp: ModPow, rng: Rng, nHatBits: number): RingPedersenSecret {
  for (;;) {
    const p = randomSafePrime(mp, rng, nHatBits / 2);
    const q = randomSafePrime(mp, rng, nHatBits / 2);
    if (p === q || bitLength(p * q) !== nHatBits) continue;
    const Nhat = p * q;
    const phi = (p - 1n) * (q - 1n);
    const tau = uniformUnit(rng, Nhat);
    const rp = ringPedersenFrom(mp, p, q, (tau * tau) % Nhat, uniformBelow(rng, phi), nHatBits);
    if (rp.s !== rp.t && rp.s > 1n && rp.t > 1n) return rp;
  }
}

/** s^a · t^b mod N̂ for signed a, b. */
export function rpCommit(mp: ModPow, rp: RingPedersenParams, a: bigint, b: bigint): bigint {
  return (powSigned(mp, rp.s, a, rp.Nhat) * powSigned(mp, rp.t, b, rp.Nhat)) % rp.Nhat;
}

export const rpPublic = (rp: RingPedersenParams): RingPedersenParams => ({ Nhat: rp.Nhat, s: rp.s, t: rp.t });
