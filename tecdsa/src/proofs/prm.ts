// Πprm: the ring-Pedersen parameters are well formed, s ∈ ⟨t⟩ (PROTOCOL.md §5.2; prover P2).
// Binary challenges, m repetitions (never fewer than 80, §5.0).

import { TecdsaError } from '../errors.ts';
import { bitLength, utf8 } from '../bytes.ts';
import { type ModPow, crt, gcd, modInv, powAll } from '../arith.ts';
import { encMod, encNat } from '../encoding.ts';
import { bitChallenge } from '../hash.ts';
import { type RingPedersenParams, type RingPedersenSecret } from '../ringPedersen.ts';
import { type Rng, uniformBelow } from '../rng.ts';

export interface PrmProof {
  readonly A: readonly bigint[];
  readonly z: readonly bigint[];
}

function challenge(sid: Uint8Array, rp: RingPedersenParams, A: readonly bigint[]): number[] {
  const N = rp.Nhat;
  const tuple = [
    sid,
    utf8('RP'),
    utf8('P2'),
    encNat(N),
    encMod(rp.s, N),
    encMod(rp.t, N),
    ...A.map((a) => encMod(a, N)),
  ];
  return bitChallenge('prm', tuple, A.length);
}

export function provePrm(mp: ModPow, rng: Rng, sid: Uint8Array, rp: RingPedersenSecret, m: number): PrmProof {
  const a = Array.from({ length: m }, () => uniformBelow(rng, rp.phi));
  // t^(a_i) mod N̂ by CRT over the safe primes: half-size exponentiations, as one batch.
  const { p, q } = rp;
  const r = powAll(
    mp,
    a.flatMap((ai) => [[rp.t % p, ai % (p - 1n), p] as const, [rp.t % q, ai % (q - 1n), q] as const]),
  );
  const qInvP = modInv(q, p);
  const A = a.map((_, i) => crt(r[2 * i]!, p, r[2 * i + 1]!, q, qInvP));
  const e = challenge(sid, rp, A);
  return { A, z: a.map((ai, i) => (ai + BigInt(e[i]!) * rp.lambda) % rp.phi) };
}

/** The parameter checks of §5.2 steps 1–2 (E_RP_PARAMS). */
export function checkRingPedersenParams(rp: RingPedersenParams, nHatBits: number): void {
  const { Nhat: N, s, t } = rp;
  const ok =
    bitLength(N) === nHatBits &&
    (N & 1n) === 1n &&
    s >= 2n &&
    s <= N - 2n &&
    t >= 2n &&
    t <= N - 2n &&
    s !== t &&
    gcd(s, N) === 1n &&
    gcd(t, N) === 1n;
  if (!ok)
    throw new TecdsaError(
      'E_RP_PARAMS',
      `ring-Pedersen parameters must be a ${nHatBits}-bit odd N̂ with s ≠ t units in [2, N̂−2]`,
    );
}

/** §5.2 steps 3–4 (E_PROOF_PRM); call checkRingPedersenParams first. */
export function verifyPrm(mp: ModPow, sid: Uint8Array, rp: RingPedersenParams, proof: PrmProof, m: number): void {
  const N = rp.Nhat;
  const bad = (why: string): never => {
    throw new TecdsaError('E_PROOF_PRM', why);
  };
  if (proof.A.length !== m || proof.z.length !== m) bad(`Πprm needs ${m} items`);
  let prod = 1n;
  for (const Ai of proof.A) {
    if (Ai < 1n || Ai >= N) bad('Πprm A_i out of range');
    prod = (prod * Ai) % N;
  }
  if (gcd(prod, N) !== 1n) bad('Πprm A_i not a unit');
  for (const zi of proof.z) if (zi < 0n || zi >= N) bad('Πprm z_i out of range');
  const e = challenge(sid, rp, proof.A);
  const lhs = powAll(
    mp,
    proof.z.map((zi) => [rp.t, zi, N] as const),
  );
  for (let i = 0; i < m; i++) {
    const rhs = e[i] ? (proof.A[i]! * rp.s) % N : proof.A[i]!;
    if (lhs[i] !== rhs) bad('Πprm equation fails');
  }
}
