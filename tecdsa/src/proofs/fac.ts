// Πfac: N has no small factors (PROTOCOL.md §5.4, CGGMP21; prover P1, verifier P2,
// using P2's ring-Pedersen parameters). Only together with Πmod does it bound both primes.

import { TecdsaError } from '../errors.ts';
import { bitLength, utf8 } from '../bytes.ts';
import { type ModPow, gcd, isqrt, powSigned } from '../arith.ts';
import { encInt, encMod, encNat } from '../encoding.ts';
import { scalarChallenge } from '../hash.ts';
import { type PaillierSecretKey } from '../paillier.ts';
import { type RingPedersenParams, rpCommit } from '../ringPedersen.ts';
import { type Rng, uniformSigned } from '../rng.ts';
import { ELL, EPS } from '../params.ts';

export interface FacProof {
  readonly P: bigint;
  readonly Q: bigint;
  readonly A: bigint;
  readonly B: bigint;
  readonly T: bigint;
  readonly sigma: bigint;
  readonly z1: bigint;
  readonly z2: bigint;
  readonly w1: bigint;
  readonly w2: bigint;
  readonly v: bigint;
}

const TWO = (k: number): bigint => 1n << BigInt(k);

/** The verifier's bounds (§5.4 verify steps 2–3), also the decoder's caps. */
export function facBounds(N0: bigint, Nhat: bigint) {
  const R0 = isqrt(N0);
  return {
    z: TWO(ELL + EPS + 1) * R0,
    sigma: TWO(ELL) * N0 * Nhat,
    w: TWO(ELL + EPS + 1) * Nhat,
    v: TWO(ELL + EPS + 2) * N0 * Nhat,
  };
}

function challenge(
  sid: Uint8Array,
  N0: bigint,
  rp: RingPedersenParams,
  pr: Omit<FacProof, 'z1' | 'z2' | 'w1' | 'w2' | 'v'>,
): bigint {
  const M = (x: bigint) => encMod(x, rp.Nhat);
  return scalarChallenge('fac', [
    sid,
    utf8('N'),
    utf8('P1'),
    encNat(N0),
    encNat(rp.Nhat),
    M(rp.s),
    M(rp.t),
    M(pr.P),
    M(pr.Q),
    M(pr.A),
    M(pr.B),
    M(pr.T),
    encInt(pr.sigma),
  ]);
}

export function proveFac(
  mp: ModPow,
  rng: Rng,
  sid: Uint8Array,
  sk: PaillierSecretKey,
  rp: RingPedersenParams,
): FacProof {
  const { N: N0, p, q } = sk;
  const Nh = rp.Nhat;
  const R0 = isqrt(N0);
  const alpha = uniformSigned(rng, TWO(ELL + EPS) * R0);
  const beta = uniformSigned(rng, TWO(ELL + EPS) * R0);
  const mu = uniformSigned(rng, TWO(ELL) * Nh);
  const nu = uniformSigned(rng, TWO(ELL) * Nh);
  const sigma = uniformSigned(rng, TWO(ELL) * N0 * Nh);
  const r = uniformSigned(rng, TWO(ELL + EPS) * N0 * Nh);
  const x = uniformSigned(rng, TWO(ELL + EPS) * Nh);
  const y = uniformSigned(rng, TWO(ELL + EPS) * Nh);
  const P = rpCommit(mp, rp, p, mu);
  const Q = rpCommit(mp, rp, q, nu);
  const A = rpCommit(mp, rp, alpha, x);
  const B = rpCommit(mp, rp, beta, y);
  const T = (powSigned(mp, Q, alpha, Nh) * powSigned(mp, rp.t, r, Nh)) % Nh;
  const e = challenge(sid, N0, rp, { P, Q, A, B, T, sigma });
  const sigmaHat = sigma - nu * p;
  return {
    P,
    Q,
    A,
    B,
    T,
    sigma,
    z1: alpha + e * p,
    z2: beta + e * q,
    w1: x + e * mu,
    w2: y + e * nu,
    v: r + e * sigmaHat,
  };
}

export function verifyFac(mp: ModPow, sid: Uint8Array, N0: bigint, rp: RingPedersenParams, pr: FacProof): void {
  const bad = (why: string): never => {
    throw new TecdsaError('E_PROOF_FAC', why);
  };
  const Nh = rp.Nhat;
  for (const u of [pr.P, pr.Q, pr.A, pr.B, pr.T])
    if (u < 1n || u >= Nh || gcd(u, Nh) !== 1n) bad('Πfac commitment not a unit mod N̂');
  const bd = facBounds(N0, Nh);
  const abs = (z: bigint) => (z < 0n ? -z : z);
  if (abs(pr.z1) > bd.z || abs(pr.z2) > bd.z) bad('Πfac z1/z2 above the bound');
  if (abs(pr.sigma) > bd.sigma || abs(pr.w1) > bd.w || abs(pr.w2) > bd.w || abs(pr.v) > bd.v)
    bad('Πfac response above its cap');
  const e = challenge(sid, N0, rp, pr);
  const eq = (l: bigint, r: bigint, what: string) => {
    if (l !== r) bad(`Πfac ${what} equation fails`);
  };
  eq(rpCommit(mp, rp, pr.z1, pr.w1), (pr.A * mp.pow(pr.P, e, Nh)) % Nh, 'first');
  eq(rpCommit(mp, rp, pr.z2, pr.w2), (pr.B * mp.pow(pr.Q, e, Nh)) % Nh, 'second');
  const R = rpCommit(mp, rp, N0, pr.sigma);
  eq((powSigned(mp, pr.Q, pr.z1, Nh) * powSigned(mp, rp.t, pr.v, Nh)) % Nh, (pr.T * mp.pow(R, e, Nh)) % Nh, 'third');
}

export const facBitCaps = (N0: bigint, Nhat: bigint) => {
  const b = facBounds(N0, Nhat);
  return { z: bitLength(b.z), sigma: bitLength(b.sigma), w: bitLength(b.w), v: bitLength(b.v) };
};
