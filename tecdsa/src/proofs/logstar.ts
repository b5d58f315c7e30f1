// Πlog*: c_key encrypts the discrete log of Q1, in range with slack (PROTOCOL.md §5.5,
// CGGMP21's "PDL with slack"; prover P1, verifier P2 with P2's own ring-Pedersen parameters).
// It proves only |x̃| ≤ 2^769; the signing mask of §8.5 is sized to that, not to q.

import { TecdsaError } from '../errors.ts';
import { utf8 } from '../bytes.ts';
import { type ModPow, gcd, mod } from '../arith.ts';
import { G, type Point, SECP256K1_N, mulG, mulUnsafe, modN } from '../curve.ts';
import { encMod, encNat, encPt } from '../encoding.ts';
import { scalarChallenge } from '../hash.ts';
import { type PaillierPublicKey, type PaillierSecretKey, encryptWithSecret, isValidCiphertext } from '../paillier.ts';
import { type RingPedersenParams, rpCommit } from '../ringPedersen.ts';
import { type Rng, uniformSigned, uniformUnit } from '../rng.ts';
import { ELL, EPS } from '../params.ts';

export interface LogStarProof {
  readonly S: bigint;
  readonly A: bigint;
  readonly Y: Point;
  readonly D: bigint;
  readonly z1: bigint;
  readonly z2: bigint;
  readonly z3: bigint;
}

export interface LogStarStatement {
  readonly pk: PaillierPublicKey;
  readonly C: bigint;
  readonly X: Point;
}

const TWO = (k: number): bigint => 1n << BigInt(k);
export const LOGSTAR_Z1_BOUND = TWO(ELL + EPS);
export const logStarZ3Bound = (Nhat: bigint): bigint => TWO(ELL + EPS + 1) * Nhat;

function challenge(
  sid: Uint8Array,
  st: LogStarStatement,
  rp: RingPedersenParams,
  S: bigint,
  A: bigint,
  Y: Point,
  D: bigint,
): bigint {
  const { N, N2 } = st.pk;
  const Nh = rp.Nhat;
  return scalarChallenge('logstar', [
    sid,
    utf8('Q1'),
    utf8('P1'),
    encNat(N),
    encNat(Nh),
    encMod(rp.s, Nh),
    encMod(rp.t, Nh),
    encMod(st.C, N2),
    encPt(st.X),
    encPt(G),
    encMod(S, Nh),
    encMod(A, N2),
    encPt(Y),
    encMod(D, Nh),
  ]);
}

export function proveLogStar(
  mp: ModPow,
  rng: Rng,
  sid: Uint8Array,
  sk: PaillierSecretKey,
  rp: RingPedersenParams,
  st: LogStarStatement,
  x: bigint,
  rho: bigint,
): LogStarProof {
  const N0 = sk.N;
  const Nh = rp.Nhat;
  for (;;) {
    let alpha: bigint;
    do alpha = uniformSigned(rng, TWO(ELL + EPS));
    while (modN(alpha) === 0n);
    const mu = uniformSigned(rng, TWO(ELL) * Nh);
    const r = uniformUnit(rng, N0);
    const gamma = uniformSigned(rng, TWO(ELL + EPS) * Nh);
    const S = rpCommit(mp, rp, x, mu);
    const A = encryptWithSecret(mp, sk, alpha, r);
    const Y = mulG(modN(alpha));
    const D = rpCommit(mp, rp, alpha, gamma);
    const e = challenge(sid, st, rp, S, A, Y, D);
    const z1 = alpha + e * x;
    if (z1 > LOGSTAR_Z1_BOUND || -z1 > LOGSTAR_Z1_BOUND) continue;
    // ρ^e mod N0 via CRT is not needed: e has 256 bits.
    const z2 = (r * mp.pow(rho, e, N0)) % N0;
    return { S, A, Y, D, z1, z2, z3: gamma + e * mu };
  }
}

export function verifyLogStar(
  mp: ModPow,
  sid: Uint8Array,
  st: LogStarStatement,
  rp: RingPedersenParams,
  pr: LogStarProof,
): void {
  const bad = (why: string): never => {
    throw new TecdsaError('E_PROOF_LOGSTAR', why);
  };
  const { N, N2 } = st.pk;
  const Nh = rp.Nhat;
  if (!isValidCiphertext(st.pk, st.C) || !isValidCiphertext(st.pk, pr.A)) bad('Πlog* ciphertext invalid');
  for (const u of [pr.S, pr.D]) if (u < 1n || u >= Nh || gcd(u, Nh) !== 1n) bad('Πlog* S/D not a unit mod N̂');
  if (pr.z2 < 1n || pr.z2 >= N || gcd(pr.z2, N) !== 1n) bad('Πlog* z2 not a unit mod N');
  const abs = (z: bigint) => (z < 0n ? -z : z);
  if (abs(pr.z1) > LOGSTAR_Z1_BOUND) bad('Πlog* z1 above 2^768');
  if (abs(pr.z3) > logStarZ3Bound(Nh)) bad('Πlog* z3 above its cap');
  const e = challenge(sid, st, rp, pr.S, pr.A, pr.Y, pr.D);
  // (1+N)^k ≡ 1 + k·N (mod N²)
  const lhs1 = ((1n + mod(pr.z1, N) * N) * mp.pow(pr.z2, N, N2)) % N2;
  if (lhs1 !== (pr.A * mp.pow(st.C, e, N2)) % N2) bad('Πlog* Paillier equation fails');
  if (!mulUnsafe(G, mod(pr.z1, SECP256K1_N)).equals(pr.Y.add(mulUnsafe(st.X, e)))) bad('Πlog* curve equation fails');
  if (rpCommit(mp, rp, pr.z1, pr.z3) !== (pr.D * mp.pow(pr.S, e, Nh)) % Nh) bad('Πlog* ring-Pedersen equation fails');
}
